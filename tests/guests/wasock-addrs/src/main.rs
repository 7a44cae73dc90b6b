//! A self-checking guest for `wasock`'s socket addresses on WasmEdge (issue 7 §3).
//!
//! `wasmedge_wasi_socket` 0.5 reads addresses back as `0.0.0.0` in release builds, so this
//! guest is built with `--release` and uses distinct loopback addresses (127/8 is all
//! loopback): servers on 127.0.0.3, clients bound to 127.0.0.2. It prints `ok - NAME` or
//! `not ok - NAME: WHY` per check and exits 0 only when every check passed.
//!
//! The engine's tests run it on the engine and on the real WasmEdge 0.17.1. WasmEdge writes
//! `sock_recv_from`'s peer port in network order (a known WasmEdge fault, which `wasock`
//! passes on), so told `WASOCK_GUEST_RUNTIME=wasmedge` the UDP checks expect the port
//! byte-swapped and reply to it swapped back; everything else must be the same.
//!
//! `wasock-addrs errors HOST PORT` instead prints how `wasock` reports a lookup of HOST and
//! a connection to 127.0.0.1:PORT, one `WHAT<TAB>MESSAGE<TAB>KIND` line each, for the
//! engine test to compare with a native build's errors.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use wasmedge_wasi_socket::socket::{AddressFamily, Socket, SocketType};
use wasock::{EventLoop, Interest, TcpListener, TcpStream, Token, UdpSocket};

const SERVER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// The sender's address as `recv_from` reports it: on WasmEdge 0.17.1 the port is
/// byte-swapped (see the module's doc).
fn as_reported(sender: SocketAddr) -> SocketAddr {
    if std::env::var("WASOCK_GUEST_RUNTIME").as_deref() == Ok("wasmedge") {
        SocketAddr::new(sender.ip(), sender.port().swap_bytes())
    } else {
        sender
    }
}

/// Where a reply to the peer `recv_from` reported goes: its port swapped back on WasmEdge
/// (swapping twice is the identity).
fn reply_to(reported: SocketAddr) -> SocketAddr {
    as_reported(reported)
}

type CheckResult = Result<(), String>;

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

/// Where a socket bound to `ip` with port 0 is: the port from `local_addr` (right even where
/// its IP is not), so that each check below tests its own call.
fn bound_at(ip: IpAddr, local_addr: io::Result<SocketAddr>) -> Result<SocketAddr, String> {
    Ok(SocketAddr::new(ip, io("local_addr", local_addr)?.port()))
}

fn listener_reports_its_address() -> CheckResult {
    let listener = io("bind", TcpListener::bind((SERVER_IP, 0)))?;
    let addr = io("local_addr", listener.local_addr())?;
    ensure(addr.ip() == SERVER_IP && addr.port() != 0, || {
        format!("listener bound to {SERVER_IP}:0 reports {addr}")
    })
}

/// A TCP client socket bound to `CLIENT_IP` and connected to `server`, and the port it got.
fn client_bound_to_client_ip(server: SocketAddr) -> Result<(Socket, u16), String> {
    let client = io("open", Socket::new(AddressFamily::Inet4, SocketType::Stream))?;
    io("bind client", client.bind(&SocketAddr::new(CLIENT_IP, 0)))?;
    // The crate's local address has the right port (only its IP is affected).
    let port = io("client port", client.get_local())?.port();
    io("connect", client.connect(&server))?;
    Ok((client, port))
}

fn accept_and_peer_addr_name_the_bound_client() -> CheckResult {
    let listener = io("bind", TcpListener::bind((SERVER_IP, 0)))?;
    let server = bound_at(SERVER_IP, listener.local_addr())?;
    let (_client, client_port) = client_bound_to_client_ip(server)?;
    let client = SocketAddr::new(CLIENT_IP, client_port);
    let (stream, peer) = io("accept", listener.accept())?;
    ensure(peer == client, || format!("accept reported {peer}, the client is {client}"))?;
    let peer = io("peer_addr", stream.peer_addr())?;
    ensure(peer == client, || format!("peer_addr is {peer}, the client is {client}"))?;
    let local = io("local_addr", stream.local_addr())?;
    ensure(local == server, || format!("accepted stream's local_addr is {local}, want {server}"))
}

fn connected_stream_reports_both_ends() -> CheckResult {
    let listener = io("bind", TcpListener::bind((SERVER_IP, 0)))?;
    let server = bound_at(SERVER_IP, listener.local_addr())?;
    let mut client = io("connect", TcpStream::connect(server))?;
    let (mut accepted, seen_from) = io("accept", listener.accept())?;
    let peer = io("peer_addr", client.peer_addr())?;
    ensure(peer == server, || format!("client's peer_addr is {peer}, want {server}"))?;
    let local = io("local_addr", client.local_addr())?;
    ensure(local == seen_from && !local.ip().is_unspecified(), || {
        format!("client's local_addr is {local}, the server saw {seen_from}")
    })?;
    // The connection works both ways, so the addresses above belong to a live pair.
    io("write", client.write_all(b"ping"))?;
    let mut buf = [0u8; 4];
    io("read", accepted.read_exact(&mut buf))?;
    ensure(&buf == b"ping", || format!("read {buf:?}"))
}

/// Waits until `socket` is readable, at most `timeout`; false if it never was.
fn readable_within(socket: &UdpSocket, timeout: Duration) -> Result<bool, String> {
    let mut events = io("event loop", EventLoop::new())?;
    io("register", events.register(socket, Token(1), Interest::READABLE))?;
    let mut ready = Vec::new();
    io("wait", events.wait(&mut ready, Some(timeout)))?;
    let readable = ready.iter().any(|event| event.token == Token(1) && event.readable);
    io("deregister", events.deregister(socket))?;
    Ok(readable)
}

fn udp_echo_reaches_a_client_bound_to_another_address() -> CheckResult {
    let server = io("bind server", UdpSocket::bind((SERVER_IP, 0)))?;
    let client = io("bind client", UdpSocket::bind((CLIENT_IP, 0)))?;
    let server_addr = bound_at(SERVER_IP, server.local_addr())?;
    let client_addr = bound_at(CLIENT_IP, client.local_addr())?;

    io("send_to", client.send_to(b"ping", server_addr))?;
    let mut buf = [0u8; 16];
    let (got, from) = io("server recv_from", server.recv_from(&mut buf))?;
    ensure(&buf[..got] == b"ping", || format!("server received {:?}", &buf[..got]))?;
    ensure(from == as_reported(client_addr), || format!("recv_from reported {from}, the sender is {client_addr}"))?;

    // An echo server replies to whatever recv_from said; the reply must arrive.
    let from = reply_to(from);
    io("echo", server.send_to(b"pong", from))?;
    io("nonblocking", client.set_nonblocking(true))?;
    ensure(readable_within(&client, Duration::from_secs(5))?, || {
        format!("the echo sent to {from} never reached the client at {client_addr}")
    })?;
    let (got, from) = io("client recv_from", client.recv_from(&mut buf))?;
    ensure(&buf[..got] == b"pong", || format!("client received {:?}", &buf[..got]))?;
    ensure(from == as_reported(server_addr), || format!("the reply came from {from}, the server is {server_addr}"))?;
    let reported = io("client local_addr", client.local_addr())?;
    ensure(reported == client_addr, || format!("client bound to {CLIENT_IP} reports {reported}"))
}

fn ipv6_addresses_read_back() -> CheckResult {
    let loopback = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let listener = io("bind tcp [::1]", TcpListener::bind((loopback, 0)))?;
    let addr = io("local_addr", listener.local_addr())?;
    ensure(addr.ip() == loopback && addr.port() != 0, || format!("listener bound to [::1]:0 reports {addr}"))?;
    let a = io("bind udp a", UdpSocket::bind((loopback, 0)))?;
    let b = io("bind udp b", UdpSocket::bind((loopback, 0)))?;
    let a_addr = bound_at(loopback, a.local_addr())?;
    let b_addr = bound_at(loopback, b.local_addr())?;
    io("send_to", a.send_to(b"v6", b_addr))?;
    let mut buf = [0u8; 8];
    let (_, from) = io("recv_from", b.recv_from(&mut buf))?;
    ensure(from == as_reported(a_addr), || format!("recv_from reported {from}, the sender is {a_addr}"))
}

fn failed_lookup_reads_like_native() -> CheckResult {
    match wasock::net::resolve("no-such-host.invalid", 80) {
        Ok(addrs) => Err(format!("`no-such-host.invalid` resolved to {addrs:?}")),
        Err(error) => {
            let text = error.to_string();
            ensure(
                text.starts_with("failed to lookup address information: ") && !text.contains("os error"),
                || format!("the error reads `{text}`"),
            )
        }
    }
}

fn a_taken_address_is_named() -> CheckResult {
    let taken = io("bind", TcpListener::bind((SERVER_IP, 0)))?;
    let addr = bound_at(SERVER_IP, taken.local_addr())?;
    match TcpListener::bind(addr) {
        Ok(_) => Err(format!("{addr} could be bound twice")),
        Err(error) => ensure(
            error.kind() == io::ErrorKind::AddrInUse && error.to_string() == format!("{addr} is already in use"),
            || format!("binding a taken {addr} gave {:?}: `{error}`", error.kind()),
        ),
    }
}

/// `errors HOST PORT`: the failures an app sees, as `wasock` reports them.
fn print_errors(host: &str, port: &str) {
    let port: u16 = port.parse().expect("PORT is a port number");
    let print = |what: &str, error: io::Error| println!("{what}\t{error}\t{:?}", error.kind());
    match wasock::net::resolve(host, 80) {
        Ok(found) => println!("lookup\tresolved to {found:?}\t-"),
        Err(error) => print("lookup", error),
    }
    match wasock::TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
        Ok(_) => println!("connect\tconnected\t-"),
        Err(error) => print("connect", error),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("errors") {
        return print_errors(&args[2], &args[3]);
    }
    let checks: &[(&str, fn() -> CheckResult)] = &[
        ("tcp listener local_addr", listener_reports_its_address),
        ("accept and peer_addr name a client bound to 127.0.0.2", accept_and_peer_addr_name_the_bound_client),
        ("connected stream local_addr and peer_addr", connected_stream_reports_both_ends),
        ("udp recv_from names the sender and the echo reaches it", udp_echo_reaches_a_client_bound_to_another_address),
        ("ipv6 local_addr and recv_from", ipv6_addresses_read_back),
        ("a failed name lookup reads like the native one", failed_lookup_reads_like_native),
        ("binding a taken address says so", a_taken_address_is_named),
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
