//! TCP and UDP sockets with one API on both backends.
//!
//! On `wasm32-wasip1` these wrap `wasmedge_wasi_socket` (WasmEdge's socket extension),
//! except for the calls that read back an address, which go through our own bindings in
//! `crate::wasmedge` (the crate's read back `0.0.0.0` in release builds); natively they wrap
//! `std::net`. Name resolution goes through [`ToSocketAddrs`]: `sock_getaddrinfo` on
//! WasmEdge, the system resolver natively, with the same error messages on both.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

pub use std::net::{Shutdown, SocketAddr};

#[cfg(target_os = "wasi")]
use wasmedge_wasi_socket as backend;

#[cfg(not(target_os = "wasi"))]
use std::net as backend;

/// Something that names one or more socket addresses: a `SocketAddr`, `"host:port"`,
/// `("host", port)`, or an IP and port.
///
/// Host names are resolved with `sock_getaddrinfo` on WasmEdge and the system resolver natively.
pub trait ToSocketAddrs {
    /// Resolves to every address this value names.
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>>;
}

impl ToSocketAddrs for SocketAddr {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![*self])
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::V4(*self)])
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::V6(*self)])
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::new(self.0, self.1)])
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::new(IpAddr::V4(self.0), self.1)])
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::new(IpAddr::V6(self.0), self.1)])
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        resolve(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        resolve(&self.0, self.1)
    }
}

impl ToSocketAddrs for str {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(vec![addr]);
        }
        let (host, port) = self.rsplit_once(':').ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid socket address `{self}`: expected host:port"),
            )
        })?;
        let port: u16 = port.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid port in `{self}`"),
            )
        })?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        resolve(host, port)
    }
}

impl ToSocketAddrs for String {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        self.as_str().to_socket_addrs()
    }
}

impl ToSocketAddrs for [SocketAddr] {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(self.to_vec())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        (**self).to_socket_addrs()
    }
}

/// Resolves `host` (a name or an IP literal) to socket addresses with the given port.
///
/// Fails with `NotFound` when the name resolves to nothing.
pub fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs = resolve_name(host, port)?;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("host `{host}` resolved to no address"),
        ));
    }
    Ok(addrs)
}

#[cfg(not(target_os = "wasi"))]
fn resolve_name(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port)).map(Iterator::collect)
}

#[cfg(target_os = "wasi")]
fn resolve_name(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    // `localhost` needs no resolver, so it works even where the runtime's lookup does not.
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)]);
    }
    let mut addrs = backend::nslookup(host, "http").map_err(lookup_error)?;
    for addr in &mut addrs {
        addr.set_port(port);
    }
    Ok(addrs)
}

/// A failed name lookup as the native build reports it.
///
/// WasmEdge returns `getaddrinfo`'s `EAI_*` codes as errno values 77–87 of its own (WasmEdge
/// 0.17.1, `__WASI_ERRNO_AIADDRFAMILY` …), which wasi-libc has no text for (`Success (os
/// error 84)`). std natively says `failed to lookup address information: ` and glibc's
/// `gai_strerror` text, with an uncategorized kind; so do we, and the kind is what std gives
/// the code (uncategorized too). Other errors pass through unchanged.
#[cfg_attr(not(target_os = "wasi"), allow(dead_code))]
fn lookup_error(error: io::Error) -> io::Error {
    let Some(code) = error.raw_os_error() else {
        return error;
    };
    let Some(reason) = gai_strerror(code) else {
        return error;
    };
    io::Error::new(
        error.kind(),
        format!("failed to lookup address information: {reason}"),
    )
}

/// glibc's `gai_strerror` text for WasmEdge's `__WASI_ERRNO_AI*` codes.
#[cfg_attr(not(target_os = "wasi"), allow(dead_code))]
fn gai_strerror(wasmedge_errno: i32) -> Option<&'static str> {
    Some(match wasmedge_errno {
        77 => "Address family for hostname not supported",
        78 => "Temporary failure in name resolution",
        79 => "Bad value for ai_flags",
        80 => "Non-recoverable failure in name resolution",
        81 => "ai_family not supported",
        82 => "Memory allocation failure",
        83 => "No address associated with hostname",
        84 => "Name or service not known",
        85 => "Servname not supported for ai_socktype",
        86 => "ai_socktype not supported",
        87 => "System error",
        _ => return None,
    })
}

fn try_each<T>(
    addrs: impl ToSocketAddrs,
    mut attempt: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_error = None;
    for addr in addrs.to_socket_addrs()? {
        match attempt(addr) {
            Ok(value) => return Ok(value),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no socket address to try")))
}

/// A TCP socket listening for connections.
#[derive(Debug)]
pub struct TcpListener {
    inner: ListenerInner,
}

// On WasmEdge the crate's own `TcpListener` adds nothing we use (its constructor asks the
// runtime for the local address and keeps it), so the listener is the bare socket.
#[cfg(target_os = "wasi")]
type ListenerInner = backend::socket::Socket;
#[cfg(not(target_os = "wasi"))]
type ListenerInner = std::net::TcpListener;

impl TcpListener {
    /// Binds to the first of `addrs` that works and starts listening (blocking mode).
    ///
    /// Errors keep their kind and name the address: `port 8080 is already in use` (for a
    /// wildcard address), `127.0.0.1:8080 is already in use`, `could not bind ADDR: REASON`.
    pub fn bind(addrs: impl ToSocketAddrs) -> io::Result<TcpListener> {
        try_each(addrs, |addr| {
            Ok(TcpListener {
                inner: bind_listener(addr).map_err(|error| bind_error(addr, error))?,
            })
        })
    }

    /// Accepts one connection; the stream is in blocking mode.
    ///
    /// On a non-blocking listener this returns `WouldBlock` when nobody is waiting.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_with(false)
    }

    /// Accepts one connection whose stream is already non-blocking, for an event loop: saves
    /// switching it to blocking mode and straight back.
    pub(crate) fn accept_nonblocking(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_with(true)
    }

    fn accept_with(&self, nonblocking: bool) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = accept_stream(&self.inner, nonblocking)?;
        Ok((TcpStream { inner: stream }, peer))
    }

    /// The address the listener is bound to (useful after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        #[cfg(target_os = "wasi")]
        return crate::wasmedge::local_addr(self.raw_fd());
        #[cfg(not(target_os = "wasi"))]
        return self.inner.local_addr();
    }

    /// Switches the listener between blocking and non-blocking `accept`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        listener_set_nonblocking(&self.inner, nonblocking)
    }
}

/// A failed bind, said for a person: `port 8080 is already in use` (or `127.0.0.1:8080 is
/// already in use` for a specific address), else `could not bind ADDR: REASON`. The kind is
/// kept, so `error.kind() == AddrInUse` still works; the OS error number is not.
fn bind_error(addr: SocketAddr, error: io::Error) -> io::Error {
    let message = match error.kind() {
        io::ErrorKind::AddrInUse if addr.ip().is_unspecified() => {
            format!("port {} is already in use", addr.port())
        }
        io::ErrorKind::AddrInUse => format!("{addr} is already in use"),
        _ => format!("could not bind {addr}: {error}"),
    };
    io::Error::new(error.kind(), message)
}

/// Pending connections the kernel queues for `accept`: room for bursts of clients.
const LISTEN_BACKLOG: i32 = 1024;

#[cfg(not(target_os = "wasi"))]
fn bind_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // As std does: a restarted server can bind its port again at once.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

#[cfg(target_os = "wasi")]
fn bind_listener(addr: SocketAddr) -> io::Result<backend::socket::Socket> {
    use backend::socket::{AddressFamily, Socket, SocketOptLevel, SocketOptName, SocketType};
    // Built by hand rather than with the crate's `bind`, which fixes the backlog at 128.
    let socket = Socket::new(AddressFamily::from(&addr), SocketType::Stream)?;
    socket.setsockopt(SocketOptLevel::SolSocket, SocketOptName::SoReuseaddr, 1i32)?;
    socket.bind(&addr)?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket)
}

/// Accepts with the stream's mode set explicitly: whether an accepted socket inherits the
/// listener's non-blocking flag differs between platforms.
#[cfg(not(target_os = "wasi"))]
fn accept_stream(
    listener: &std::net::TcpListener,
    nonblocking: bool,
) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    let (stream, peer) = listener.accept()?;
    stream.set_nonblocking(nonblocking)?;
    Ok((stream, peer))
}

#[cfg(target_os = "wasi")]
fn accept_stream(
    listener: &backend::socket::Socket,
    nonblocking: bool,
) -> io::Result<(backend::TcpStream, SocketAddr)> {
    // Not the crate's `TcpListener::accept`: its peer address reads back as 0.0.0.0.
    let stream = backend::TcpStream::from(listener.accept(nonblocking)?);
    let peer = crate::wasmedge::peer_addr(std::os::fd::AsRawFd::as_raw_fd(&stream))?;
    Ok((stream, peer))
}

#[cfg(not(target_os = "wasi"))]
fn listener_set_nonblocking(listener: &std::net::TcpListener, on: bool) -> io::Result<()> {
    listener.set_nonblocking(on)
}

#[cfg(target_os = "wasi")]
fn listener_set_nonblocking(listener: &backend::socket::Socket, on: bool) -> io::Result<()> {
    listener.set_nonblocking(on)
}

/// A TCP connection. Implements `Read` and `Write` (also on `&TcpStream`).
#[derive(Debug)]
pub struct TcpStream {
    inner: backend::TcpStream,
}

impl TcpStream {
    /// Connects (blocking) to the first of `addrs` that accepts.
    ///
    /// WasmEdge's socket extension connects over IPv4 only.
    pub fn connect(addrs: impl ToSocketAddrs) -> io::Result<TcpStream> {
        try_each(addrs, |addr| {
            Ok(TcpStream {
                inner: backend::TcpStream::connect(addr)?,
            })
        })
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        #[cfg(target_os = "wasi")]
        return crate::wasmedge::peer_addr(self.raw_fd());
        #[cfg(not(target_os = "wasi"))]
        return self.inner.peer_addr();
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        #[cfg(target_os = "wasi")]
        return crate::wasmedge::local_addr(self.raw_fd());
        #[cfg(not(target_os = "wasi"))]
        return self.inner.local_addr();
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// Switches between blocking and non-blocking reads and writes.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    /// Bounds how long a blocking read waits; `None` waits forever.
    ///
    /// A read that times out fails with `WouldBlock` or `TimedOut`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        stream_set_timeouts(&self.inner, Some(timeout), None)
    }

    /// Bounds how long a blocking write waits; `None` waits forever.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        stream_set_timeouts(&self.inner, None, Some(timeout))
    }

    /// Disables Nagle's algorithm where the backend supports it (natively); a no-op on WasmEdge.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        stream_set_nodelay(&self.inner, nodelay)
    }
}

#[cfg(not(target_os = "wasi"))]
fn stream_set_timeouts(
    stream: &std::net::TcpStream,
    read: Option<Option<Duration>>,
    write: Option<Option<Duration>>,
) -> io::Result<()> {
    if let Some(read) = read {
        stream.set_read_timeout(read)?;
    }
    if let Some(write) = write {
        stream.set_write_timeout(write)?;
    }
    Ok(())
}

#[cfg(target_os = "wasi")]
fn stream_set_timeouts(
    stream: &backend::TcpStream,
    read: Option<Option<Duration>>,
    write: Option<Option<Duration>>,
) -> io::Result<()> {
    if let Some(read) = read {
        stream.as_ref().set_recv_timeout(read)?;
    }
    if let Some(write) = write {
        stream.as_ref().set_send_timeout(write)?;
    }
    Ok(())
}

#[cfg(not(target_os = "wasi"))]
fn stream_set_nodelay(stream: &std::net::TcpStream, nodelay: bool) -> io::Result<()> {
    stream.set_nodelay(nodelay)
}

#[cfg(target_os = "wasi")]
fn stream_set_nodelay(_stream: &backend::TcpStream, _nodelay: bool) -> io::Result<()> {
    // WasmEdge's socket extension has no TCP-level options.
    Ok(())
}

#[cfg(not(target_os = "wasi"))]
fn stream_write_vectored(
    stream: &std::net::TcpStream,
    bufs: &[io::IoSlice<'_>],
) -> io::Result<usize> {
    let mut stream = stream;
    stream.write_vectored(bufs)
}

#[cfg(target_os = "wasi")]
fn stream_write_vectored(
    stream: &backend::TcpStream,
    bufs: &[io::IoSlice<'_>],
) -> io::Result<usize> {
    // wasmedge_wasi_socket's `Write` has no `write_vectored` (std's default would send only
    // the first buffer); its socket's `send_vectored` is one `sock_send` with all of them.
    stream.as_ref().send_vectored(bufs, 0)
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.inner).read(buf)
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.inner).write(buf)
    }
    /// One send for all of `bufs`. TLS hands over a flight of records at once; sent one by
    /// one, Nagle's algorithm (which WasmEdge's socket API cannot turn off) would hold the
    /// second back until the first is acknowledged, ~40 ms a handshake.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        stream_write_vectored(&self.inner, bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        (&self.inner).flush()
    }
}

/// A UDP socket.
#[derive(Debug)]
pub struct UdpSocket {
    inner: backend::UdpSocket,
}

impl UdpSocket {
    /// Binds to the first of `addrs` that works; errors as for [`TcpListener::bind`].
    pub fn bind(addrs: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        try_each(addrs, |addr| {
            Ok(UdpSocket {
                inner: backend::UdpSocket::bind(addr).map_err(|error| bind_error(addr, error))?,
            })
        })
    }

    /// Sends one datagram to `addr`; returns the bytes sent.
    pub fn send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        self.inner.send_to(buf, addr)
    }

    /// Receives one datagram and the sender's address.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        #[cfg(target_os = "wasi")]
        return crate::wasmedge::recv_from(self.raw_fd(), buf);
        #[cfg(not(target_os = "wasi"))]
        return self.inner.recv_from(buf);
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        #[cfg(target_os = "wasi")]
        return crate::wasmedge::local_addr(self.raw_fd());
        #[cfg(not(target_os = "wasi"))]
        return self.inner.local_addr();
    }

    /// Switches between blocking and non-blocking sends and receives.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        udp_set_nonblocking(&self.inner, nonblocking)
    }
}

#[cfg(not(target_os = "wasi"))]
fn udp_set_nonblocking(socket: &std::net::UdpSocket, on: bool) -> io::Result<()> {
    socket.set_nonblocking(on)
}

#[cfg(target_os = "wasi")]
fn udp_set_nonblocking(socket: &backend::UdpSocket, on: bool) -> io::Result<()> {
    socket.as_ref().set_nonblocking(on)
}

/// The raw descriptor of a socket, for the event loop. Sealed: only this crate's sockets.
pub trait Source: sealed::Sealed {
    #[doc(hidden)]
    fn raw_fd(&self) -> std::os::fd::RawFd;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::TcpListener {}
    impl Sealed for super::TcpStream {}
    impl Sealed for super::UdpSocket {}
}

impl Source for TcpListener {
    fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.inner)
    }
}

impl Source for TcpStream {
    fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.inner)
    }
}

impl Source for UdpSocket {
    fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.inner)
    }
}

/// A registered descriptor named by its number, for the async reactor ([`crate::rt`]),
/// which applies interest changes after the socket's own turn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawSource(pub(crate) std::os::fd::RawFd);

impl sealed::Sealed for RawSource {}

impl Source for RawSource {
    fn raw_fd(&self) -> std::os::fd::RawFd {
        self.0
    }
}

// Non-blocking connect for the async runtime: start, wait for writability, then ask the
// socket how it went (`SO_ERROR`), as on POSIX. WasmEdge's `sock_connect` on a socket with
// `NONBLOCK` set returns `INPROGRESS` (WASI errno 26) like Linux's `EINPROGRESS`.
impl TcpStream {
    /// Starts connecting to `addr` on a new non-blocking socket; the connection may still be
    /// in progress when this returns (see [`TcpStream::take_error`]).
    pub(crate) fn connect_nonblocking(addr: SocketAddr) -> io::Result<TcpStream> {
        let inner = start_connect(addr)?;
        Ok(TcpStream { inner })
    }

    /// The pending error of the socket (`SO_ERROR`), clearing it: how a non-blocking connect
    /// ended once the socket turned writable. `Ok(None)` means no error.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        stream_take_error(&self.inner)
    }
}

fn connect_in_progress(error: &io::Error) -> bool {
    #[cfg(target_os = "wasi")]
    const IN_PROGRESS: i32 = 26;
    #[cfg(not(target_os = "wasi"))]
    const IN_PROGRESS: i32 = 115;
    error.kind() == io::ErrorKind::WouldBlock || error.raw_os_error() == Some(IN_PROGRESS)
}

#[cfg(not(target_os = "wasi"))]
fn start_connect(addr: SocketAddr) -> io::Result<std::net::TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(error) if connect_in_progress(&error) => {}
        Err(error) => return Err(error),
    }
    Ok(socket.into())
}

#[cfg(target_os = "wasi")]
fn start_connect(addr: SocketAddr) -> io::Result<backend::TcpStream> {
    use backend::socket::{AddressFamily, Socket, SocketType};
    let socket = Socket::new(AddressFamily::from(&addr), SocketType::Stream)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr) {
        Ok(()) => {}
        Err(error) if connect_in_progress(&error) => {}
        Err(error) => return Err(error),
    }
    Ok(backend::TcpStream::new(socket))
}

#[cfg(not(target_os = "wasi"))]
fn stream_take_error(stream: &std::net::TcpStream) -> io::Result<Option<io::Error>> {
    stream.take_error()
}

#[cfg(target_os = "wasi")]
fn stream_take_error(stream: &backend::TcpStream) -> io::Result<Option<io::Error>> {
    match stream.as_ref().take_error() {
        Ok(()) => Ok(None),
        Err(error) => Ok(Some(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_without_resolving() {
        assert_eq!(
            "127.0.0.1:80".to_socket_addrs().unwrap(),
            vec!["127.0.0.1:80".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(("::1", 8080).to_socket_addrs().unwrap()[0].port(), 8080);
        assert!("no-port".to_socket_addrs().is_err());
        assert!("host:notaport".to_socket_addrs().is_err());
    }

    #[test]
    fn wasmedge_lookup_errors_read_like_native_ones() {
        let error = lookup_error(io::Error::from_raw_os_error(84));
        assert_eq!(
            error.to_string(),
            "failed to lookup address information: Name or service not known"
        );
        let error = lookup_error(io::Error::from_raw_os_error(78));
        assert_eq!(
            error.to_string(),
            "failed to lookup address information: Temporary failure in name resolution"
        );
        // Anything else is left as it was.
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            lookup_error(refused).kind(),
            io::ErrorKind::ConnectionRefused
        );
    }

    #[test]
    fn a_port_in_use_is_named() {
        let taken = TcpListener::bind(("0.0.0.0", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let error = TcpListener::bind(("0.0.0.0", port)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        assert_eq!(error.to_string(), format!("port {port} is already in use"));

        let taken = UdpSocket::bind(("127.0.0.2", 0)).unwrap();
        let addr = taken.local_addr().unwrap();
        let error = UdpSocket::bind(addr).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        assert_eq!(error.to_string(), format!("{addr} is already in use"));
    }

    #[test]
    fn resolves_localhost_natively() {
        let addrs = resolve("localhost", 9).unwrap();
        assert!(addrs.iter().all(|a| a.port() == 9 && a.ip().is_loopback()));
    }
}
