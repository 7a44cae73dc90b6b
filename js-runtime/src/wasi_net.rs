//! Module `wasi_net`: TCP for scripts, as WasmEdge's QuickJS runtime names it.
//!
//! - `connect(addr[, timeout_ms])` and `WasiTcpConn.connect(...)` → `Promise<WasiTcpConn>`;
//! - `new WasiTcpServer(port | "ip:port")` listens (on `0.0.0.0:port` for a number, as
//!   WasmEdge's runtime does), `accept([timeout_ms])` → `Promise<WasiTcpConn>`, `local()`, `close()`;
//! - a `WasiTcpConn` has `read([timeout_ms])` → `Promise<ArrayBuffer>` (empty at end of
//!   stream), `write(string | ArrayBuffer | TypedArray)`, `peer()`, `local()`, `close()`;
//! - `WasiTlsConn.connect(host, port[, timeout_ms])` → `Promise<WasiTcpConn>` over TLS
//!   (wasmedge-quickjs's name and call; feature `tls`): the certificate is verified for
//!   `host` against Mozilla's roots or `SSL_CERT_FILE`, and the connection has the methods
//!   above, `close()` sending TLS's close_notify first.
//!
//! `write` does not wait: it sends what the socket takes at once and leaves the rest to a
//! background task, in order, so the reference scripts' unawaited `cs.write(...)` works; a
//! `close()` after writes closes the connection once they are sent. Failures reject with an
//! `Error` whose message names the operation and the address (`read from 10.0.0.1:80: …`).
//! After a read error the connection reports end of stream, so a script looping on
//! `read()` inside `try` ends instead of spinning; a timeout leaves the connection usable.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rquickjs::class::Trace;
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::prelude::Opt;
use rquickjs::{Class, Ctx, Exception, JsLifetime, Promise, Result, Value};
use wasock::net::{SocketAddr, TcpListener};
use wasock::rt::{self, AsyncTcpListener, AsyncTcpStream};
#[cfg(feature = "tls")]
use wasock::AsyncTlsStream;

use crate::bytes::{array_buffer, bytes_of};

/// Bytes asked of the socket per `read()`.
const READ_CHUNK: usize = 64 * 1024;

/// The module definition registered as `wasi_net`.
pub struct WasiNet;

impl ModuleDef for WasiNet {
    fn declare(decl: &Declarations) -> Result<()> {
        decl.declare("connect")?;
        decl.declare("WasiTcpConn")?;
        decl.declare("WasiTcpServer")?;
        decl.declare("WasiTlsConn")?;
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        exports.export(
            "connect",
            rquickjs::Function::new(ctx.clone(), WasiTcpConn::connect)?.with_name("connect")?,
        )?;
        exports.export(
            "WasiTcpConn",
            Class::<WasiTcpConn>::create_constructor(ctx)?,
        )?;
        exports.export(
            "WasiTcpServer",
            Class::<WasiTcpServer>::create_constructor(ctx)?,
        )?;
        exports.export(
            "WasiTlsConn",
            Class::<WasiTlsConn>::create_constructor(ctx)?,
        )?;
        Ok(())
    }
}

/// An optional timeout argument in milliseconds: `undefined`/`null` for none.
pub fn timeout_arg<'js>(
    ctx: &Ctx<'js>,
    value: Option<Value<'js>>,
    what: &str,
) -> Result<Option<u64>> {
    let Some(value) = value.filter(|value| !value.is_undefined() && !value.is_null()) else {
        return Ok(None);
    };
    match value.as_number() {
        Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(Some(ms as u64)),
        _ => Err(Exception::throw_type(
            ctx,
            &format!("{what}: the timeout must be a number of milliseconds >= 0"),
        )),
    }
}

/// Awaits `future`, failing with `TimedOut` after `timeout_ms` when given.
async fn within<T>(
    timeout_ms: Option<u64>,
    future: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match timeout_ms {
        None => future.await,
        Some(ms) => match rt::timeout(Duration::from_millis(ms), future).await {
            Ok(outcome) => outcome,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("timed out after {ms} ms"),
            )),
        },
    }
}

/// What a connection runs over.
enum Transport {
    Tcp(AsyncTcpStream),
    /// TLS over TCP. A `RefCell` because reads and the background writer take turns: each
    /// borrows it for one poll only, never across an await.
    #[cfg(feature = "tls")]
    Tls(RefCell<AsyncTlsStream>),
}

impl Transport {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self {
            Transport::Tcp(stream) => stream.poll_read_ref(cx, buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => futures_io::AsyncRead::poll_read(
                std::pin::Pin::new(&mut *tls.borrow_mut()),
                cx,
                buf,
            ),
        }
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Transport::Tcp(stream) => stream.poll_write_ref(cx, buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => futures_io::AsyncWrite::poll_write(
                std::pin::Pin::new(&mut *tls.borrow_mut()),
                cx,
                buf,
            ),
        }
    }

    /// Waits until what was written is on the wire (TLS keeps records until the socket
    /// takes them; TCP keeps nothing).
    #[cfg_attr(not(feature = "tls"), allow(unused_variables))]
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Transport::Tcp(_) => Poll::Ready(Ok(())),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => {
                futures_io::AsyncWrite::poll_flush(std::pin::Pin::new(&mut *tls.borrow_mut()), cx)
            }
        }
    }

    /// Writes may happen at once, from `write()` itself: only on TCP, where nothing is
    /// left behind. TLS writes go through the background task, which also flushes.
    fn writes_at_once(&self) -> bool {
        matches!(self, Transport::Tcp(_))
    }

    fn shutdown(&self) {
        match self {
            Transport::Tcp(stream) => {
                let _ = stream.shutdown(Shutdown::Both);
            }
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => {
                let mut tls = tls.borrow_mut();
                // close_notify, best effort: the outbox is sent by now, so the socket
                // takes the one small record at once.
                let mut cx = Context::from_waker(Waker::noop());
                let _ = futures_io::AsyncWrite::poll_close(std::pin::Pin::new(&mut *tls), &mut cx);
                let _ = tls.get_ref().shutdown(Shutdown::Both);
            }
        }
    }
}

/// The shared state of one connection: the JS object and the tasks reading or writing
/// for it each hold one reference; the socket closes when the last goes.
struct Conn {
    transport: Transport,
    peer: String,
    local: String,
    /// Bytes `write` accepted that the socket has not taken yet, in order.
    outbox: RefCell<Vec<u8>>,
    /// A background task is sending `outbox`.
    writing: Cell<bool>,
    /// `close()` was called: no more writes; shut down once `outbox` is sent.
    closing: Cell<bool>,
    /// A read or write failed: later reads report end of stream, writes throw.
    failed: RefCell<Option<String>>,
}

impl Conn {
    fn new(stream: AsyncTcpStream) -> Rc<Conn> {
        let _ = stream.set_nodelay(true);
        let (peer, local) = addresses(&stream);
        Conn::over(Transport::Tcp(stream), peer, local)
    }

    #[cfg(feature = "tls")]
    fn tls(tls: AsyncTlsStream) -> Rc<Conn> {
        let (peer, local) = addresses(tls.get_ref());
        Conn::over(Transport::Tls(RefCell::new(tls)), peer, local)
    }

    fn over(transport: Transport, peer: String, local: String) -> Rc<Conn> {
        Rc::new(Conn {
            transport,
            peer,
            local,
            outbox: RefCell::new(Vec::new()),
            writing: Cell::new(false),
            closing: Cell::new(false),
            failed: RefCell::new(None),
        })
    }

    /// Writes from `bytes` what the socket takes without waiting; how much that was.
    fn write_now(&self, bytes: &[u8]) -> io::Result<usize> {
        if !self.transport.writes_at_once() {
            return Ok(0);
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut written = 0;
        while written < bytes.len() {
            match self.transport.poll_write(&mut cx, &bytes[written..]) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => written += n,
                Poll::Ready(Err(error)) => return Err(error),
                Poll::Pending => break,
            }
        }
        Ok(written)
    }

    fn fail(&self, message: String) {
        self.failed.borrow_mut().get_or_insert(message);
    }

    fn shutdown(&self) {
        self.transport.shutdown();
    }
}

/// The peer's and this end's addresses as `ip:port` (`?` where the socket cannot say).
fn addresses(stream: &AsyncTcpStream) -> (String, String) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    let local = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    (peer, local)
}

/// Sends `conn.outbox` until it is empty, then shuts the connection down if `close()` was
/// called meanwhile.
async fn drain_outbox(conn: Rc<Conn>) {
    loop {
        let pending = std::mem::take(&mut *conn.outbox.borrow_mut());
        if pending.is_empty() {
            break;
        }
        let mut sent = 0;
        while sent < pending.len() {
            match poll_fn(|cx| conn.transport.poll_write(cx, &pending[sent..])).await {
                Ok(0) => {
                    conn.fail(format!("write to {}: the peer stopped reading", conn.peer));
                    break;
                }
                Ok(n) => sent += n,
                Err(error) => {
                    conn.fail(format!("write to {}: {error}", conn.peer));
                    break;
                }
            }
        }
        if conn.failed.borrow().is_none() {
            if let Err(error) = poll_fn(|cx| conn.transport.poll_flush(cx)).await {
                conn.fail(format!("write to {}: {error}", conn.peer));
            }
        }
        if conn.failed.borrow().is_some() {
            conn.outbox.borrow_mut().clear();
            break;
        }
    }
    conn.writing.set(false);
    if conn.closing.get() {
        conn.shutdown();
    }
}

/// A TCP connection (`wasi_net.WasiTcpConn`), from `connect` or `WasiTcpServer.accept`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct WasiTcpConn {
    #[qjs(skip_trace)]
    conn: Rc<Conn>,
}

#[rquickjs::methods]
impl WasiTcpConn {
    /// Not constructible from scripts: use `connect` or `accept`.
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'_>) -> Result<Self> {
        Err(Exception::throw_type(
            &ctx,
            "WasiTcpConn cannot be constructed: use wasi_net.connect(addr) or WasiTcpServer.accept()",
        ))
    }

    /// `connect("host:port"[, timeout_ms])` → `Promise<WasiTcpConn>`.
    #[qjs(static)]
    pub fn connect<'js>(
        ctx: Ctx<'js>,
        addr: String,
        timeout: Opt<Value<'js>>,
    ) -> Result<Promise<'js>> {
        let timeout_ms = timeout_arg(&ctx, timeout.0, &format!("connect to {addr}"))?;
        let future_ctx = ctx.clone();
        Promise::wrap_future(&ctx, async move {
            let ctx = future_ctx;
            match within(timeout_ms, AsyncTcpStream::connect(addr.as_str())).await {
                Ok(stream) => Class::instance(
                    ctx,
                    WasiTcpConn {
                        conn: Conn::new(stream),
                    },
                ),
                Err(error) => Err(Exception::throw_message(
                    &ctx,
                    &format!("connect to {addr}: {error}"),
                )),
            }
        })
    }

    /// `read([timeout_ms])` → `Promise<ArrayBuffer>`: the next bytes, empty at end of stream.
    pub fn read<'js>(&self, ctx: Ctx<'js>, timeout: Opt<Value<'js>>) -> Result<Promise<'js>> {
        let conn = self.conn.clone();
        let timeout_ms = timeout_arg(&ctx, timeout.0, &format!("read from {}", conn.peer))?;
        let future_ctx = ctx.clone();
        Promise::wrap_future(&ctx, async move {
            let ctx = future_ctx;
            if conn.failed.borrow().is_some() {
                return array_buffer(&ctx, Vec::new());
            }
            let mut buf = vec![0u8; READ_CHUNK];
            let read = within(
                timeout_ms,
                poll_fn(|cx| conn.transport.poll_read(cx, &mut buf)),
            )
            .await;
            match read {
                Ok(n) => {
                    buf.truncate(n);
                    array_buffer(&ctx, buf)
                }
                Err(error) => {
                    let message = format!("read from {}: {error}", conn.peer);
                    if error.kind() != io::ErrorKind::TimedOut {
                        conn.fail(message.clone());
                    }
                    Err(Exception::throw_message(&ctx, &message))
                }
            }
        })
    }

    /// `write(data)`: queues `data` (a string as UTF-8, or bytes) to be sent in order;
    /// returns the number of bytes queued. Throws when the connection is closed or failed.
    pub fn write<'js>(&self, ctx: Ctx<'js>, data: Value<'js>) -> Result<usize> {
        let conn = &self.conn;
        let what = format!("write to {}", conn.peer);
        let bytes = bytes_of(&ctx, &data, &what)?;
        if let Some(failure) = conn.failed.borrow().as_ref() {
            return Err(Exception::throw_message(&ctx, failure));
        }
        if conn.closing.get() {
            return Err(Exception::throw_message(
                &ctx,
                &format!("{what}: the connection is closed"),
            ));
        }
        let mut rest = &bytes[..];
        if !conn.writing.get() {
            match conn.write_now(&bytes) {
                Ok(n) => rest = &bytes[n..],
                Err(error) => {
                    let message = format!("{what}: {error}");
                    conn.fail(message.clone());
                    return Err(Exception::throw_message(&ctx, &message));
                }
            }
        }
        if !rest.is_empty() {
            conn.outbox.borrow_mut().extend_from_slice(rest);
            if !conn.writing.replace(true) {
                drop(rt::spawn(drain_outbox(conn.clone())));
            }
        }
        Ok(bytes.len())
    }

    /// The peer's address, `ip:port`.
    pub fn peer(&self) -> String {
        self.conn.peer.clone()
    }

    /// This end's address, `ip:port`.
    pub fn local(&self) -> String {
        self.conn.local.clone()
    }

    /// Closes the connection once queued writes are sent; a pending `read` then sees end
    /// of stream. Closing twice does nothing.
    pub fn close(&self) {
        if self.conn.closing.replace(true) {
            return;
        }
        if !self.conn.writing.get() {
            self.conn.shutdown();
        }
    }
}

/// `wasi_net.WasiTlsConn`: only its static `connect`, as wasmedge-quickjs's scripts call
/// it; the connection it gives is a [`WasiTcpConn`] over TLS.
#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct WasiTlsConn {}

#[rquickjs::methods]
impl WasiTlsConn {
    /// Not constructible from scripts: use `WasiTlsConn.connect(host, port)`.
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'_>) -> Result<Self> {
        Err(Exception::throw_type(
            &ctx,
            "WasiTlsConn cannot be constructed: use wasi_net.WasiTlsConn.connect(host, port)",
        ))
    }

    /// `connect(host, port[, timeout_ms])` → `Promise<WasiTcpConn>` over TLS, verified for
    /// `host` (a name, also sent as SNI, or an IP address). `port` is a number or a numeric
    /// string. Rejects naming `host:port` and the cause (the TLS failure's text ends with
    /// `help: …`).
    #[qjs(static)]
    pub fn connect<'js>(
        ctx: Ctx<'js>,
        host: String,
        port: Value<'js>,
        timeout: Opt<Value<'js>>,
    ) -> Result<Promise<'js>> {
        let what = format!("TLS connect to {host}");
        let port = match (port.as_number(), port.as_string()) {
            (Some(n), _) if (0.0..=65535.0).contains(&n) && n.fract() == 0.0 => Some(n as u16),
            (_, Some(text)) => text.to_string()?.parse::<u16>().ok(),
            _ => None,
        };
        let Some(port) = port else {
            return Err(Exception::throw_range(
                &ctx,
                &format!("{what}: the port must be a number in 0..=65535"),
            ));
        };
        let timeout_ms = timeout_arg(&ctx, timeout.0, &what)?;
        let future_ctx = ctx.clone();
        Promise::wrap_future(&ctx, async move {
            let ctx = future_ctx;
            #[cfg(feature = "tls")]
            let connected = within(timeout_ms, AsyncTlsStream::connect(&host, port))
                .await
                .map(Conn::tls);
            #[cfg(not(feature = "tls"))]
            let connected: io::Result<Rc<Conn>> = {
                let _ = timeout_ms;
                Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "this runtime was built without its `tls` feature",
                ))
            };
            match connected {
                Ok(conn) => Class::instance(ctx, WasiTcpConn { conn }),
                Err(error) => Err(Exception::throw_message(
                    &ctx,
                    &format!("TLS connect to {host}:{port}: {error}"),
                )),
            }
        })
    }
}

/// A listening socket (`wasi_net.WasiTcpServer`).
#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct WasiTcpServer {
    #[qjs(skip_trace)]
    listener: Option<Rc<AsyncTcpListener>>,
    #[qjs(skip_trace)]
    addr: String,
}

#[rquickjs::methods]
impl WasiTcpServer {
    /// `new WasiTcpServer(port)` listens on `0.0.0.0:port` (WasmEdge's runtime does the
    /// same); `new WasiTcpServer("ip:port")` on that address. Throws when it cannot listen.
    #[qjs(constructor)]
    pub fn new<'js>(ctx: Ctx<'js>, at: Value<'js>) -> Result<Self> {
        let addr = if let Some(port) = at.as_number() {
            if !(0.0..=65535.0).contains(&port) || port.fract() != 0.0 {
                return Err(Exception::throw_range(
                    &ctx,
                    &format!("WasiTcpServer: port {port} is not in 0..=65535"),
                ));
            }
            format!("0.0.0.0:{port}")
        } else if let Some(text) = at.as_string() {
            text.to_string()?
        } else {
            return Err(Exception::throw_type(
                &ctx,
                "WasiTcpServer: expected a port number or \"ip:port\"",
            ));
        };
        let listen = || -> io::Result<(AsyncTcpListener, SocketAddr)> {
            let parsed: SocketAddr = addr.parse().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "not an ip:port address")
            })?;
            let listener = AsyncTcpListener::from_listener(TcpListener::bind(parsed)?)?;
            let local = listener.local_addr()?;
            Ok((listener, local))
        };
        match listen() {
            Ok((listener, local)) => Ok(WasiTcpServer {
                listener: Some(Rc::new(listener)),
                addr: local.to_string(),
            }),
            Err(error) => Err(Exception::throw_message(
                &ctx,
                &format!("listen on {addr}: {error}"),
            )),
        }
    }

    /// `accept([timeout_ms])` → `Promise<WasiTcpConn>`: the next connection.
    pub fn accept<'js>(&self, ctx: Ctx<'js>, timeout: Opt<Value<'js>>) -> Result<Promise<'js>> {
        let what = format!("accept on {}", self.addr);
        let timeout_ms = timeout_arg(&ctx, timeout.0, &what)?;
        let listener = self.listener.clone();
        let future_ctx = ctx.clone();
        Promise::wrap_future(&ctx, async move {
            let ctx = future_ctx;
            let Some(listener) = listener else {
                return Err(Exception::throw_message(
                    &ctx,
                    &format!("{what}: the server is closed"),
                ));
            };
            match within(timeout_ms, listener.accept()).await {
                Ok((stream, _)) => Class::instance(
                    ctx,
                    WasiTcpConn {
                        conn: Conn::new(stream),
                    },
                ),
                Err(error) => Err(Exception::throw_message(&ctx, &format!("{what}: {error}"))),
            }
        })
    }

    /// The address listened on, `ip:port` (the real port when 0 was asked for).
    pub fn local(&self) -> String {
        self.addr.clone()
    }

    /// Stops listening once no `accept` is pending; later `accept` calls reject.
    pub fn close(&mut self) {
        self.listener = None;
    }
}
