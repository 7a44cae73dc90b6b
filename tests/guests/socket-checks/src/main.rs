//! A self-checking guest for the embedded engine's WasmEdge socket layer.
//!
//! It talks only to itself over loopback, prints `ok - NAME` or `not ok - NAME: WHY` for
//! each check and exits 0 only when every check passed, so it runs to completion on its
//! own. It uses `wasmedge_wasi_socket` 0.5 as apps do, and the raw imports where that
//! crate has no wrapper (IPv6 connect).
//!
//! The engine's tests run it on the engine and on the real WasmEdge 0.17.1 and compare the
//! two. Where WasmEdge is known to differ (ARCHITECTURE.md, "Deliberate differences"), the
//! check accepts each runtime's answer explicitly, told which it runs on by
//! `WASOCK_GUEST_RUNTIME=wasmedge` (anything else, or nothing, is the engine).


use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::time::{Duration, Instant, SystemTime};

use wasmedge_wasi_socket::poll::{self, EventType, Subscription};
use wasmedge_wasi_socket::socket::{AddressFamily, Socket, SocketOptLevel, SocketOptName, SocketType, WasiAddress};
use wasmedge_wasi_socket::{nslookup, TcpListener, TcpStream, UdpSocket};

mod raw {
    use wasmedge_wasi_socket::socket::WasiAddress;

    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        pub fn sock_connect(fd: u32, addr: *mut WasiAddress, port: u32) -> u32;
        pub fn sock_open(family: u8, kind: u8, ro_fd: *mut u32) -> u32;
    }
}

// WASI errno numbers as the guest sees them.
const EADDRINUSE: i32 = 3;
const EAGAIN: i32 = 6;
const EBADF: i32 = 8;
const ECONNREFUSED: i32 = 14;
const EINPROGRESS: i32 = 26;
const EINVAL: i32 = 28;
const EISCONN: i32 = 30;
const ENOSYS: i32 = 52;
const ENOTCONN: i32 = 53;
const ENOTSOCK: i32 = 57;
const ENOTSUP: i32 = 58;
// WasmEdge's getaddrinfo errnos, beyond preview1's range (`__WASI_ERRNO_AINONAME`).
const EAI_NONAME: i32 = 84;

/// Whether the guest was told it runs on WasmEdge 0.17.1 (see the module's doc).
fn on_wasmedge() -> bool {
    std::env::var("WASOCK_GUEST_RUNTIME").as_deref() == Ok("wasmedge")
}

/// A peer port as `sock_recv_from` reports it: WasmEdge 0.17.1 writes the network-order
/// value, so it reads byte-swapped there (a known WasmEdge fault); the engine reports it as
/// it is.
fn reported_peer_port(port: u16) -> u16 {
    if on_wasmedge() {
        port.swap_bytes()
    } else {
        port
    }
}

/// The address a reply to a `recv_from` peer must go to: on WasmEdge the reported port
/// swapped back.
fn reply_address(reported: SocketAddr) -> SocketAddr {
    SocketAddr::new(reported.ip(), reported_peer_port(reported.port()))
}

type CheckResult = Result<(), String>;
type Check = (&'static str, fn() -> CheckResult);

fn ensure(condition: bool, why: impl FnOnce() -> String) -> CheckResult {
    if condition {
        Ok(())
    } else {
        Err(why())
    }
}

fn io<T>(what: &str, result: io::Result<T>) -> Result<T, String> {
    result.map_err(|err| format!("{what}: {err}"))
}

/// A raw fd as a poll subject (stdout, or a socket we only borrow).
struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

fn tcp_pair_v4() -> Result<(TcpListener, TcpStream, TcpStream), String> {
    let listener = io("bind", TcpListener::bind("127.0.0.1:0", false))?;
    let addr = io("local_addr", listener.local_addr())?;
    let client = io("connect", TcpStream::connect(addr))?;
    let (server, _) = io("accept", listener.accept(false))?;
    Ok((listener, client, server))
}

fn read_exactly(stream: &mut TcpStream, len: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; len];
    io("read_exact", stream.read_exact(&mut buf))?;
    Ok(buf)
}

fn tcp_ipv4_blocking() -> CheckResult {
    let (listener, mut client, mut server) = tcp_pair_v4()?;
    let listen_addr = io("local_addr", listener.local_addr())?;
    ensure(listen_addr.port() != 0, || "listener got port 0".into())?;
    let client_local = io("client local_addr", client.local_addr())?;
    let server_peer = io("server peer_addr", server.peer_addr())?;
    ensure(client_local == server_peer, || format!("client local {client_local} != server peer {server_peer}"))?;
    let client_peer = io("client peer_addr", client.peer_addr())?;
    ensure(client_peer == listen_addr, || format!("client peer {client_peer} != listener {listen_addr}"))?;
    io("write", client.write_all(b"ping"))?;
    ensure(read_exactly(&mut server, 4)? == b"ping", || "server did not read ping".into())?;
    io("write", server.write_all(b"pong"))?;
    ensure(read_exactly(&mut client, 4)? == b"pong", || "client did not read pong".into())
}

fn tcp_ipv6_blocking() -> CheckResult {
    let listener = io("open", Socket::new(AddressFamily::Inet6, SocketType::Stream))?;
    io("reuseaddr", listener.setsockopt(SocketOptLevel::SolSocket, SocketOptName::SoReuseaddr, 1i32))?;
    io("bind", listener.bind(&SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0)))?;
    io("listen", listener.listen(16))?;
    let local = io("get_local", listener.get_local())?;
    ensure(local.is_ipv6() && local.port() != 0, || format!("bad v6 local address {local}"))?;

    let client = io("open", Socket::new(AddressFamily::Inet6, SocketType::Stream))?;
    let octets = Ipv6Addr::LOCALHOST.octets();
    let mut address = WasiAddress { buf: octets.as_ptr(), size: 16 };
    let status = unsafe { raw::sock_connect(client.as_raw_fd() as u32, &mut address, local.port() as u32) };
    ensure(status == 0, || format!("sock_connect over IPv6 returned {status}"))?;
    let server = io("accept", listener.accept(false))?;
    let peer = io("get_peer", server.get_peer())?;
    let client_local = io("client get_local", client.get_local())?;
    ensure(peer == client_local, || format!("server sees {peer}, client is {client_local}"))?;
    ensure(peer.ip() == IpAddr::V6(Ipv6Addr::LOCALHOST), || format!("peer {peer} is not ::1"))?;
    ensure(io("send", client.send(b"six"))? == 3, || "short send".into())?;
    let mut buf = [0u8; 8];
    let got = io("recv", server.recv(&mut buf))?;
    ensure(&buf[..got] == b"six", || format!("received {:?}", &buf[..got]))
}

fn udp_round_trip(localhost: IpAddr) -> CheckResult {
    let a = io("bind a", UdpSocket::bind(SocketAddr::new(localhost, 0)))?;
    let b = io("bind b", UdpSocket::bind(SocketAddr::new(localhost, 0)))?;
    let a_addr = io("a local", a.as_ref().get_local())?;
    let b_addr = io("b local", b.as_ref().get_local())?;
    ensure(io("send_to", a.send_to(b"hello", b_addr))? == 5, || "short send_to".into())?;
    let mut buf = [0u8; 32];
    let (got, from) = io("recv_from", b.recv_from(&mut buf))?;
    ensure(&buf[..got] == b"hello", || format!("received {:?}", &buf[..got]))?;
    // The peer port in host order on the engine: a byte-swapped port would send the reply
    // astray, as it does on WasmEdge unless swapped back.
    let sender = SocketAddr::new(a_addr.ip(), reported_peer_port(a_addr.port()));
    ensure(from == sender, || format!("recv_from reported {from}, sender is {a_addr}"))?;
    io("reply", b.send_to(b"world", reply_address(from)))?;
    let (got, from) = io("recv_from reply", a.recv_from(&mut buf))?;
    let replier = SocketAddr::new(b_addr.ip(), reported_peer_port(b_addr.port()));
    ensure(&buf[..got] == b"world" && from == replier, || format!("reply {:?} from {from}", &buf[..got]))
}

fn nonblocking_accept_and_recv() -> CheckResult {
    let listener = io("bind", TcpListener::bind("127.0.0.1:0", true))?;
    match listener.accept(true) {
        Err(err) if err.raw_os_error() == Some(EAGAIN) => {}
        Err(err) => return Err(format!("accept failed with {err}, expected EAGAIN")),
        Ok(_) => return Err("accept succeeded with nobody connecting".into()),
    }
    let addr = io("local_addr", listener.local_addr())?;
    let _client = io("connect", TcpStream::connect(addr))?;
    // The connection is queued: poll until the listener is readable, then accept.
    let events = io("poll", poll::poll(&[Subscription::io(1, &listener, true, false, Some(SystemTime::now() + Duration::from_secs(5)))]))?;
    ensure(events.iter().any(|e| matches!(e.event_type, EventType::Read)), || "listener never became readable".into())?;
    let (mut server, _) = io("accept", listener.accept(true))?;
    ensure(io("nonblocking()", server.as_ref().nonblocking())?, || "accepted socket is not non-blocking".into())?;
    let mut buf = [0u8; 16];
    match server.read(&mut buf) {
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(()),
        other => Err(format!("read on an empty non-blocking socket gave {other:?}")),
    }
}

fn nonblocking_connect() -> CheckResult {
    let listener = io("bind", TcpListener::bind("127.0.0.1:0", false))?;
    let addr = io("local_addr", listener.local_addr())?;
    let socket = io("open", Socket::new(AddressFamily::Inet4, SocketType::Stream))?;
    io("set_nonblocking", socket.set_nonblocking(true))?;
    match socket.connect(&addr) {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(EINPROGRESS) => {}
        Err(err) => return Err(format!("non-blocking connect: {err}")),
    }
    let deadline = SystemTime::now() + Duration::from_secs(5);
    let events = io("poll", poll::poll(&[Subscription::io(7, &Fd(socket.as_raw_fd()), false, true, Some(deadline))]))?;
    ensure(events.iter().any(|e| e.userdata == 7 && matches!(e.event_type, EventType::Write)), || "connect never became writable".into())?;
    io("SO_ERROR", socket.take_error())?;
    let peer = io("get_peer", socket.get_peer())?;
    ensure(peer == addr, || format!("connected to {peer}, wanted {addr}"))
}

fn connect_refused() -> CheckResult {
    let port = {
        let listener = io("bind", TcpListener::bind("127.0.0.1:0", false))?;
        io("local_addr", listener.local_addr())?.port()
    };
    match TcpStream::connect(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)) {
        Err(err) if err.raw_os_error() == Some(ECONNREFUSED) => Ok(()),
        other => Err(format!("connect to a closed port gave {other:?}")),
    }
}

fn poll_is_level_triggered_and_times_out() -> CheckResult {
    let (_listener, mut client, server) = tcp_pair_v4()?;
    io("write", client.write_all(b"abc"))?;
    let subject = Fd(server.as_raw_fd());
    for round in 0..2 {
        let timeout = SystemTime::now() + Duration::from_secs(5);
        let events = io("poll", poll::poll(&[Subscription::io(42, &subject, true, false, Some(timeout))]))?;
        ensure(events.iter().any(|e| e.userdata == 42 && matches!(e.event_type, EventType::Read)), || {
            format!("round {round}: unread data not reported readable")
        })?;
    }
    let mut server = server;
    ensure(read_exactly(&mut server, 3)? == b"abc", || "did not read abc".into())?;
    let began = Instant::now();
    let timeout = SystemTime::now() + Duration::from_millis(80);
    let events = io("poll", poll::poll(&[Subscription::io(43, &subject, true, false, Some(timeout))]))?;
    let waited = began.elapsed();
    ensure(events.iter().all(|e| matches!(e.event_type, EventType::Timeout)) && !events.is_empty(), || {
        format!("drained socket reported {} non-timeout events", events.len())
    })?;
    ensure(waited >= Duration::from_millis(60), || format!("timeout fired after {waited:?}, asked for 80 ms"))
}

fn poll_without_timeout() -> CheckResult {
    let (_listener, mut client, server) = tcp_pair_v4()?;
    io("write", client.write_all(b"x"))?;
    let events = io("poll", poll::poll(&[
        Subscription::io(1, &Fd(server.as_raw_fd()), true, false, None),
        Subscription::io(2, &Fd(client.as_raw_fd()), false, true, None),
    ]))?;
    ensure(events.iter().any(|e| e.userdata == 1 && matches!(e.event_type, EventType::Read)), || "readable socket missing".into())?;
    ensure(events.iter().any(|e| e.userdata == 2 && matches!(e.event_type, EventType::Write)), || "writable socket missing".into())
}

fn poll_pure_timeout() -> CheckResult {
    let began = Instant::now();
    let events = io("poll", poll::poll(&[Subscription::timeout(9, SystemTime::now() + Duration::from_millis(30))]))?;
    ensure(events.len() == 1 && events[0].userdata == 9 && matches!(events[0].event_type, EventType::Timeout), || {
        format!("{} events for a lone timeout", events.len())
    })?;
    ensure(began.elapsed() >= Duration::from_millis(20), || format!("lone timeout returned after {:?}", began.elapsed()))
}

fn poll_mixes_sockets_and_stdout() -> CheckResult {
    let (_listener, _client, server) = tcp_pair_v4()?;
    let timeout = Some(SystemTime::now() + Duration::from_secs(5));
    let events = io("poll", poll::poll(&[
        Subscription::io(10, &Fd(server.as_raw_fd()), true, false, timeout),
        Subscription::io(11, &Fd(1), false, true, None),
    ]))?;
    ensure(events.iter().any(|e| e.userdata == 11 && matches!(e.event_type, EventType::Write)), || {
        format!("stdout not reported writable next to a socket ({} events)", events.len())
    })?;
    ensure(!events.iter().any(|e| e.userdata == 10 && matches!(e.event_type, EventType::Read)), || "idle socket reported readable".into())
}

fn hangup_is_reported_and_reads_eof() -> CheckResult {
    let (_listener, client, mut server) = tcp_pair_v4()?;
    io("shutdown", client.shutdown(Shutdown::Write))?;
    let timeout = Some(SystemTime::now() + Duration::from_secs(5));
    let events = io("poll", poll::poll(&[Subscription::io(5, &Fd(server.as_raw_fd()), true, false, timeout)]))?;
    ensure(events.iter().any(|e| e.userdata == 5 && matches!(e.event_type, EventType::Read)), || "half-close not readable".into())?;
    let mut buf = [0u8; 8];
    ensure(io("read", server.read(&mut buf))? == 0, || "expected end of stream".into())
}

/// Whether `events` holds an event of `kind` ("read", "write", "timeout") for `userdata`.
fn has_event(events: &[poll::Event], userdata: u64, kind: &str) -> bool {
    events.iter().any(|e| {
        e.userdata == userdata
            && match kind {
                "read" => matches!(e.event_type, EventType::Read),
                "write" => matches!(e.event_type, EventType::Write),
                _ => matches!(e.event_type, EventType::Timeout),
            }
    })
}

fn describe(events: &[poll::Event]) -> String {
    let parts: Vec<String> = events
        .iter()
        .map(|e| {
            let kind = match &e.event_type {
                EventType::Read => "read".to_string(),
                EventType::Write => "write".to_string(),
                EventType::Timeout => "timeout".to_string(),
                EventType::Error(err) => format!("error {err}"),
            };
            format!("{}:{kind}", e.userdata)
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// A socket watched by one poll call, closed, and its fd number handed to a new socket:
/// the new socket's readiness is what the next poll reports (the engine keeps an epoll
/// set across calls, where a stale entry for the old socket would hide the new one).
fn poll_after_fd_reuse() -> CheckResult {
    let listener = io("bind", TcpListener::bind("127.0.0.1:0", false))?;
    let addr = io("local_addr", listener.local_addr())?;
    let _first_client = io("connect", TcpStream::connect(addr))?;
    let (first, _) = io("accept", listener.accept(false))?;
    let first_fd = first.as_raw_fd();
    let soon = Some(SystemTime::now() + Duration::from_millis(20));
    let events = io("poll", poll::poll(&[Subscription::io(1, &Fd(first_fd), true, false, soon)]))?;
    ensure(!has_event(&events, 1, "read"), || format!("idle socket reported readable: {}", describe(&events)))?;
    // Connected before the close, so only the accepted socket can take the freed number.
    let mut second_client = io("connect", TcpStream::connect(addr))?;
    drop(first);
    let (mut second, _) = io("accept", listener.accept(false))?;
    // The guest's fd is the host's, and the engine's tests run guests side by side in one
    // host process: another guest may take the freed number first. Then wait until it is
    // free again and take it with a new pair (either end may get it). WasmEdge 0.17.1 gives
    // out fd numbers at random, so a freed one does not come back there: the new socket
    // with its own number is checked instead.
    let mut tries = 0;
    while !on_wasmedge() && second.as_raw_fd() != first_fd {
        tries += 1;
        ensure(tries < 300, || {
            format!("the freed fd {first_fd} never came back (last got {})", second.as_raw_fd())
        })?;
        drop(second);
        drop(second_client);
        std::thread::sleep(Duration::from_millis(10));
        let client = io("connect", TcpStream::connect(addr))?;
        let (accepted, _) = io("accept", listener.accept(false))?;
        (second, second_client) = if client.as_raw_fd() == first_fd {
            (client, accepted)
        } else {
            (accepted, client)
        };
    }
    io("write", second_client.write_all(b"y"))?;
    let later = Some(SystemTime::now() + Duration::from_secs(5));
    let events = io("poll", poll::poll(&[Subscription::io(2, &Fd(second.as_raw_fd()), true, false, later)]))?;
    ensure(has_event(&events, 2, "read"), || format!("reused fd with data not reported readable: {}", describe(&events)))?;
    // And the other way round: an idle socket on a reused number is not readable.
    let mut buf = [0u8; 4];
    ensure(io("read", second.read(&mut buf))? == 1, || "did not read the byte".into())?;
    let soon = Some(SystemTime::now() + Duration::from_millis(20));
    let events = io("poll", poll::poll(&[Subscription::io(3, &Fd(second.as_raw_fd()), true, false, soon)]))?;
    ensure(!has_event(&events, 3, "read") && has_event(&events, 3, "timeout"), || {
        format!("drained socket on a reused fd: {}", describe(&events))
    })
}

/// A socket in error alone (`EPOLLERR` without IN, OUT or HUP): a connected UDP socket
/// whose datagram to a closed port on 127.0.0.2 drew an ICMP port unreachable. A read
/// subscription must be woken (the next read reports the error), not wait for ever.
/// WasmEdge 0.17.1 reports no event for it: the call waits for its timeout.
fn poll_reports_a_socket_in_error() -> CheckResult {
    let closed = io("bind", UdpSocket::bind("127.0.0.2:0"))?;
    // Only the port: this crate reads the IP back as 0.0.0.0 in release builds.
    let port = io("local", closed.as_ref().get_local())?.port();
    drop(closed);
    let closed_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), port);
    let udp = io("bind", UdpSocket::bind("127.0.0.1:0"))?;
    io("connect", udp.as_ref().connect(&closed_addr))?;
    io("send", udp.as_ref().send(b"x"))?;
    let deadline = Some(SystemTime::now() + Duration::from_secs(2));
    let subject = Fd(udp.as_ref().as_raw_fd());
    let events = io("poll", poll::poll(&[Subscription::io(11, &subject, true, false, deadline)]))?;
    if on_wasmedge() {
        return ensure(!has_event(&events, 11, "read"), || {
            format!("WasmEdge reported the socket in error after all: {}", describe(&events))
        });
    }
    ensure(has_event(&events, 11, "read"), || format!("socket in error: {}", describe(&events)))
}

/// One socket subscribed for reading and writing in the same call gets an event for each
/// interest that holds, and only for those.
fn poll_read_and_write_on_one_socket() -> CheckResult {
    let (_listener, mut client, server) = tcp_pair_v4()?;
    let subject = Fd(server.as_raw_fd());
    let soon = || Some(SystemTime::now() + Duration::from_secs(5));
    let events = io("poll", poll::poll(&[Subscription::io(1, &subject, true, true, soon())]))?;
    ensure(has_event(&events, 1, "write") && !has_event(&events, 1, "read"), || {
        format!("idle writable socket: {}", describe(&events))
    })?;
    io("write", client.write_all(b"rw"))?;
    let events = io("poll", poll::poll(&[Subscription::io(1, &subject, true, true, soon())]))?;
    ensure(has_event(&events, 1, "write") && has_event(&events, 1, "read"), || {
        format!("readable and writable socket: {}", describe(&events))
    })?;
    // Separate subscriptions for the two interests, in either order, with their own userdata.
    let events = io("poll", poll::poll(&[
        Subscription::io(7, &subject, false, true, None),
        Subscription::io(8, &subject, true, false, None),
    ]))?;
    ensure(has_event(&events, 7, "write") && has_event(&events, 8, "read") && events.len() == 2, || {
        format!("two subscriptions on one socket: {}", describe(&events))
    })?;
    // Then read only: the write interest from before no longer wakes the call.
    let mut server = server;
    ensure(read_exactly(&mut server, 2)? == b"rw", || "did not read rw".into())?;
    let events = io("poll", poll::poll(&[Subscription::io(9, &Fd(server.as_raw_fd()), true, false, Some(SystemTime::now() + Duration::from_millis(20)))]))?;
    ensure(!has_event(&events, 9, "write") && !has_event(&events, 9, "read") && has_event(&events, 9, "timeout"), || {
        format!("read-only subscription after read+write: {}", describe(&events))
    })
}

/// A ready socket dropped from the subscriptions between two calls is not reported by the
/// second call, and is again when subscribed once more.
fn poll_after_a_subscription_is_removed() -> CheckResult {
    let (_listener, mut ready_client, ready) = tcp_pair_v4()?;
    let (_listener2, _idle_client, idle) = tcp_pair_v4()?;
    io("write", ready_client.write_all(b"z"))?;
    let soon = || Some(SystemTime::now() + Duration::from_secs(5));
    let events = io("poll", poll::poll(&[
        Subscription::io(1, &Fd(ready.as_raw_fd()), true, false, soon()),
        Subscription::io(2, &Fd(idle.as_raw_fd()), true, false, None),
    ]))?;
    ensure(has_event(&events, 1, "read") && !has_event(&events, 2, "read"), || format!("first call: {}", describe(&events)))?;
    let events = io("poll", poll::poll(&[Subscription::io(2, &Fd(idle.as_raw_fd()), true, false, Some(SystemTime::now() + Duration::from_millis(30)))]))?;
    ensure(events.len() == 1 && has_event(&events, 2, "timeout"), || {
        format!("the unsubscribed ready socket leaked into the second call: {}", describe(&events))
    })?;
    let events = io("poll", poll::poll(&[Subscription::io(1, &Fd(ready.as_raw_fd()), true, false, soon())]))?;
    ensure(has_event(&events, 1, "read"), || format!("subscribed again: {}", describe(&events)))
}

fn getaddrinfo_with_service() -> CheckResult {
    let found = io("nslookup localhost http", nslookup("localhost", "http"))?;
    let wanted = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 80);
    ensure(found.contains(&wanted), || format!("localhost/http resolved to {found:?}"))?;
    let numeric = io("nslookup numeric", nslookup("127.0.0.1", "8080"))?;
    ensure(numeric.iter().all(|a| a.port() == 8080) && !numeric.is_empty(), || format!("127.0.0.1/8080 resolved to {numeric:?}"))?;
    // Neither a node nor a service is an error (EAI_NONAME), not an empty success.
    match nslookup("", "") {
        Err(err) if err.raw_os_error() == Some(EAI_NONAME) => Ok(()),
        Err(err) => Err(format!("an empty query failed with {err:?}, expected WasmEdge's AINONAME (84)")),
        Ok(found) => Err(format!("an empty query resolved to {found:?}")),
    }
}

fn socket_options() -> CheckResult {
    let (listener, client, _server) = tcp_pair_v4()?;
    let socket = client.as_ref();
    ensure(io("SO_ACCEPTCONN", listener.as_ref().is_listener())?, || "listener not SO_ACCEPTCONN".into())?;
    ensure(!io("SO_ACCEPTCONN", socket.is_listener())?, || "client reported as listener".into())?;
    ensure(matches!(io("SO_TYPE", socket.r#type())?, SocketType::Stream), || "TCP socket not Stream".into())?;
    ensure(io("SO_REUSEADDR", listener.as_ref().reuse_address())?, || "SO_REUSEADDR not set by bind".into())?;
    io("set SO_KEEPALIVE", socket.setsockopt(SocketOptLevel::SolSocket, SocketOptName::SoKeepalive, 1i32))?;
    ensure(io("SO_KEEPALIVE", socket.keepalive())?, || "SO_KEEPALIVE did not stick".into())?;
    io("set SO_RCVBUF", socket.setsockopt(SocketOptLevel::SolSocket, SocketOptName::SoRcvbuf, 65536i32))?;
    let rcvbuf = io("SO_RCVBUF", socket.recv_buffer_size())?;
    ensure(rcvbuf >= 65536, || format!("SO_RCVBUF is {rcvbuf}"))?;
    ensure(io("SO_SNDBUF", socket.send_buffer_size())? > 0, || "SO_SNDBUF is 0".into())?;
    io("SO_ERROR", socket.take_error())?;
    io("set SO_RCVTIMEO", socket.set_recv_timeout(Some(Duration::from_millis(200))))?;
    let timeout = io("SO_RCVTIMEO", socket.get_recv_timeout())?;
    // The kernel keeps timeouts in scheduler ticks, so allow rounding up by one tick.
    let in_range = timeout.is_some_and(|t| t >= Duration::from_millis(200) && t <= Duration::from_millis(210));
    ensure(in_range, || format!("SO_RCVTIMEO read back as {timeout:?}"))?;
    let mut buf = [0u8; 4];
    match socket.recv(&mut buf) {
        Err(err) if err.raw_os_error() == Some(EAGAIN) => {}
        other => return Err(format!("recv past SO_RCVTIMEO gave {other:?}")),
    }
    io("set SO_SNDTIMEO", socket.set_send_timeout(Some(Duration::from_secs(2))))?;
    ensure(io("SO_SNDTIMEO", socket.get_send_timeout())? == Some(Duration::from_secs(2)), || "SO_SNDTIMEO did not stick".into())?;
    let udp = io("udp", UdpSocket::bind("127.0.0.1:0"))?;
    ensure(matches!(io("SO_TYPE", udp.as_ref().r#type())?, SocketType::Datagram), || "UDP socket not Datagram".into())?;
    io("set SO_BROADCAST", udp.as_ref().setsockopt(SocketOptLevel::SolSocket, SocketOptName::SoBroadcast, 1i32))?;
    ensure(io("SO_BROADCAST", udp.as_ref().broadcast())?, || "SO_BROADCAST did not stick".into())
}

fn fd_read_and_write_on_sockets() -> CheckResult {
    let (_listener, client, server) = tcp_pair_v4()?;
    // std's File goes through fd_write/fd_read, not sock_send/sock_recv.
    let mut as_file = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(client.as_raw_fd()) });
    io("fd_write", as_file.write_all(b"via fd_write"))?;
    let mut server_file = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(server.as_raw_fd()) });
    let mut buf = [0u8; 12];
    io("fd_read", server_file.read_exact(&mut buf))?;
    ensure(&buf == b"via fd_write", || format!("read {:?}", buf))
}

fn peek_then_read() -> CheckResult {
    let (_listener, mut client, server) = tcp_pair_v4()?;
    io("write", client.write_all(b"peek"))?;
    let mut peeked = [std::mem::MaybeUninit::<u8>::uninit(); 4];
    let (got, _) = io("recv MSG_PEEK", server.as_ref().recv_with_flags(&mut peeked, wasmedge_wasi_socket::socket::MSG_PEEK))?;
    let peeked: Vec<u8> = peeked[..got].iter().map(|b| unsafe { b.assume_init() }).collect();
    let mut server = server;
    let read = read_exactly(&mut server, 4)?;
    ensure(peeked == b"peek" && read == b"peek", || format!("peeked {peeked:?}, then read {read:?}"))
}

fn closed_fd_is_ebadf() -> CheckResult {
    let socket = io("open", Socket::new(AddressFamily::Inet4, SocketType::Datagram))?;
    let fd = socket.as_raw_fd();
    drop(socket);
    let stale = ManuallyDrop::new(unsafe { Socket::from_raw_fd(fd) });
    match stale.send(b"x") {
        Err(err) if err.raw_os_error() == Some(EBADF) => Ok(()),
        other => Err(format!("send on a closed fd gave {other:?}")),
    }
}

/// `result` failed with the WASI errno `want`.
fn expect_errno<T: std::fmt::Debug>(what: &str, result: io::Result<T>, want: i32) -> CheckResult {
    match result {
        Err(err) if err.raw_os_error() == Some(want) => Ok(()),
        other => Err(format!("{what} gave {other:?}, expected errno {want}")),
    }
}

/// Socket calls on fds that are open but not sockets fail in the kernel with ENOTSOCK
/// on WasmEdge; an fd nobody opened is EBADF.
fn non_socket_fds_are_enotsock() -> CheckResult {
    for fd in [0, 1, 2] {
        let stdio = ManuallyDrop::new(unsafe { Socket::from_raw_fd(fd) });
        expect_errno(&format!("send on fd {fd}"), stdio.send(b"x"), ENOTSOCK)?;
        expect_errno(&format!("get_local on fd {fd}"), stdio.get_local(), ENOTSOCK)?;
        expect_errno(&format!("listen on fd {fd}"), stdio.listen(1), ENOTSOCK)?;
        expect_errno(&format!("SO_TYPE on fd {fd}"), stdio.r#type(), ENOTSOCK)?;
        expect_errno(&format!("shutdown on fd {fd}"), stdio.shutdown(Shutdown::Both), ENOTSOCK)?;
        expect_errno(&format!("accept on fd {fd}"), stdio.accept(false).map(|_| ()), ENOTSOCK)?;
    }
    let never_opened = ManuallyDrop::new(unsafe { Socket::from_raw_fd(1000) });
    expect_errno("send on fd 1000", never_opened.send(b"x"), EBADF)?;
    expect_errno("get_local on fd 1000", never_opened.get_local(), EBADF)
}

/// Errors the kernel gives for misuse, as WasmEdge passes them through.
fn misuse_errnos_match_wasmedge() -> CheckResult {
    let udp = io("udp", Socket::new(AddressFamily::Inet4, SocketType::Datagram))?;
    expect_errno("listen on a UDP socket", udp.listen(4), ENOTSUP)?;

    let (listener, client, _server) = tcp_pair_v4()?;
    let listen_addr = io("local_addr", listener.local_addr())?;
    expect_errno("connect on a connected socket", client.as_ref().connect(&listen_addr), EISCONN)?;
    let second = io("open", Socket::new(AddressFamily::Inet4, SocketType::Stream))?;
    expect_errno("bind to a listening address", second.bind(&listen_addr), EADDRINUSE)?;

    let idle = io("open", Socket::new(AddressFamily::Inet4, SocketType::Stream))?;
    let mut buf = [0u8; 4];
    expect_errno("recv on an unconnected TCP socket", idle.recv(&mut buf), ENOTCONN)?;
    expect_errno("get_peer on an unconnected TCP socket", idle.get_peer(), ENOTCONN)?;
    expect_errno("shutdown of an unconnected TCP socket", idle.shutdown(Shutdown::Both), ENOTCONN)?;

    // AF_UNIX needs WasmEdge's --allow-af-unix, which `run` does not pass; an unknown
    // family or type is INVAL.
    let mut fd = 0u32;
    let open = |family: u8, kind: u8, fd: &mut u32| unsafe { raw::sock_open(family, kind, fd) } as i32;
    ensure(open(3, 2, &mut fd) == ENOSYS, || format!("sock_open(AF_UNIX) gave {}", open(3, 2, &mut fd)))?;
    ensure(open(9, 2, &mut fd) == EINVAL, || format!("sock_open(family 9) gave {}", open(9, 2, &mut fd)))?;
    ensure(open(1, 9, &mut fd) == EINVAL, || format!("sock_open(type 9) gave {}", open(1, 9, &mut fd)))
}

/// `serve PORT COUNT`: a poll server as apps write one, for the engine's many-connections
/// test. Listens on 127.0.0.1:PORT (0: any; prints `bound PORT`), answers each connection's
/// first line with the line reversed and closes it, and exits 0 once COUNT connections are
/// answered; exits 2 when nothing happens for 30 s. Every open connection is in every poll.
fn serve(port: u16, count: usize) -> i32 {
    use std::collections::HashMap;
    struct Conn {
        stream: TcpStream,
        request: Vec<u8>,
        reply: Option<(Vec<u8>, usize)>,
    }
    const LISTENER: u64 = u64::MAX;
    let listener = match TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port), true) {
        Ok(listener) => listener,
        Err(err) => {
            println!("bind: {err}");
            return 1;
        }
    };
    // Listening again only raises the backlog (128 in the crate), so a burst of clients
    // is queued rather than retried.
    if let Err(err) = listener.as_ref().listen(4096) {
        println!("listen: {err}");
        return 1;
    }
    println!("bound {}", listener.local_addr().map(|a| a.port()).unwrap_or(0));
    let mut conns: HashMap<u64, Conn> = HashMap::new();
    let mut served = 0;
    let mut most_open = 0;
    let mut subs = Vec::new();
    while served < count {
        subs.clear();
        subs.push(Subscription::io(LISTENER, &listener, true, false, Some(SystemTime::now() + Duration::from_secs(30))));
        for (&key, conn) in &conns {
            let writing = conn.reply.is_some();
            subs.push(Subscription::io(key, &conn.stream, !writing, writing, None));
        }
        let events = match poll::poll(&subs) {
            Ok(events) => events,
            Err(err) => {
                println!("poll: {err}");
                return 1;
            }
        };
        if events.iter().all(|e| matches!(e.event_type, EventType::Timeout)) {
            println!("stalled: {served} of {count} answered, {} open", conns.len());
            return 2;
        }
        for event in events {
            if let EventType::Error(err) = &event.event_type {
                println!("poll event for {}: {err}", event.userdata);
                return 1;
            }
            if event.userdata == LISTENER {
                loop {
                    match listener.accept(true) {
                        Ok((stream, _)) => {
                            let key = stream.as_raw_fd() as u64;
                            conns.insert(key, Conn { stream, request: Vec::new(), reply: None });
                        }
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                        Err(err) => {
                            println!("accept: {err}");
                            return 1;
                        }
                    }
                }
                most_open = most_open.max(conns.len());
                continue;
            }
            let Some(conn) = conns.get_mut(&event.userdata) else { continue };
            let mut done = false;
            if conn.reply.is_none() {
                let mut buf = [0u8; 256];
                match conn.stream.read(&mut buf) {
                    Ok(0) => done = true,
                    Ok(n) => {
                        conn.request.extend_from_slice(&buf[..n]);
                        if let Some(end) = conn.request.iter().position(|&b| b == b'\n') {
                            let mut line = conn.request[..end].to_vec();
                            line.reverse();
                            line.push(b'\n');
                            conn.reply = Some((line, 0));
                        }
                    }
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => done = true,
                }
            } else if let Some((reply, sent)) = conn.reply.as_mut() {
                match conn.stream.write(&reply[*sent..]) {
                    Ok(n) => {
                        *sent += n;
                        if *sent == reply.len() {
                            served += 1;
                            done = true;
                        }
                    }
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => done = true,
                }
            }
            if done {
                conns.remove(&event.userdata);
            }
        }
    }
    println!("answered {served}, at most {most_open} open at once");
    0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "serve" {
        let port = args[2].parse().expect("serve PORT COUNT: PORT is a number");
        let count = args[3].parse().expect("serve PORT COUNT: COUNT is a number");
        std::process::exit(serve(port, count));
    }
    let checks: &[Check] = &[
        ("tcp ipv4 blocking connect/accept/send/recv and addresses", tcp_ipv4_blocking),
        ("tcp ipv6 blocking connect/accept/send/recv and addresses", tcp_ipv6_blocking),
        ("udp ipv4 send_to/recv_from with the right peer port", || udp_round_trip(IpAddr::V4(Ipv4Addr::LOCALHOST))),
        ("udp ipv6 send_to/recv_from with the right peer port", || udp_round_trip(IpAddr::V6(Ipv6Addr::LOCALHOST))),
        ("non-blocking accept and recv return EAGAIN", nonblocking_accept_and_recv),
        ("non-blocking connect completes through poll", nonblocking_connect),
        ("connect to a closed port is ECONNREFUSED", connect_refused),
        ("poll is level-triggered and honours its timeout", poll_is_level_triggered_and_times_out),
        ("poll without a timeout returns ready sockets", poll_without_timeout),
        ("poll with only a clock sleeps until it", poll_pure_timeout),
        ("poll mixes sockets with preview1 fds", poll_mixes_sockets_and_stdout),
        ("half-close is readable and reads end of stream", hangup_is_reported_and_reads_eof),
        ("poll after a watched fd is closed and its number reused", poll_after_fd_reuse),
        ("poll reports a socket in error", poll_reports_a_socket_in_error),
        ("poll on one socket for read and write at once", poll_read_and_write_on_one_socket),
        ("poll after a subscription is removed between calls", poll_after_a_subscription_is_removed),
        ("getaddrinfo with a service", getaddrinfo_with_service),
        ("socket options", socket_options),
        ("fd_write and fd_read on sockets", fd_read_and_write_on_sockets),
        ("recv with MSG_PEEK", peek_then_read),
        ("a closed socket fd is EBADF", closed_fd_is_ebadf),
        ("socket calls on open non-socket fds are ENOTSOCK, on unopened fds EBADF", non_socket_fds_are_enotsock),
        ("misuse gives the kernel's errno, as on WasmEdge", misuse_errnos_match_wasmedge),
    ];
    let mut failed = 0;
    for (name, check) in checks {
        match check() {
            Ok(()) => println!("ok - {name}"),
            Err(why) => {
                failed += 1;
                println!("not ok - {name}: {why}");
            }
        }
    }
    println!("{} checks, {failed} failed", checks.len());
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
