//! The async handler of [`PollServer`]: [`PollServer::run_async`] and
//! [`PollServer::serve_async`].
//!
//! Each connection is a task. It feeds what it reads to the same [`RequestDecoder`] the
//! other servers use, answers the requests it decoded one after another (so pipelined
//! answers go out in order, and at most one response per connection is buffered), and
//! while a handler awaits (an upstream, say) every other connection goes on being served.
//! Framing, keep-alive, 400/413/431, 408 and 500-on-panic come from the code the sync
//! servers share ([`crate::server`]); only the waiting is async.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use futures_util::FutureExt;

use super::client::{pending, PollIo};
use super::net::{AsyncTcpListener, AsyncTcpStream};
use super::{sleep, spawn, timeout, timeout_at};
use crate::http::{Request, Response};
use crate::http::{RequestDecoder, RequestEvent, CONTINUE_RESPONSE};
use crate::net::Shutdown;
use crate::server::{
    encode_error, encode_request_timeout, finish_response, handler_failed, is_gone_before_accept,
    is_resource_exhausted, log, response_context, PollServer, ServerConfig, ShutdownHandle, Wire,
    ACCEPT_BACKOFF, LINGER, READ_CHUNK, SHUTDOWN_GRACE, TICK,
};

impl PollServer {
    /// Answers requests with an async `handler` until shut down: a new runtime on this
    /// thread ([`block_on`](super::block_on)) running [`serve_async`](Self::serve_async).
    ///
    /// ```no_run
    /// use wasock::prelude::*;
    ///
    /// fn main() -> std::io::Result<()> {
    ///     let server = PollServer::bind(("0.0.0.0", 8080), ServerConfig::default())?;
    ///     announce(server.local_addr()?)?;
    ///     server.run_async(|request: Request<Vec<u8>>| async move {
    ///         wasock::rt::sleep(std::time::Duration::from_millis(10)).await;
    ///         Response::new(request.into_body())
    ///     })
    /// }
    /// ```
    pub fn run_async<H, F>(self, handler: H) -> io::Result<()>
    where
        H: Fn(Request<Vec<u8>>) -> F + 'static,
        F: Future<Output = Response<Vec<u8>>> + 'static,
    {
        super::block_on(self.serve_async(handler))
    }

    /// Serves on the current runtime: one task per connection, each request answered by
    /// `handler(request).await`, with every guarantee of [`PollServer::run`]: keep-alive,
    /// pipelined answers in request order, [`ServerConfig`] limits (400/413/431), the header
    /// read timeout (408) and idle timeout, a 500 for a handler that panics (natively), and
    /// bounded output (a connection's next request is read only once its previous answer
    /// is written, so a peer that does not read holds one response at most).
    ///
    /// Returns after a shutdown ([`PollServer::shutdown_handle`]) once the open connections
    /// have finished, or after a grace of 5 s.
    pub async fn serve_async<H, F>(self, handler: H) -> io::Result<()>
    where
        H: Fn(Request<Vec<u8>>) -> F + 'static,
        F: Future<Output = Response<Vec<u8>>> + 'static,
    {
        let (listener, config, shutdown) = self.into_parts();
        let listener = AsyncTcpListener::from_listener(listener)?;
        let shared = Rc::new(Shared {
            handler,
            config,
            shutdown,
            open: Cell::new(0),
            closed: RefCell::new(None),
        });
        while !shared.shutdown.is_shutdown() {
            if shared.open.get() >= shared.config.max_connections {
                // Further peers wait in the backlog until a connection closes.
                let _ = timeout(TICK, shared.connection_closed()).await;
                continue;
            }
            match timeout(TICK, listener.accept()).await {
                Err(_) => {}
                Ok(Ok((stream, _peer))) => {
                    let _ = stream.set_nodelay(true);
                    let wire = match Wire::accept(&shared.config) {
                        Ok(wire) => RefCell::new(wire),
                        Err(error) => {
                            log(format_args!("could not start TLS: {error}"));
                            continue;
                        }
                    };
                    let stream = Served { stream, wire };
                    shared.open.set(shared.open.get() + 1);
                    let shared = shared.clone();
                    spawn(async move {
                        let _open = OpenConnection(&shared);
                        serve_connection(stream, &shared).await;
                    });
                }
                Ok(Err(error)) if is_gone_before_accept(&error) => {}
                Ok(Err(error)) => {
                    log(format_args!("accept failed: {error} (continuing)"));
                    if is_resource_exhausted(&error) {
                        sleep(ACCEPT_BACKOFF).await;
                    }
                }
            }
        }
        drop(listener);
        let _ = timeout(SHUTDOWN_GRACE, async {
            while shared.open.get() > 0 {
                shared.connection_closed().await;
            }
        })
        .await;
        Ok(())
    }
}

struct Shared<H> {
    handler: H,
    config: ServerConfig,
    shutdown: ShutdownHandle,
    open: Cell<usize>,
    /// The accept loop, waiting for a connection to close.
    closed: RefCell<Option<Waker>>,
}

impl<H> Shared<H> {
    /// Completes the next time a connection closes.
    async fn connection_closed(&self) {
        let open = self.open.get();
        poll_fn(|cx| {
            if self.open.get() < open {
                return Poll::Ready(());
            }
            *self.closed.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

/// Counts a connection as open until its task ends (or is dropped).
struct OpenConnection<'a, H>(&'a Shared<H>);

impl<H> Drop for OpenConnection<'_, H> {
    fn drop(&mut self) {
        self.0.open.set(self.0.open.get() - 1);
        if let Some(waker) = self.0.closed.borrow_mut().take() {
            waker.wake();
        }
    }
}

thread_local! {
    /// One read buffer for every connection of the thread: a read fills it and the decoder
    /// copies out what it needs within the same poll, so it is never held across a wait.
    static INPUT: RefCell<Vec<u8>> = RefCell::new(vec![0u8; READ_CHUNK]);
}

/// A served connection: its socket and its TLS side (plain for HTTP).
struct Served {
    stream: AsyncTcpStream,
    wire: RefCell<Wire>,
}

impl Served {
    /// Reads request bytes (plaintext over TLS, moving the handshake on).
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut wire = self.wire.borrow_mut();
        let mut io = PollIo {
            stream: &self.stream,
            cx,
        };
        // Records the socket did not take before (a handshake flight): a wait for writing
        // is registered while they wait.
        if let Err(error) = wire.flush(&mut io) {
            if error.kind() != io::ErrorKind::WouldBlock {
                return Poll::Ready(Err(error));
            }
        }
        let outcome = pending(wire.read(&mut io, buf, 8));
        if outcome.is_pending() && wire.read_again() {
            // Stopped at the bound of socket reads, with no waker left with the reactor.
            io.cx.waker().wake_by_ref();
        }
        outcome
    }

    /// Writes response bytes.
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut io = PollIo {
            stream: &self.stream,
            cx,
        };
        pending(self.wire.borrow_mut().write(&mut io, buf))
    }

    /// Writes out the TLS records still held.
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut io = PollIo {
            stream: &self.stream,
            cx,
        };
        pending(self.wire.borrow_mut().flush(&mut io))
    }

    /// Sends TLS's close_notify (nothing for plain HTTP).
    fn poll_close_tls(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut io = PollIo {
            stream: &self.stream,
            cx,
        };
        pending(self.wire.borrow_mut().close(&mut io))
    }

    fn is_handshaking(&self) -> bool {
        self.wire.borrow().is_handshaking()
    }
}

/// Reads once into the decoder; `Ok(0)` at EOF.
async fn read_into(stream: &Served, decoder: &mut RequestDecoder) -> io::Result<usize> {
    poll_fn(|cx| {
        INPUT.with(|input| {
            let mut input = input.borrow_mut();
            let outcome = stream.poll_read(cx, &mut input);
            if let Poll::Ready(Ok(n)) = outcome {
                decoder.feed(&input[..n]);
            }
            outcome
        })
    })
    .await
}

/// Writes all of `bytes`; a peer that takes nothing for `idle_timeout` is given up on.
async fn write_all(stream: &Served, mut bytes: &[u8], config: &ServerConfig) -> io::Result<()> {
    while !bytes.is_empty() {
        let written = timeout(
            config.idle_timeout,
            poll_fn(|cx| stream.poll_write(cx, bytes)),
        )
        .await??;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[written..];
    }
    timeout(config.idle_timeout, poll_fn(|cx| stream.poll_flush(cx))).await?
}

/// What ended a connection's wait for more of a request.
enum Waited {
    Read,
    Closed,
}

async fn serve_connection<H, F>(stream: Served, shared: &Shared<H>)
where
    H: Fn(Request<Vec<u8>>) -> F,
    F: Future<Output = Response<Vec<u8>>>,
{
    let config = &shared.config;
    let mut decoder = RequestDecoder::new(config.limits);
    let mut output = Vec::new();
    let mut last_activity = Instant::now();
    let mut request_started: Option<Instant> = None;
    loop {
        // Answer everything decoded so far, in order.
        loop {
            match decoder.next_event() {
                Ok(Some(RequestEvent::ContinueExpected)) => {
                    if write_all(&stream, CONTINUE_RESPONSE, config).await.is_err() {
                        return;
                    }
                }
                Ok(Some(RequestEvent::Request(request))) => {
                    request_started = None;
                    let context = response_context(&request, shared.shutdown.is_shutdown());
                    let response = call(&shared.handler, request).await;
                    output.clear();
                    let keep_alive = finish_response(&response, context, &mut output);
                    drop(response);
                    if write_all(&stream, &output, config).await.is_err() {
                        return;
                    }
                    last_activity = Instant::now();
                    if !keep_alive {
                        return close_gracefully(stream).await;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    output.clear();
                    encode_error(&error, &mut output);
                    if write_all(&stream, &output, config).await.is_ok() {
                        close_gracefully(stream).await;
                    }
                    return;
                }
            }
        }
        if output.capacity() > 4 * READ_CHUNK {
            output = Vec::new();
        }
        match wait_for_input(
            &stream,
            &mut decoder,
            shared,
            last_activity,
            &mut request_started,
        )
        .await
        {
            Waited::Read => last_activity = Instant::now(),
            Waited::Closed => return,
        }
        if decoder.is_mid_request() {
            request_started.get_or_insert_with(Instant::now);
        }
    }
}

/// Waits for the next bytes of a request; on the way closes idle connections, answers 408
/// to requests that take too long, and lets go of idle connections on shutdown.
async fn wait_for_input<H>(
    stream: &Served,
    decoder: &mut RequestDecoder,
    shared: &Shared<H>,
    last_activity: Instant,
    request_started: &mut Option<Instant>,
) -> Waited {
    let config = &shared.config;
    loop {
        // A TLS handshake is bounded as a request's head is.
        let handshaking = stream.is_handshaking();
        let mid_request = decoder.is_mid_request() || handshaking;
        let deadline = if mid_request {
            *request_started.get_or_insert(last_activity) + config.header_read_timeout
        } else {
            if shared.shutdown.is_shutdown() {
                // Nothing is in progress, so closing loses nothing.
                return Waited::Closed;
            }
            last_activity + config.idle_timeout
        };
        // Between requests, look at the shutdown flag now and then.
        let until = if mid_request {
            deadline
        } else {
            deadline.min(Instant::now() + TICK)
        };
        match timeout_at(until, read_into(stream, decoder)).await {
            // EOF: complete requests were answered; a half-received one never will be.
            Ok(Ok(0)) | Ok(Err(_)) => return Waited::Closed,
            Ok(Ok(_)) => return Waited::Read,
            Err(_) if Instant::now() < deadline => {}
            Err(_) if mid_request && !handshaking => {
                let mut output = Vec::new();
                encode_request_timeout(&mut output);
                if write_all(stream, &output, config).await.is_ok() {
                    close_gracefully_ref(stream).await;
                }
                return Waited::Closed;
            }
            Err(_) => return Waited::Closed,
        }
    }
}

/// Calls the handler; a panic (natively, where panics unwind) becomes a 500.
async fn call<H, F>(handler: &H, request: Request<Vec<u8>>) -> Response<Vec<u8>>
where
    H: Fn(Request<Vec<u8>>) -> F,
    F: Future<Output = Response<Vec<u8>>>,
{
    let future = match catch_unwind(AssertUnwindSafe(|| handler(request))) {
        Ok(future) => future,
        Err(_) => return handler_failed(),
    };
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| handler_failed())
}

async fn close_gracefully(stream: Served) {
    close_gracefully_ref(&stream).await;
}

/// Stops sending, then discards what the peer still sends until it closes (or for
/// [`LINGER`] at most), so the kernel does not answer unread data with a reset that would
/// destroy the last response in flight.
async fn close_gracefully_ref(served: &Served) {
    if timeout(LINGER, poll_fn(|cx| served.poll_close_tls(cx)))
        .await
        .is_err()
    {
        return;
    }
    let stream = &served.stream;
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let _ = timeout(LINGER, async {
        let mut sink = [0u8; 4096];
        loop {
            match poll_fn(|cx| stream.poll_read_ref(cx, &mut sink)).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}
