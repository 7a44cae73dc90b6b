//! HTTP/1.1 servers: [`Server`] answers one connection at a time with blocking I/O;
//! [`PollServer`] answers many keep-alive connections on one thread over the [`EventLoop`].
//!
//! Both take a handler `Fn(Request<Vec<u8>>) -> Response<Vec<u8>>`, answer pipelined requests
//! in order, reply 400/413/431 to bad requests and close, and close connections that stay
//! idle or take too long to send a request. Neither panics on anything a peer sends.

use std::io::{self, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[cfg(doc)]
use crate::app::announce;
use crate::app::announce_scheme;
use crate::event::{Event, EventLoop, Interest, Token};
use crate::http::{
    encode_response, response_keeps_alive, HttpError, Limits, Method, Request, RequestDecoder,
    RequestEvent, Response, ResponseContext, StatusCode, Version, CONTINUE_RESPONSE,
};
use crate::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};

/// How the servers treat their peers. `ServerConfig::default()` suits most apps.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Bounds on request heads and bodies (violations answer 431 or 413).
    pub limits: Limits,
    /// A connection with no request in progress and nothing to send is closed after this.
    /// Also bounds how long a peer that does not read its responses may stall a connection.
    pub idle_timeout: Duration,
    /// Once a request's first byte arrives, the whole request (head and body) must arrive
    /// within this, or the server answers 408 and closes the connection.
    pub header_read_timeout: Duration,
    /// At most this many open connections (poll server); further peers wait in the backlog.
    pub max_connections: usize,
    /// A connection whose unsent responses exceed this many bytes is not read from until
    /// its peer catches up, so a peer that does not read cannot make the server buffer
    /// without bound.
    pub max_buffered_output: usize,
    /// Serve HTTPS with this certificate and key (feature `tls`); `None` serves plain HTTP.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsServerConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            idle_timeout: Duration::from_secs(60),
            header_read_timeout: Duration::from_secs(30),
            max_connections: 16_384,
            max_buffered_output: 1024 * 1024,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ServerConfig {
    /// Sets [`ServerConfig::limits`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Sets [`ServerConfig::idle_timeout`].
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }
    /// Sets [`ServerConfig::header_read_timeout`].
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }
    /// Sets [`ServerConfig::max_connections`].
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }
    /// Sets [`ServerConfig::max_buffered_output`].
    pub fn max_buffered_output(mut self, bytes: usize) -> Self {
        self.max_buffered_output = bytes.max(1);
        self
    }
    /// Serves HTTPS with `tls` (feature `tls`; see [`crate::tls::TlsServerConfig`]).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::TlsServerConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Whether the server speaks TLS: its URLs are `https://`.
    pub fn serves_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        return false;
    }
}

/// The TLS side of a served connection: plaintext between the socket and the codec, or
/// nothing (plain HTTP, and always without feature `tls`, where the code compiles away).
pub(crate) struct Wire {
    #[cfg(feature = "tls")]
    session: Option<Box<crate::tls::ServerSession>>,
}

impl Wire {
    /// A new connection's side: a TLS session when `config` serves TLS.
    pub(crate) fn accept(config: &ServerConfig) -> io::Result<Wire> {
        #[cfg(feature = "tls")]
        return Ok(Wire {
            session: match &config.tls {
                Some(tls) => Some(Box::new(crate::tls::ServerSession::new(tls)?)),
                None => None,
            },
        });
        #[cfg(not(feature = "tls"))]
        {
            let _ = config;
            Ok(Wire {})
        }
    }

    /// Reads request bytes (see `ServerSession::read`; `max_socket_reads` bounds the reads
    /// of the socket one call makes for TLS).
    pub(crate) fn read(
        &mut self,
        io: &mut (impl Read + Write),
        buf: &mut [u8],
        max_socket_reads: usize,
    ) -> io::Result<usize> {
        #[cfg(feature = "tls")]
        if let Some(session) = &mut self.session {
            return session.read(io, buf, max_socket_reads);
        }
        let _ = max_socket_reads;
        io.read(buf)
    }

    /// Writes response bytes (see `ServerSession::write`).
    pub(crate) fn write(&mut self, io: &mut impl Write, buf: &[u8]) -> io::Result<usize> {
        #[cfg(feature = "tls")]
        if let Some(session) = &mut self.session {
            return session.write(io, buf);
        }
        io.write(buf)
    }

    /// Writes out TLS records still pending; `WouldBlock` when the socket took only part.
    pub(crate) fn flush(&mut self, io: &mut impl Write) -> io::Result<()> {
        #[cfg(feature = "tls")]
        if let Some(session) = &mut self.session {
            return session.flush(io);
        }
        let _ = io;
        Ok(())
    }

    /// Whether TLS records wait for the socket to take them.
    pub(crate) fn wants_write(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(session) = &self.session {
            return session.wants_write();
        }
        false
    }

    /// Whether a TLS handshake is still running.
    pub(crate) fn is_handshaking(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(session) = &self.session {
            return session.is_handshaking();
        }
        false
    }

    /// Whether the last TLS read stopped at its bound with the socket maybe still readable
    /// (an async caller must poll again: no waker was left with the reactor).
    pub(crate) fn read_again(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(session) = &self.session {
            return !session.socket_blocked;
        }
        false
    }

    /// Before the socket's write half is shut: TLS's close_notify, written out
    /// (`WouldBlock` until the socket took it all). A handshake that never finished gets none.
    pub(crate) fn close(&mut self, io: &mut impl Write) -> io::Result<()> {
        #[cfg(feature = "tls")]
        if let Some(session) = &mut self.session {
            if session.is_handshaking() {
                return Ok(());
            }
            return session.close(io);
        }
        let _ = io;
        Ok(())
    }

    /// Writes all of `bytes` over a blocking socket, TLS records included.
    fn write_all(&mut self, mut io: impl Write, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match self.write(&mut io, bytes) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        self.flush(&mut io)
    }
}

/// Asks a running server to stop: it stops accepting, finishes what is in flight (briefly)
/// and returns from `run`. Cheap to clone; usable from any thread.
#[derive(Debug, Clone, Default)]
pub struct ShutdownHandle {
    requested: Arc<AtomicBool>,
}

impl ShutdownHandle {
    /// Requests the shutdown; the server notices within a fraction of a second.
    pub fn shutdown(&self) {
        self.requested.store(true, Ordering::SeqCst);
    }

    /// Whether a shutdown was requested.
    pub fn is_shutdown(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}

/// How often a waiting server looks at its shutdown flag and timeouts.
pub(crate) const TICK: Duration = Duration::from_millis(100);
/// How long a closing connection keeps draining what its peer still sends, so that the
/// kernel does not reset the connection and destroy our last response before it is read.
pub(crate) const LINGER: Duration = Duration::from_secs(2);
/// How long accepting pauses after the process ran out of descriptors or memory.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long the blocking server waits for a new connection's first request before it lets
/// a waiting peer take the connection's turn.
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);
/// Once shut down, in-flight connections get this long to finish.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// Binds a [`Server`] with default settings on `addr`, prints `listening on URL`
/// ([`announce`]) and answers requests one connection at a time until the process ends.
pub fn serve<H>(addr: impl ToSocketAddrs, handler: H) -> io::Result<()>
where
    H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
{
    let server = Server::bind(addr, ServerConfig::default())?;
    server.announce()?;
    server.run(handler)
}

/// Binds a [`PollServer`] with default settings on `addr`, prints `listening on URL`
/// ([`announce`]) and answers many connections at once until the process ends.
pub fn serve_poll<H>(addr: impl ToSocketAddrs, handler: H) -> io::Result<()>
where
    H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
{
    let server = PollServer::bind(addr, ServerConfig::default())?;
    server.announce()?;
    server.run(handler)
}

/// Blocking HTTP server: one connection at a time, simple and correct.
///
/// While a keep-alive connection sits idle between requests and another peer is waiting to
/// connect, the idle connection is closed so that one client cannot hold the server (a new
/// connection first gets a second to send its first request).
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    config: ServerConfig,
    shutdown: ShutdownHandle,
}

/// What both servers do before `run`: bind, report the address, hand out a shutdown handle.
macro_rules! listening_server {
    ($server:ident) => {
        impl $server {
            /// Binds the listening socket.
            pub fn bind(addr: impl ToSocketAddrs, config: ServerConfig) -> io::Result<$server> {
                Ok($server {
                    listener: TcpListener::bind(addr)?,
                    config,
                    shutdown: ShutdownHandle::default(),
                })
            }

            /// The bound address (with the real port after binding port 0).
            pub fn local_addr(&self) -> io::Result<SocketAddr> {
                self.listener.local_addr()
            }

            /// Prints `listening on URL` on stdout ([`announce`]), `https://` when the
            /// server's [`ServerConfig`] serves TLS.
            pub fn announce(&self) -> io::Result<()> {
                let scheme = if self.config.serves_tls() {
                    "https"
                } else {
                    "http"
                };
                announce_scheme(scheme, self.local_addr()?)
            }

            #[doc = concat!("A handle that stops [`", stringify!($server), "::run`].")]
            pub fn shutdown_handle(&self) -> ShutdownHandle {
                self.shutdown.clone()
            }
        }
    };
}

listening_server!(Server);
listening_server!(PollServer);

impl PollServer {
    /// The listener, settings and shutdown flag, for the async server ([`crate::rt`]).
    pub(crate) fn into_parts(self) -> (TcpListener, ServerConfig, ShutdownHandle) {
        (self.listener, self.config, self.shutdown)
    }
}

impl Server {
    /// Answers requests until shut down. Accept errors are logged to stderr and the loop
    /// continues; only a failure of the readiness wait itself ends it with an error.
    pub fn run<H>(self, handler: H) -> io::Result<()>
    where
        H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
    {
        // Accepting through the event loop lets the server notice shutdown and other waiting
        // peers; accepted connections are switched to blocking I/O.
        self.listener.set_nonblocking(true)?;
        let mut events = EventLoop::new()?;
        events.register(&self.listener, LISTENER, Interest::READABLE)?;
        let mut ready = Vec::new();
        // One read buffer for every connection, served one after another.
        let mut input = vec![0u8; READ_CHUNK];
        while !self.shutdown.is_shutdown() {
            events.wait(&mut ready, Some(TICK))?;
            if ready.is_empty() {
                continue;
            }
            match self.listener.accept() {
                Ok((stream, _peer)) => {
                    let wire = match Wire::accept(&self.config) {
                        Ok(wire) => wire,
                        Err(error) => {
                            log(format_args!("could not start TLS: {error}"));
                            continue;
                        }
                    };
                    let mut connection = BlockingConnection {
                        stream: &stream,
                        wire,
                        listener: &self.listener,
                        events: &mut events,
                        listener_registered: true,
                        ready: &mut ready,
                    };
                    let outcome =
                        connection.serve(&self.config, &handler, &self.shutdown, &mut input);
                    let restored = connection.finish();
                    if let Err(error) = outcome {
                        if !is_peer_gone(&error) {
                            log(format_args!("connection failed: {error}"));
                        }
                    }
                    restored?;
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => accept_failed(&error),
            }
        }
        Ok(())
    }
}

const CONNECTION: Token = Token(1);

/// The one connection the blocking server is serving. Reads wait on the event loop rather
/// than on socket timeouts, so the server notices shutdown, timeouts and waiting peers on
/// every backend (WasmEdge included) without relying on `SO_RCVTIMEO`.
struct BlockingConnection<'a> {
    stream: &'a TcpStream,
    wire: Wire,
    listener: &'a TcpListener,
    events: &'a mut EventLoop,
    listener_registered: bool,
    ready: &'a mut Vec<Event>,
}

/// What one wait on the blocking server's connection found.
struct Readiness {
    readable: bool,
    peer_waiting: bool,
}

impl BlockingConnection<'_> {
    fn serve<H>(
        &mut self,
        config: &ServerConfig,
        handler: &H,
        shutdown: &ShutdownHandle,
        input: &mut [u8],
    ) -> io::Result<()>
    where
        H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
    {
        let stream = self.stream;
        let _ = stream.set_nodelay(true);
        // Best effort: bounds how long a peer that never reads can stall a write.
        let _ = stream.set_write_timeout(Some(config.idle_timeout));
        self.events
            .register(stream, CONNECTION, Interest::READABLE)?;
        let mut decoder = RequestDecoder::new(config.limits);
        let mut output = Vec::new();
        let accepted_at = Instant::now();
        let mut last_activity = accepted_at;
        let mut served_any = false;
        let mut request_started: Option<Instant> = None;
        loop {
            match decoder.next_event() {
                Ok(Some(RequestEvent::ContinueExpected)) => {
                    self.wire.write_all(stream, CONTINUE_RESPONSE)?;
                    continue;
                }
                Ok(Some(RequestEvent::Request(request))) => {
                    output.clear();
                    let keep_alive = respond(request, handler, shutdown.is_shutdown(), &mut output);
                    self.wire.write_all(stream, &output)?;
                    last_activity = Instant::now();
                    request_started = None;
                    served_any = true;
                    if !keep_alive {
                        return self.close_gracefully();
                    }
                    continue;
                }
                Ok(None) => {}
                Err(error) => {
                    output.clear();
                    encode_error(&error, &mut output);
                    self.wire.write_all(stream, &output)?;
                    return self.close_gracefully();
                }
            }
            let mid_request = decoder.is_mid_request();
            let now = Instant::now();
            if mid_request {
                let started = *request_started.get_or_insert(now);
                if now.duration_since(started) >= config.header_read_timeout {
                    output.clear();
                    encode_request_timeout(&mut output);
                    self.wire.write_all(stream, &output)?;
                    return self.close_gracefully();
                }
            } else if shutdown.is_shutdown()
                || now.duration_since(last_activity) >= config.idle_timeout
            {
                // Nothing is in progress, so closing loses nothing.
                return Ok(());
            }
            // Waiting peers matter only between requests, and a new connection gets a moment
            // to send its first one; otherwise the (level-triggered) listener would make every
            // wait return at once.
            let yields_to_peers = !mid_request
                && (served_any || now.duration_since(accepted_at) >= FIRST_REQUEST_GRACE);
            let readiness = self.wait(yields_to_peers)?;
            if !readiness.readable {
                if readiness.peer_waiting {
                    return Ok(());
                }
                continue;
            }
            // Over TLS one read of the socket per wait: a handshake or record that arrives
            // in pieces never blocks the server between waits.
            match self.wire.read(&mut &*stream, input, 1) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    last_activity = Instant::now();
                    decoder.feed(&input[..n]);
                }
                Err(error) if is_timeout(&error) => {}
                Err(error) => return Err(error),
            }
        }
    }

    fn wait(&mut self, watch_listener: bool) -> io::Result<Readiness> {
        if watch_listener != self.listener_registered {
            if watch_listener {
                self.events
                    .register(self.listener, LISTENER, Interest::READABLE)?;
            } else {
                self.events.deregister(self.listener)?;
            }
            self.listener_registered = watch_listener;
        }
        self.events.wait(self.ready, Some(TICK))?;
        Ok(Readiness {
            readable: self.ready.iter().any(|event| event.token == CONNECTION),
            peer_waiting: self.ready.iter().any(|event| event.token == LISTENER),
        })
    }

    /// Stops sending, then drains what the peer still sends for a moment so the kernel does
    /// not answer unread data with a reset that would destroy the response in flight.
    ///
    /// No one else is served meanwhile, so it stops as soon as the peer has been quiet for
    /// a moment: by then nothing unread is left to provoke the reset.
    fn close_gracefully(&mut self) -> io::Result<()> {
        self.wire.close(&mut &*self.stream)?;
        self.stream.shutdown(Shutdown::Write)?;
        let deadline = Instant::now() + LINGER;
        let mut sink = [0u8; 4096];
        while Instant::now() < deadline {
            if !self.wait(false)?.readable {
                break;
            }
            match (&*self.stream).read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// Unwatches the connection and watches the listener again, ready for the next peer.
    fn finish(self) -> io::Result<()> {
        let _ = self.events.deregister(self.stream);
        if !self.listener_registered {
            self.events
                .register(self.listener, LISTENER, Interest::READABLE)?;
        }
        Ok(())
    }
}

/// Calls the handler (turning a panic into a 500 where panics unwind, i.e. natively) and
/// encodes its response.
/// Returns whether the connection stays open.
fn respond<H>(
    request: Request<Vec<u8>>,
    handler: &H,
    shutting_down: bool,
    output: &mut Vec<u8>,
) -> bool
where
    H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
{
    let context = response_context(&request, shutting_down);
    let response = match catch_unwind(AssertUnwindSafe(|| handler(request))) {
        Ok(response) => response,
        Err(_) => handler_failed(),
    };
    finish_response(&response, context, output)
}

/// How the answer to `request` is framed; no keep-alive once shutting down.
pub(crate) fn response_context<B>(request: &Request<B>, shutting_down: bool) -> ResponseContext {
    let mut context = ResponseContext::for_request(request);
    context.keep_alive &= !shutting_down;
    context
}

/// The 500 that replaces the response of a handler that panicked.
pub(crate) fn handler_failed() -> Response<Vec<u8>> {
    plain_response(StatusCode::INTERNAL_SERVER_ERROR, "handler failed\n")
}

/// Encodes a handler's `response`; returns whether the connection stays open.
pub(crate) fn finish_response(
    response: &Response<Vec<u8>>,
    mut context: ResponseContext,
    output: &mut Vec<u8>,
) -> bool {
    // The codec decides what `Connection` means, so the server closes exactly when the
    // bytes it sends say it will (a token list such as `Close, x` included).
    context.keep_alive = response_keeps_alive(response, &context);
    let keep_alive = context.keep_alive;
    encode_response(response, &context, output);
    keep_alive
}

fn plain_response(status: StatusCode, body: &str) -> Response<Vec<u8>> {
    let mut response = Response::new(body.as_bytes().to_vec());
    *response.status_mut() = status;
    response.headers_mut().insert(
        ::http::header::CONTENT_TYPE,
        ::http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn encode_status(status: StatusCode, body: &str, output: &mut Vec<u8>) {
    let context = ResponseContext {
        request_method: Method::GET,
        request_version: Version::HTTP_11,
        keep_alive: false,
    };
    encode_response(&plain_response(status, body), &context, output);
}

pub(crate) fn encode_error(error: &HttpError, output: &mut Vec<u8>) {
    encode_status(error.status(), &format!("{error}\n"), output);
}

/// The 408 for a request whose head and body did not arrive within the header read timeout.
pub(crate) fn encode_request_timeout(output: &mut Vec<u8>) {
    encode_status(
        StatusCode::REQUEST_TIMEOUT,
        "request not received in time\n",
        output,
    );
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

fn is_peer_gone(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::NotConnected
    ) || is_timeout(error)
}

pub(crate) fn log(message: std::fmt::Arguments<'_>) {
    eprintln!("wasock: {message}");
}

/// The peer gave up while waiting in the backlog (on WasmEdge this surfaces as a failed
/// peer-address lookup right after accepting): nothing to report.
pub(crate) fn is_gone_before_accept(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::NotConnected
            | io::ErrorKind::Interrupted
    )
}

fn accept_failed(error: &io::Error) {
    if is_gone_before_accept(error) {
        return;
    }
    log(format_args!("accept failed: {error} (continuing)"));
    if is_resource_exhausted(error) {
        std::thread::sleep(ACCEPT_BACKOFF);
    }
}

/// Out of descriptors or memory: accepting again at once would fail again.
pub(crate) fn is_resource_exhausted(error: &io::Error) -> bool {
    if matches!(error.kind(), io::ErrorKind::OutOfMemory) {
        return true;
    }
    // EMFILE/ENFILE/ENOBUFS/ENOMEM; WASI numbers them differently from Linux.
    #[cfg(target_os = "wasi")]
    const CODES: [i32; 4] = [33, 41, 42, 48];
    #[cfg(not(target_os = "wasi"))]
    const CODES: [i32; 4] = [24, 23, 105, 12];
    error
        .raw_os_error()
        .is_some_and(|code| CODES.contains(&code))
}

/// Non-blocking HTTP server: one thread, many keep-alive connections over the [`EventLoop`].
///
/// Reads, parses and writes never block: partial writes are kept and finished when the
/// socket is writable; a connection whose peer does not read stops being read from (see
/// [`ServerConfig::max_buffered_output`]) and never delays the others.
#[derive(Debug)]
pub struct PollServer {
    listener: TcpListener,
    config: ServerConfig,
    shutdown: ShutdownHandle,
}

const LISTENER: Token = Token(0);

impl PollServer {
    /// Answers requests until shut down. Accept and connection errors are logged or handled
    /// per connection; only a failure of the readiness wait itself ends it with an error.
    pub fn run<H>(self, handler: H) -> io::Result<()>
    where
        H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
    {
        self.listener.set_nonblocking(true)?;
        let mut state = PollState {
            events: EventLoop::new()?,
            connections: Vec::new(),
            free_slots: Vec::new(),
            open: 0,
            listening: false,
            accept_paused_until: None,
            input: vec![0u8; READ_CHUNK],
            config: self.config,
            shutting_down: false,
        };
        state.set_listening(&self.listener, true)?;
        let mut ready: Vec<Event> = Vec::new();
        let mut next_sweep = Instant::now() + TICK;
        let mut shutdown_deadline: Option<Instant> = None;
        loop {
            if self.shutdown.is_shutdown() && shutdown_deadline.is_none() {
                state.shutting_down = true;
                shutdown_deadline = Some(Instant::now() + SHUTDOWN_GRACE);
                state.set_listening(&self.listener, false)?;
            }
            if let Some(deadline) = shutdown_deadline {
                if state.open == 0 || Instant::now() >= deadline {
                    return Ok(());
                }
            }
            let timeout = next_sweep.saturating_duration_since(Instant::now());
            state.events.wait(&mut ready, Some(timeout))?;
            for event in &ready {
                if event.token == LISTENER {
                    state.accept_all(&self.listener);
                } else {
                    state.on_connection_event(event, &handler);
                }
            }
            let now = Instant::now();
            if now >= next_sweep {
                state.sweep(now);
                next_sweep = now + TICK;
            }
            if !state.shutting_down {
                let paused = state.accept_paused_until.is_some_and(|until| now < until);
                let want_listening = !paused && state.open < state.config.max_connections;
                if want_listening != state.listening {
                    state.set_listening(&self.listener, want_listening)?;
                }
            }
        }
    }
}

struct PollState {
    events: EventLoop,
    connections: Vec<Option<Connection>>,
    free_slots: Vec<usize>,
    open: usize,
    listening: bool,
    accept_paused_until: Option<Instant>,
    input: Vec<u8>,
    config: ServerConfig,
    shutting_down: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading requests and answering them.
    Open,
    /// The last response is queued; close once it is sent.
    Closing,
    /// Our side is shut down; discarding what the peer still sends until it closes.
    Lingering { until: Instant },
}

struct Connection {
    stream: TcpStream,
    wire: Wire,
    accepted_at: Instant,
    token: Token,
    decoder: RequestDecoder,
    output: Vec<u8>,
    written: usize,
    phase: Phase,
    peer_closed: bool,
    interest: Interest,
    last_activity: Instant,
    request_started: Option<Instant>,
}

enum Next {
    Keep,
    Close,
}

impl PollState {
    fn set_listening(&mut self, listener: &TcpListener, on: bool) -> io::Result<()> {
        if on && !self.listening {
            self.events
                .register(listener, LISTENER, Interest::READABLE)?;
        } else if !on && self.listening {
            self.events.deregister(listener)?;
        }
        self.listening = on;
        Ok(())
    }

    fn accept_all(&mut self, listener: &TcpListener) {
        for _ in 0..self.accept_batch() {
            if self.open >= self.config.max_connections || self.shutting_down {
                return;
            }
            match listener.accept_nonblocking() {
                Ok((stream, _peer)) => self.add_connection(stream),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if is_gone_before_accept(&error) => {}
                Err(error) => {
                    log(format_args!("accept failed: {error} (continuing)"));
                    if is_resource_exhausted(&error) {
                        self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    }
                    return;
                }
            }
        }
    }

    /// How many connections one turn accepts at most, so that a flood of new ones cannot
    /// starve the established ones. Natively a turn serves at most `polling`'s 1,024 ready
    /// events, so 256 keeps the two in proportion. On wasm32-wasip1 every turn passes every
    /// socket to `poll_oneoff` and serves all that are ready, so a turn already costs time in
    /// proportion to the open connections: accepting as many again at most doubles it, and
    /// 10,000 arriving connections are taken on in a handful of turns instead of forty
    /// ever longer ones (whose first requests would wait seconds).
    fn accept_batch(&self) -> usize {
        const NEW_PER_TURN: usize = 256;
        if cfg!(target_os = "wasi") {
            NEW_PER_TURN.max(self.open)
        } else {
            NEW_PER_TURN
        }
    }

    /// Takes on a connection accepted in non-blocking mode.
    fn add_connection(&mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let wire = match Wire::accept(&self.config) {
            Ok(wire) => wire,
            Err(error) => {
                log(format_args!("could not start TLS: {error}"));
                return;
            }
        };
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.connections.push(None);
                self.connections.len() - 1
            }
        };
        if let Err(error) = self
            .events
            .register(&stream, Token(slot + 1), Interest::READABLE)
        {
            log(format_args!("could not watch a connection: {error}"));
            self.free_slots.push(slot);
            return;
        }
        let now = Instant::now();
        self.connections[slot] = Some(Connection {
            stream,
            wire,
            accepted_at: now,
            token: Token(slot + 1),
            decoder: RequestDecoder::new(self.config.limits),
            output: Vec::new(),
            written: 0,
            phase: Phase::Open,
            peer_closed: false,
            interest: Interest::READABLE,
            last_activity: now,
            request_started: None,
        });
        self.open += 1;
    }

    fn close(&mut self, slot: usize) {
        if let Some(connection) = self.connections.get_mut(slot).and_then(Option::take) {
            let _ = self.events.deregister(&connection.stream);
            self.free_slots.push(slot);
            self.open -= 1;
        }
    }

    fn on_connection_event<H>(&mut self, event: &Event, handler: &H)
    where
        H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
    {
        let slot = event.token.0 - 1;
        let Some(Some(connection)) = self.connections.get_mut(slot) else {
            return;
        };
        let next = connection.on_ready(
            event,
            &mut self.input,
            &self.config,
            self.shutting_down,
            handler,
        );
        self.settle(slot, next);
    }

    /// After a connection's turn: closes it, or asks for the readiness it can use now.
    fn settle(&mut self, slot: usize, next: Next) {
        let next = match (next, self.connections.get_mut(slot)) {
            (Next::Keep, Some(Some(connection))) => {
                connection.update_interest(&mut self.events, &self.config)
            }
            (next, _) => next,
        };
        if let Next::Close = next {
            self.close(slot);
        }
    }

    /// Enforces timeouts; during shutdown also closes connections with nothing in flight.
    fn sweep(&mut self, now: Instant) {
        for slot in 0..self.connections.len() {
            let Some(connection) = self.connections[slot].as_mut() else {
                continue;
            };
            let next = connection.check_timeouts(now, &self.config, self.shutting_down);
            self.settle(slot, next);
        }
    }
}

impl Connection {
    fn pending_output(&self) -> usize {
        self.output.len() - self.written
    }

    fn on_ready<H>(
        &mut self,
        event: &Event,
        input: &mut [u8],
        config: &ServerConfig,
        shutting_down: bool,
        handler: &H,
    ) -> Next
    where
        H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
    {
        if let Phase::Lingering { .. } = self.phase {
            return self.discard_input(input);
        }
        if event.readable && self.phase == Phase::Open && !self.peer_closed {
            // A few chunks per turn keeps one busy peer from starving the rest; readiness is
            // level-triggered, so what is left is reported again.
            for _ in 0..4 {
                if self.pending_output() >= config.max_buffered_output {
                    break;
                }
                match self.wire.read(&mut self.stream, input, 4) {
                    Ok(0) => {
                        self.peer_closed = true;
                        break;
                    }
                    Ok(n) => {
                        self.last_activity = Instant::now();
                        self.decoder.feed(&input[..n]);
                        self.answer_buffered(config, shutting_down, handler);
                        if n < input.len() || self.phase != Phase::Open {
                            break;
                        }
                    }
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return Next::Close,
                }
            }
        }
        // Requests held back while the output was full go out as it drains, until the
        // socket is full again or the decoder needs more input.
        loop {
            self.answer_buffered(config, shutting_down, handler);
            if self.peer_closed && self.phase == Phase::Open && self.decoder.wants_more_input() {
                // Everything complete was answered; a half-received request never will be.
                self.phase = Phase::Closing;
            }
            if let Next::Close = self.flush() {
                return Next::Close;
            }
            if self.pending_output() > 0
                || self.phase != Phase::Open
                || self.decoder.wants_more_input()
            {
                return Next::Keep;
            }
        }
    }

    /// Answers every complete request already buffered, while output has room.
    fn answer_buffered<H>(&mut self, config: &ServerConfig, shutting_down: bool, handler: &H)
    where
        H: Fn(Request<Vec<u8>>) -> Response<Vec<u8>>,
    {
        while self.phase == Phase::Open && self.pending_output() < config.max_buffered_output {
            match self.decoder.next_event() {
                Ok(Some(RequestEvent::ContinueExpected)) => {
                    self.output.extend_from_slice(CONTINUE_RESPONSE)
                }
                Ok(Some(RequestEvent::Request(request))) => {
                    self.request_started = None;
                    if !respond(request, handler, shutting_down, &mut self.output) {
                        self.phase = Phase::Closing;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    encode_error(&error, &mut self.output);
                    self.phase = Phase::Closing;
                }
            }
        }
        if self.decoder.is_mid_request() {
            self.request_started.get_or_insert_with(Instant::now);
        } else {
            self.request_started = None;
        }
    }

    /// Writes as much pending output as the socket takes; closes or lingers when done.
    fn flush(&mut self) -> Next {
        while self.written < self.output.len() {
            match self
                .wire
                .write(&mut self.stream, &self.output[self.written..])
            {
                Ok(0) => return Next::Close,
                Ok(n) => {
                    self.written += n;
                    self.last_activity = Instant::now();
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            }
        }
        // TLS records rustls still holds (the tail of a response, a handshake flight).
        match self.wire.flush(&mut self.stream) {
            Err(error) if error.kind() != io::ErrorKind::WouldBlock => return Next::Close,
            _ => {}
        }
        if self.written == self.output.len() {
            self.output.clear();
            self.written = 0;
            if self.output.capacity() > 4 * READ_CHUNK {
                self.output.shrink_to(READ_CHUNK);
            }
            if self.phase == Phase::Closing && !self.wire.wants_write() {
                if self.peer_closed {
                    return Next::Close;
                }
                match self.wire.close(&mut self.stream) {
                    Ok(()) => {}
                    // close_notify goes out as the socket takes it (`update_interest`).
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Next::Keep,
                    Err(_) => return Next::Close,
                }
                if self.stream.shutdown(Shutdown::Write).is_err() {
                    return Next::Close;
                }
                self.phase = Phase::Lingering {
                    until: Instant::now() + LINGER,
                };
            }
        } else if self.written >= READ_CHUNK {
            self.output.drain(..self.written);
            self.written = 0;
        }
        Next::Keep
    }

    fn discard_input(&mut self, input: &mut [u8]) -> Next {
        for _ in 0..4 {
            match self.stream.read(input) {
                Ok(0) => return Next::Close,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Next::Keep,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            }
        }
        Next::Keep
    }

    fn check_timeouts(&mut self, now: Instant, config: &ServerConfig, shutting_down: bool) -> Next {
        match self.phase {
            Phase::Lingering { until } => {
                return if now >= until {
                    Next::Close
                } else {
                    Next::Keep
                };
            }
            Phase::Closing | Phase::Open
                if self.pending_output() > 0 || self.wire.wants_write() =>
            {
                // A peer that stopped reading is given the idle timeout, then dropped.
                if now.duration_since(self.last_activity) >= config.idle_timeout {
                    return Next::Close;
                }
                return Next::Keep;
            }
            Phase::Closing => return self.flush(),
            Phase::Open => {}
        }
        // A TLS handshake is the first request's head: bounded as a request is, so a peer
        // that never finishes it holds nothing but its own connection, and not for long.
        if self.wire.is_handshaking() {
            let limit = config.header_read_timeout.min(config.idle_timeout);
            return if shutting_down || now.duration_since(self.accepted_at) >= limit {
                Next::Close
            } else {
                Next::Keep
            };
        }
        match self.request_started {
            Some(started) if now.duration_since(started) >= config.header_read_timeout => {
                encode_request_timeout(&mut self.output);
                self.phase = Phase::Closing;
                self.flush()
            }
            Some(_) => Next::Keep,
            None if shutting_down
                || now.duration_since(self.last_activity) >= config.idle_timeout =>
            {
                Next::Close
            }
            None => Next::Keep,
        }
    }

    /// Asks for the readiness this connection can use now.
    fn update_interest(&mut self, events: &mut EventLoop, config: &ServerConfig) -> Next {
        let wants_write = self.pending_output() > 0 || self.wire.wants_write();
        let wants_read = match self.phase {
            Phase::Lingering { .. } => true,
            Phase::Closing => false,
            Phase::Open => !self.peer_closed && self.pending_output() < config.max_buffered_output,
        };
        let interest = match (wants_read, wants_write) {
            (true, true) => Interest::BOTH,
            (true, false) => Interest::READABLE,
            (false, true) => Interest::WRITABLE,
            // Nothing to read or send: the connection is finished.
            (false, false) => return Next::Close,
        };
        if interest != self.interest {
            if events
                .reregister(&self.stream, self.token, interest)
                .is_err()
            {
                return Next::Close;
            }
            self.interest = interest;
        }
        Next::Keep
    }
}
