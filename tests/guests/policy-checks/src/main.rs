//! A guest for the sandbox's tests (issue 21): each argument is one step, `OP=ARG`, tried
//! in order, and each prints one line `OP ARG: ok[ DETAIL]` or `OP ARG: error ERRNO KIND`
//! (the raw WASI errno and the `io::ErrorKind` the guest's std gives it), so a test sees
//! exactly what a refused call looked like from inside and that the guest went on.
//!
//! Steps: `tcp=HOST:PORT` (connect with `wasock`, names through its resolver, and send
//! `hello`), `udp-send=IP:PORT` (an unbound UDP socket's `send_to`), `udp-connect=IP:PORT`
//! (a connected UDP socket, then `send`), `listen=IP:PORT` (`wasock`'s TCP listener; the
//! port it got), `udp-bind=IP:PORT`, `lookup=NAME` (the runtime's `sock_getaddrinfo`),
//! `bind-device=IFACE` (`SO_BINDTODEVICE`), `sockets=N` (open up to N sockets and hold
//! them: how many opened, and the first error), `alloc=MIB` (grow the heap 1 MiB at a
//! time; an allocation that fails aborts, as Rust's allocator does), `connects=IP:PORT*N`
//! (N new connections one after another, each closed at once, timed: what
//! `scripts/bench-policy.sh` measures).

use std::io::{self, Write};
use std::net::SocketAddr;

use wasmedge_wasi_socket::socket::{AddressFamily, Socket, SocketType};

fn outcome<T>(result: io::Result<T>, detail: impl FnOnce(T) -> String) -> String {
    match result {
        Ok(value) => {
            let detail = detail(value);
            if detail.is_empty() {
                "ok".to_owned()
            } else {
                format!("ok {detail}")
            }
        }
        Err(error) => format!(
            "error {} {:?}",
            error.raw_os_error().unwrap_or(-1),
            error.kind()
        ),
    }
}

fn address(text: &str) -> io::Result<SocketAddr> {
    text.parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "not IP:PORT"))
}

fn step(op: &str, arg: &str, held: &mut Vec<Socket>) -> String {
    match op {
        "tcp" => outcome(
            wasock::TcpStream::connect(arg).and_then(|mut stream| stream.write_all(b"hello")),
            |()| String::new(),
        ),
        "udp-send" => outcome(
            address(arg).and_then(|to| {
                Socket::new(AddressFamily::Inet4, SocketType::Datagram)?.send_to(b"hello", to)
            }),
            |_| String::new(),
        ),
        "udp-connect" => outcome(
            address(arg).and_then(|to| {
                let socket = Socket::new(AddressFamily::Inet4, SocketType::Datagram)?;
                socket.connect(&to)?;
                socket.send(b"hello")
            }),
            |_| String::new(),
        ),
        "listen" => outcome(
            wasock::TcpListener::bind(arg).and_then(|listener| {
                let port = listener.local_addr()?.port();
                std::mem::forget(listener);
                Ok(port)
            }),
            |port| format!("port {port}"),
        ),
        "udp-bind" => outcome(wasock::UdpSocket::bind(arg), |_| String::new()),
        "lookup" => outcome(
            wasmedge_wasi_socket::nslookup_with_host(arg, "http"),
            |found| format!("{} addresses", found.len()),
        ),
        "bind-device" => outcome(
            Socket::new(AddressFamily::Inet4, SocketType::Stream)
                .and_then(|socket| socket.bind_device(Some(arg.as_bytes()))),
            |()| String::new(),
        ),
        "sockets" => {
            let wanted: usize = arg.parse().unwrap_or(0);
            let mut error = None;
            let before = held.len();
            for _ in 0..wanted {
                match Socket::new(AddressFamily::Inet4, SocketType::Stream) {
                    Ok(socket) => held.push(socket),
                    Err(failed) => {
                        error = Some(failed);
                        break;
                    }
                }
            }
            let opened = held.len() - before;
            match error {
                None => format!("ok {opened} opened"),
                Some(error) => format!(
                    "{opened} opened, then error {} {:?}",
                    error.raw_os_error().unwrap_or(-1),
                    error.kind()
                ),
            }
        }
        "connects" => {
            let (target, count) = arg.split_once('*').unwrap_or((arg, "1"));
            let count: u32 = count.parse().unwrap_or(1);
            let began = std::time::Instant::now();
            let mut result = Ok(());
            for _ in 0..count {
                if let Err(error) = address(target).and_then(wasock::TcpStream::connect) {
                    result = Err(error);
                    break;
                }
            }
            let ms = began.elapsed().as_secs_f64() * 1000.0;
            outcome(result, |()| format!("{count} in {ms:.1} ms"))
        }
        "alloc" => {
            let mib: usize = arg.parse().unwrap_or(0);
            let mut blocks: Vec<Vec<u8>> = Vec::new();
            for _ in 0..mib {
                blocks.push(vec![1u8; 1 << 20]);
            }
            format!("ok {} MiB", blocks.len())
        }
        _ => "error unknown step".to_owned(),
    }
}

fn main() {
    let mut held = Vec::new();
    for argument in std::env::args().skip(1) {
        let (op, arg) = argument.split_once('=').unwrap_or((&argument, ""));
        let line = step(op, arg, &mut held);
        println!("{op} {arg}: {line}");
    }
}
