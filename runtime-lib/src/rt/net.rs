//! Async sockets: [`AsyncTcpListener`], [`AsyncTcpStream`] (`futures_io::AsyncRead` and
//! `AsyncWrite`) and [`AsyncUdpSocket`], over the non-blocking sockets of [`crate::net`].
//!
//! Every operation is tried first; on `WouldBlock` the task leaves its waker with the
//! reactor and is woken when the socket is ready. A socket is registered with the runtime
//! that first waits on it (it may be created outside [`block_on`](super::block_on)); the
//! values are `Send` and `Sync`. Dropping a socket stops watching it, then closes it.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::executor::current;
use super::reactor::Direction;
use crate::net::{Shutdown, SocketAddr, Source, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};

/// A socket's place in a runtime's reactor, set the first time a task waits on it.
#[derive(Default)]
struct Registration {
    /// The runtime's id; 0 while unregistered.
    runtime: AtomicU64,
    key: AtomicUsize,
}

impl Registration {
    /// Runs `op` until it does not block; on `WouldBlock` waits for `direction`.
    fn poll_io<T>(
        &self,
        fd: RawFd,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<T>,
    ) -> Poll<io::Result<T>> {
        loop {
            match op() {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                outcome => return Poll::Ready(outcome),
            }
            return match self.wait(fd, cx, direction) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            };
        }
    }

    /// Leaves the task's waker for `direction` with the current runtime's reactor.
    fn wait(&self, fd: RawFd, cx: &mut Context<'_>, direction: Direction) -> io::Result<()> {
        let core = current().ok_or_else(|| {
            io::Error::other(
                "an async socket was used outside an async runtime; help: run the async code \
                 with wasock::rt::block_on",
            )
        })?;
        let mut reactor = core.reactor.borrow_mut();
        let key = self.key.load(Ordering::Acquire);
        let key = if self.runtime.load(Ordering::Acquire) == core.id && reactor.owns(key, fd) {
            key
        } else {
            // First wait, or first on this runtime (the one it was registered with is gone).
            let key = reactor.insert(fd);
            self.key.store(key, Ordering::Release);
            self.runtime.store(core.id, Ordering::Release);
            key
        };
        reactor.add_waker(key, direction, cx.waker())
    }

    /// Stops watching the socket (before it is closed).
    fn release(&self, fd: RawFd) {
        let runtime = self.runtime.swap(0, Ordering::AcqRel);
        if runtime == 0 {
            return;
        }
        if let Some(core) = current().filter(|core| core.id == runtime) {
            let key = self.key.load(Ordering::Acquire);
            let wakers = match core.reactor.try_borrow_mut() {
                Ok(mut reactor) if reactor.owns(key, fd) => reactor.remove(key),
                _ => Vec::new(),
            };
            drop(wakers);
        }
    }
}

/// A TCP socket accepting connections, for async code.
pub struct AsyncTcpListener {
    registration: Registration,
    inner: TcpListener,
}

impl AsyncTcpListener {
    /// Binds to the first of `addrs` that works (as [`TcpListener::bind`], backlog 1024).
    pub fn bind(addrs: impl ToSocketAddrs) -> io::Result<AsyncTcpListener> {
        AsyncTcpListener::from_listener(TcpListener::bind(addrs)?)
    }

    /// Takes over a bound listener, switching it to non-blocking mode.
    pub fn from_listener(listener: TcpListener) -> io::Result<AsyncTcpListener> {
        listener.set_nonblocking(true)?;
        Ok(AsyncTcpListener {
            registration: Registration::default(),
            inner: listener,
        })
    }

    /// Waits for a connection and accepts it.
    pub async fn accept(&self) -> io::Result<(AsyncTcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Accepts a waiting connection, or leaves the task's waker and returns `Pending`.
    pub fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(AsyncTcpStream, SocketAddr)>> {
        let fd = self.inner.raw_fd();
        self.registration
            .poll_io(fd, cx, Direction::Read, || self.inner.accept_nonblocking())
            .map_ok(|(stream, peer)| (AsyncTcpStream::from_nonblocking(stream), peer))
    }

    /// The bound address (with the real port after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Drop for AsyncTcpListener {
    fn drop(&mut self) {
        self.registration.release(self.inner.raw_fd());
    }
}

impl fmt::Debug for AsyncTcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncTcpListener")
            .field("inner", &self.inner)
            .finish()
    }
}

/// A TCP connection for async code: `futures_io::AsyncRead` and `AsyncWrite` (also on
/// `&AsyncTcpStream`, so one task may read while another writes).
pub struct AsyncTcpStream {
    registration: Registration,
    inner: TcpStream,
}

impl AsyncTcpStream {
    /// Connects to the first of `addrs` that accepts, without blocking the thread (names
    /// are resolved first, which may block briefly). WasmEdge connects over IPv4 only.
    pub async fn connect(addrs: impl ToSocketAddrs) -> io::Result<AsyncTcpStream> {
        let mut last_error = None;
        for addr in addrs.to_socket_addrs()? {
            match AsyncTcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "no socket address to connect to",
            )
        }))
    }

    /// [`connect`](Self::connect), failing with `TimedOut` after `timeout`.
    pub async fn connect_timeout(
        addrs: impl ToSocketAddrs,
        timeout: Duration,
    ) -> io::Result<AsyncTcpStream> {
        match super::timeout(timeout, AsyncTcpStream::connect(addrs)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect timed out after {timeout:?}"),
            )),
        }
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<AsyncTcpStream> {
        let stream = AsyncTcpStream::from_nonblocking(TcpStream::connect_nonblocking(addr)?);
        poll_fn(|cx| stream.poll_connected(cx)).await?;
        let _ = stream.inner.set_nodelay(true);
        Ok(stream)
    }

    /// Whether the non-blocking connect finished: its error, or `Ok` once connected.
    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Some(error) = self.inner.take_error()? {
                return Poll::Ready(Err(error));
            }
            match self.inner.peer_addr() {
                Ok(_) => return Poll::Ready(Ok(())),
                Err(error) if error.kind() == io::ErrorKind::NotConnected => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
            return match self
                .registration
                .wait(self.inner.raw_fd(), cx, Direction::Write)
            {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            };
        }
    }

    /// Takes over a connected stream, switching it to non-blocking mode.
    pub fn from_stream(stream: TcpStream) -> io::Result<AsyncTcpStream> {
        stream.set_nonblocking(true)?;
        Ok(AsyncTcpStream::from_nonblocking(stream))
    }

    pub(crate) fn from_nonblocking(stream: TcpStream) -> AsyncTcpStream {
        AsyncTcpStream {
            registration: Registration::default(),
            inner: stream,
        }
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Shuts down the read half, the write half or both (at once; it does not block).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// Disables Nagle's algorithm natively; a no-op on WasmEdge.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// Reads into `buf`, waiting until data or EOF (`Ok(0)`) arrives.
    pub fn poll_read_ref(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.registration
            .poll_io(self.inner.raw_fd(), cx, Direction::Read, || {
                (&self.inner).read(buf)
            })
    }

    /// Writes from `buf`, waiting until the socket takes at least one byte.
    pub fn poll_write_ref(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.registration
            .poll_io(self.inner.raw_fd(), cx, Direction::Write, || {
                (&self.inner).write(buf)
            })
    }

    /// Writes from `bufs` in one send, waiting until the socket takes at least one byte.
    pub fn poll_write_vectored_ref(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.registration
            .poll_io(self.inner.raw_fd(), cx, Direction::Write, || {
                (&self.inner).write_vectored(bufs)
            })
    }
}

impl Drop for AsyncTcpStream {
    fn drop(&mut self) {
        self.registration.release(self.inner.raw_fd());
    }
}

impl fmt::Debug for AsyncTcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncTcpStream")
            .field("inner", &self.inner)
            .finish()
    }
}

impl AsyncRead for AsyncTcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_ref(cx, buf)
    }
}

impl AsyncWrite for AsyncTcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_ref(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down the write half (FIN); reading stays possible.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(shutdown_write(&self.inner))
    }
}

impl AsyncRead for &AsyncTcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_ref(cx, buf)
    }
}

impl AsyncWrite for &AsyncTcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_ref(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(shutdown_write(&self.inner))
    }
}

/// A peer that already went away makes shutting down moot, not an error.
fn shutdown_write(stream: &TcpStream) -> io::Result<()> {
    match stream.shutdown(Shutdown::Write) {
        Err(error) if error.kind() == io::ErrorKind::NotConnected => Ok(()),
        outcome => outcome,
    }
}

/// A UDP socket for async code.
pub struct AsyncUdpSocket {
    registration: Registration,
    inner: UdpSocket,
}

impl AsyncUdpSocket {
    /// Binds to the first of `addrs` that works.
    pub fn bind(addrs: impl ToSocketAddrs) -> io::Result<AsyncUdpSocket> {
        let inner = UdpSocket::bind(addrs)?;
        inner.set_nonblocking(true)?;
        Ok(AsyncUdpSocket {
            registration: Registration::default(),
            inner,
        })
    }

    /// Sends one datagram to `addr`; returns the bytes sent.
    pub async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send_to(cx, buf, addr)).await
    }

    /// Receives one datagram and its sender's address.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Poll form of [`send_to`](Self::send_to).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        addr: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.registration
            .poll_io(self.inner.raw_fd(), cx, Direction::Write, || {
                self.inner.send_to(buf, addr)
            })
    }

    /// Poll form of [`recv_from`](Self::recv_from).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.registration
            .poll_io(self.inner.raw_fd(), cx, Direction::Read, || {
                self.inner.recv_from(buf)
            })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Drop for AsyncUdpSocket {
    fn drop(&mut self) {
        self.registration.release(self.inner.raw_fd());
    }
}

impl fmt::Debug for AsyncUdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncUdpSocket")
            .field("inner", &self.inner)
            .finish()
    }
}

// The sockets are used from `Send` futures (an axum handler's, say).
const _: () = {
    fn check<T: Send + Sync>() {}
    #[allow(dead_code)]
    fn all() {
        check::<AsyncTcpStream>();
        check::<AsyncTcpListener>();
        check::<AsyncUdpSocket>();
    }
};
