//! The async HTTP/1.1 client: [`fetch`], [`get`], [`post`] and the [`Client`] methods
//! [`fetch`](Client::fetch), [`get_async`](Client::get_async) and
//! [`post_async`](Client::post_async).
//!
//! Requests are encoded and responses decoded by the codec the blocking client uses. After
//! a response that leaves the connection open (HTTP/1.1 without `Connection: close`, a
//! length-framed or chunked body, nothing extra sent), the connection goes back to a pool
//! of the current runtime, per scheme, host and port, and the next request there reuses it
//! (for `https://`, with its TLS session: no new handshake).
//! A pooled connection the server closed meanwhile is noticed before use; one that fails
//! before any byte of its response is replaced by a new connection and the request sent
//! again when its method is idempotent (RFC 9110 §9.2.2).

use std::collections::HashMap;
use std::future::poll_fn;
use std::io::{self, IoSlice, Read, Write};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::executor::current;
use super::net::AsyncTcpStream;
use super::timeout;
use crate::client::{build_request, wire_read, wire_write, Client, ClientError, Prepared, Session};
use crate::http::{wants_keep_alive, Method, Request, Response, ResponseDecoder, StatusCode};
use crate::net::ToSocketAddrs;

/// How long a pooled connection may sit unused; servers close idle connections after a
/// while (ours after 60 s by default), and one about to be closed is best not used.
const POOL_IDLE: Duration = Duration::from_secs(30);
/// At most this many idle connections are kept per host.
const POOL_PER_HOST: usize = 64;
const READ_CHUNK: usize = 16 * 1024;

/// A connection of the pool: its socket and, for `https://`, its TLS session.
struct Conn {
    stream: AsyncTcpStream,
    session: Session,
}

/// Where a pooled connection leads: TLS or not, host, port.
type PoolKey = (bool, String, u16);

/// Idle keep-alive connections of one runtime, by scheme, host and port.
#[derive(Default)]
pub(crate) struct Pool {
    idle: HashMap<PoolKey, Vec<(Conn, Instant)>>,
}

fn pool_key(prepared: &Prepared) -> PoolKey {
    (prepared.tls, prepared.host.clone(), prepared.port)
}

fn pool_take(prepared: &Prepared) -> Option<Conn> {
    let core = current()?;
    let mut pool = core.pool.borrow_mut();
    let idle = pool.idle.get_mut(&pool_key(prepared))?;
    let mut probe = [0u8; 1];
    while let Some((mut conn, since)) = idle.pop() {
        // An idle connection must have nothing to read: EOF, a stray byte or an error all
        // mean the server is done with it. Over TLS the probe goes through the session, which
        // takes in what may legitimately arrive meanwhile (TLS 1.3 session tickets).
        let mut cx = Context::from_waker(Waker::noop());
        let mut io = PollIo {
            stream: &conn.stream,
            cx: &mut cx,
        };
        let quiet = matches!(
            wire_read(&mut conn.session, &mut io, &mut probe),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock
        );
        if quiet && since.elapsed() < POOL_IDLE {
            return Some(conn);
        }
    }
    None
}

fn pool_put(prepared: &Prepared, conn: Conn) {
    let Some(core) = current() else {
        return;
    };
    let mut pool = core.pool.borrow_mut();
    let idle = pool.idle.entry(pool_key(prepared)).or_default();
    idle.retain(|(_, since)| since.elapsed() < POOL_IDLE);
    if idle.len() < POOL_PER_HOST {
        idle.push((conn, Instant::now()));
    }
}

/// The async socket as a `Read + Write` for one poll: a socket that is not ready reports
/// `WouldBlock`, with the task's waker registered for when it is.
pub(crate) struct PollIo<'a, 'b> {
    pub(crate) stream: &'a AsyncTcpStream,
    pub(crate) cx: &'a mut Context<'b>,
}

pub(crate) fn would_block<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

pub(crate) fn pending<T>(outcome: io::Result<T>) -> Poll<io::Result<T>> {
    match outcome {
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
        outcome => Poll::Ready(outcome),
    }
}

impl Read for PollIo<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        would_block(self.stream.poll_read_ref(self.cx, buf))
    }
}

impl Write for PollIo<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        would_block(self.stream.poll_write_ref(self.cx, buf))
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        would_block(self.stream.poll_write_vectored_ref(self.cx, bufs))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sends `request` (its URI an absolute `http://` URL) with default settings and returns
/// the response. See [`Client::fetch`].
pub async fn fetch(request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, ClientError> {
    Client::default().fetch(request).await
}

/// `GET url` with default settings.
pub async fn get(url: &str) -> Result<Response<Vec<u8>>, ClientError> {
    Client::default().get_async(url).await
}

/// `POST url` with `body` with default settings.
pub async fn post(url: &str, body: impl Into<Vec<u8>>) -> Result<Response<Vec<u8>>, ClientError> {
    Client::default().post_async(url, body).await
}

/// How one attempt on one connection ended without a response.
enum Failure {
    /// A reused connection failed before any byte of the response: safe to retry an
    /// idempotent request on a new connection.
    Stale(ClientError),
    Failed(ClientError),
}

impl Client {
    /// Sends `request` and awaits its response, without blocking the thread: other tasks
    /// (other connections of a server) go on meanwhile.
    ///
    /// [`ClientConfig::timeout`](crate::ClientConfig::timeout) bounds the whole exchange,
    /// connecting included ([`ClientError::Timeout`]). Connections are kept alive and
    /// reused per host (see the [module docs](self)). Must run inside
    /// [`block_on`](super::block_on). The future is `Send`, so it can be awaited in
    /// handlers that require that (axum's).
    pub async fn fetch(&self, request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, ClientError> {
        let prepared = Prepared::with_keep_alive(request, true)?;
        let limit = self.config().timeout;
        match timeout(limit, self.exchange(&prepared)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(prepared.timeout(limit)),
        }
    }

    /// Sends `GET url` and awaits the response; see [`fetch`](Self::fetch).
    pub async fn get_async(&self, url: &str) -> Result<Response<Vec<u8>>, ClientError> {
        self.fetch(build_request(Method::GET, url, Vec::new())?)
            .await
    }

    /// Sends `POST url` with `body` and awaits the response; see [`fetch`](Self::fetch).
    pub async fn post_async(
        &self,
        url: &str,
        body: impl Into<Vec<u8>>,
    ) -> Result<Response<Vec<u8>>, ClientError> {
        self.fetch(build_request(Method::POST, url, body.into())?)
            .await
    }

    async fn exchange(&self, prepared: &Prepared) -> Result<Response<Vec<u8>>, ClientError> {
        if let Some(conn) = pool_take(prepared) {
            match self.attempt(conn, prepared, true).await {
                Ok(response) => return Ok(response),
                Err(Failure::Stale(error)) if !is_idempotent(&prepared.method) => {
                    return Err(error)
                }
                Err(Failure::Stale(_)) => {}
                Err(Failure::Failed(error)) => return Err(error),
            }
        }
        let session = prepared.session()?;
        let addrs = (prepared.host.as_str(), prepared.port)
            .to_socket_addrs()
            .map_err(|source| prepared.io(source))?;
        let stream = AsyncTcpStream::connect(addrs.as_slice())
            .await
            .map_err(|source| prepared.io(source))?;
        match self
            .attempt(Conn { stream, session }, prepared, false)
            .await
        {
            Ok(response) => Ok(response),
            Err(Failure::Stale(error) | Failure::Failed(error)) => Err(error),
        }
    }

    /// Sends the request on `stream` and reads its response; a reusable connection goes
    /// back to the pool.
    async fn attempt(
        &self,
        mut conn: Conn,
        prepared: &Prepared,
        reused: bool,
    ) -> Result<Response<Vec<u8>>, Failure> {
        let stale_or_failed = |error: ClientError, got_bytes: bool| {
            if reused && !got_bytes {
                Failure::Stale(error)
            } else {
                Failure::Failed(error)
            }
        };
        let mut write_error = None;
        let mut bytes = prepared.bytes.as_slice();
        while !bytes.is_empty() {
            let written = poll_fn(|cx| {
                let mut io = PollIo {
                    stream: &conn.stream,
                    cx,
                };
                pending(wire_write(&mut conn.session, &mut io, bytes))
            });
            match written.await {
                Ok(0) => {
                    write_error = Some(io::Error::from(io::ErrorKind::WriteZero));
                    break;
                }
                Ok(n) => bytes = &bytes[n..],
                // The server may have answered early (a 413 to a large upload, say) and
                // stopped reading: its response is worth more than our write error.
                Err(error) => {
                    write_error = Some(error);
                    break;
                }
            }
        }
        let mut decoder = ResponseDecoder::new(self.config().limits);
        let mut input = vec![0u8; READ_CHUNK];
        let mut got_bytes = false;
        loop {
            let read = poll_fn(|cx| {
                let mut io = PollIo {
                    stream: &conn.stream,
                    cx,
                };
                pending(wire_read(&mut conn.session, &mut io, &mut input))
            });
            let n = match read.await {
                Ok(n) => n,
                Err(source) => {
                    let source = write_error.take().unwrap_or(source);
                    return Err(stale_or_failed(prepared.io(source), got_bytes));
                }
            };
            if n == 0 {
                return match prepared.finish(&mut decoder) {
                    Ok(response) => Ok(response),
                    Err(error) => {
                        let error = match write_error.take() {
                            Some(source) => prepared.io(source),
                            None => error,
                        };
                        Err(stale_or_failed(error, got_bytes))
                    }
                };
            }
            got_bytes = true;
            decoder.feed(&input[..n]);
            match decoder.next_response(&prepared.method) {
                Ok(Some(response)) => {
                    let reusable = write_error.is_none()
                        && !prepared.closes
                        && response.status() != StatusCode::SWITCHING_PROTOCOLS
                        && wants_keep_alive(response.version(), response.headers())
                        && decoder.buffered_len() == 0;
                    if reusable {
                        pool_put(prepared, conn);
                    }
                    return Ok(response);
                }
                Ok(None) => {}
                Err(source) => return Err(Failure::Failed(prepared.http(source))),
            }
        }
    }
}

/// RFC 9110 §9.2.2: sending these twice has the effect of sending them once.
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

// An axum handler's future must be `Send`; so must `fetch`'s.
const _: () = {
    fn check<T: Send>(_: &T) {}
    #[allow(dead_code)]
    fn all(client: &Client, request: Request<Vec<u8>>) {
        check(&client.fetch(request));
        check(&fetch(Request::new(Vec::new())));
    }
};
