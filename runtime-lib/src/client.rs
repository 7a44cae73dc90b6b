//! HTTP/1.1 clients: blocking [`get`], [`post`] and [`send`], and [`Client::send_all`],
//! which drives many requests at once over one [`EventLoop`] on one thread.
//!
//! URLs are `http://host[:port]/path?query`, and with feature `tls` also `https://…` (see
//! [`tls`](crate::tls) for trust and verification). Each request uses its own connection
//! (`Connection: close`), so a response may also be delimited by the server closing.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::event::{EventLoop, Interest, Token};
use crate::http::{
    encode_request, HeaderValue, HttpError, Limits, Method, Request, Response, ResponseDecoder,
};
use crate::net::{TcpStream, ToSocketAddrs};

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL could not be used.
    #[error("invalid url `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Connecting, sending or receiving failed.
    #[error("i/o error talking to {target}: {source}{hint}", hint = io_hint(.source))]
    Io {
        /// `host:port` of the server.
        target: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The server's response was not valid HTTP or was too large.
    #[error("bad response from {target}: {source}")]
    Http {
        /// `host:port` of the server.
        target: String,
        /// What the response decoder rejected.
        source: HttpError,
    },
    /// No complete response within the configured timeout.
    #[error("no response from {target} within {timeout:?}")]
    Timeout {
        /// `host:port` of the server.
        target: String,
        /// The timeout that passed.
        timeout: Duration,
    },
    /// The server closed the connection before a complete response arrived.
    #[error("{target} closed the connection before a complete response")]
    Incomplete {
        /// `host:port` of the server.
        target: String,
    },
    /// The TLS connection to an `https://` server failed: an untrusted, expired or
    /// wrong-name certificate, a TLS alert, a server that is not TLS (feature `tls`).
    #[cfg(feature = "tls")]
    #[error("{}", failure.describe(target))]
    Tls {
        /// `host:port` of the server.
        target: String,
        /// What went wrong.
        failure: crate::tls::TlsFailure,
    },
}

fn io_hint(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => "; help: start the server first, or check the port",
        io::ErrorKind::NotFound => "; help: check the host name",
        _ => "",
    }
}

/// Client settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Bounds on the response head and body.
    pub limits: Limits,
    /// Time allowed for one request from connecting to the last byte of its response.
    pub timeout: Duration,
    /// At most this many requests in flight at once in [`Client::send_all`].
    pub max_in_flight: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            limits: Limits {
                max_body_bytes: 64 * 1024 * 1024,
                ..Limits::default()
            },
            timeout: Duration::from_secs(30),
            max_in_flight: 256,
        }
    }
}

impl ClientConfig {
    /// Sets [`ClientConfig::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Sets [`ClientConfig::max_in_flight`].
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self
    }
    /// Sets [`ClientConfig::limits`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Sends `GET url` with default settings and returns the response.
pub fn get(url: &str) -> Result<Response<Vec<u8>>, ClientError> {
    Client::default().get(url)
}

/// Sends `POST url` with `body` with default settings and returns the response.
pub fn post(url: &str, body: impl Into<Vec<u8>>) -> Result<Response<Vec<u8>>, ClientError> {
    Client::default().post(url, body)
}

/// Sends `request` (its URI must be an absolute `http://` URL, or `https://` with feature
/// `tls`) and returns the response.
pub fn send(request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, ClientError> {
    Client::default().send(request)
}

/// An HTTP client with its settings.
#[derive(Debug, Clone, Default)]
pub struct Client {
    config: ClientConfig,
}

impl Client {
    /// A client with the given settings.
    pub fn new(config: ClientConfig) -> Client {
        Client { config }
    }

    /// The client's settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sends `GET url`.
    pub fn get(&self, url: &str) -> Result<Response<Vec<u8>>, ClientError> {
        self.send(build_request(Method::GET, url, Vec::new())?)
    }

    /// Sends `POST url` with `body`.
    pub fn post(
        &self,
        url: &str,
        body: impl Into<Vec<u8>>,
    ) -> Result<Response<Vec<u8>>, ClientError> {
        self.send(build_request(Method::POST, url, body.into())?)
    }

    /// Sends `request` and waits (blocking) for its response.
    ///
    /// Waiting goes through the event loop, so [`ClientConfig::timeout`] holds on every
    /// backend without relying on socket timeout options.
    pub fn send(&self, request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, ClientError> {
        let target = request.uri().to_string();
        self.send_all(vec![request])
            .pop()
            .unwrap_or(Err(ClientError::Incomplete { target }))
    }

    /// Sends all `requests` concurrently (at most [`ClientConfig::max_in_flight`] at once)
    /// on this thread over non-blocking sockets, and returns their outcomes in order.
    ///
    /// One request failing does not affect the others. Connecting itself blocks briefly
    /// (WasmEdge's socket extension offers only blocking connect); sending and receiving
    /// never block.
    pub fn send_all(
        &self,
        requests: Vec<Request<Vec<u8>>>,
    ) -> Vec<Result<Response<Vec<u8>>, ClientError>> {
        let mut results: Vec<Option<Outcome>> = requests.iter().map(|_| None).collect();
        let mut queue = requests.into_iter().enumerate();
        let mut events = match EventLoop::new() {
            Ok(events) => events,
            Err(source) => {
                return results
                    .into_iter()
                    .map(|_| {
                        Err(ClientError::Io {
                            target: "event loop".into(),
                            source: io::Error::new(source.kind(), source.to_string()),
                        })
                    })
                    .collect();
            }
        };
        let mut in_flight: Vec<Option<InFlight>> = Vec::new();
        let mut active = 0usize;
        let mut input = vec![0u8; 64 * 1024];
        let mut ready = Vec::new();
        let mut exhausted = false;
        loop {
            while !exhausted && active < self.config.max_in_flight {
                let Some((index, request)) = queue.next() else {
                    exhausted = true;
                    break;
                };
                match self.start(request, index, &mut events, &mut in_flight) {
                    Ok(()) => active += 1,
                    Err(error) => results[index] = Some(Err(error)),
                }
            }
            if active == 0 {
                break;
            }
            let now = Instant::now();
            let next_deadline = in_flight
                .iter()
                .flatten()
                .map(|f| f.deadline)
                .min()
                .unwrap_or(now);
            let timeout = next_deadline
                .saturating_duration_since(now)
                .min(Duration::from_millis(100));
            if let Err(source) = events.wait(&mut ready, Some(timeout)) {
                // The loop itself broke: fail what is in flight rather than spin.
                for slot in in_flight.iter_mut() {
                    if let Some(flight) = slot.take() {
                        let source = io::Error::new(source.kind(), source.to_string());
                        let outcome = Err(flight.prepared.io(source));
                        flight.settle(outcome, &mut events, &mut results);
                    }
                }
                break;
            }
            for event in &ready {
                let slot = event.token.0;
                let Some(Some(flight)) = in_flight.get_mut(slot) else {
                    continue;
                };
                if let Some(outcome) = flight.advance(&mut input, &mut events) {
                    if let Some(flight) = in_flight[slot].take() {
                        flight.settle(outcome, &mut events, &mut results);
                        active -= 1;
                    }
                }
            }
            let now = Instant::now();
            for slot in in_flight.iter_mut() {
                if slot.as_ref().is_some_and(|flight| now >= flight.deadline) {
                    if let Some(flight) = slot.take() {
                        let outcome = Err(flight.prepared.timeout(self.config.timeout));
                        flight.settle(outcome, &mut events, &mut results);
                        active -= 1;
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|outcome| {
                outcome.unwrap_or_else(|| {
                    Err(ClientError::Incomplete {
                        target: String::new(),
                    })
                })
            })
            .collect()
    }

    fn start(
        &self,
        request: Request<Vec<u8>>,
        index: usize,
        events: &mut EventLoop,
        in_flight: &mut Vec<Option<InFlight>>,
    ) -> Result<(), ClientError> {
        let prepared = Prepared::new(request)?;
        // Before connecting: an unusable SSL_CERT_FILE is reported as such.
        let session = prepared.session()?;
        let stream = prepared.connect()?;
        stream
            .set_nonblocking(true)
            .map_err(|source| prepared.io(source))?;
        let slot = match in_flight.iter().position(Option::is_none) {
            Some(slot) => slot,
            None => {
                in_flight.push(None);
                in_flight.len() - 1
            }
        };
        events
            .register(&stream, Token(slot), Interest::WRITABLE)
            .map_err(|source| prepared.io(source))?;
        in_flight[slot] = Some(InFlight {
            index,
            stream,
            session,
            written: 0,
            write_error: None,
            decoder: ResponseDecoder::new(self.config.limits),
            deadline: Instant::now() + self.config.timeout,
            token: Token(slot),
            prepared,
        });
        Ok(())
    }
}

/// A request ready to go: where to, its method, and its bytes on the wire.
pub(crate) struct Prepared {
    pub(crate) target: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `https://`: the connection runs TLS.
    pub(crate) tls: bool,
    pub(crate) method: Method,
    pub(crate) bytes: Vec<u8>,
    /// The request asks to close the connection after its response.
    pub(crate) closes: bool,
}

impl Prepared {
    fn new(request: Request<Vec<u8>>) -> Result<Prepared, ClientError> {
        Prepared::with_keep_alive(request, false)
    }

    /// Checks the URL and encodes the request; without `keep_alive` it carries
    /// `Connection: close` (a caller's own `Connection` header is kept otherwise).
    pub(crate) fn with_keep_alive(
        request: Request<Vec<u8>>,
        keep_alive: bool,
    ) -> Result<Prepared, ClientError> {
        let url = request.uri().to_string();
        let invalid = |reason: &str| ClientError::InvalidUrl {
            url: url.clone(),
            reason: reason.to_string(),
        };
        let tls = match request.uri().scheme_str() {
            Some("http") => false,
            #[cfg(feature = "tls")]
            Some("https") => true,
            #[cfg(not(feature = "tls"))]
            Some("https") => {
                return Err(invalid(
                    "https needs wasock's `tls` feature; help: in Cargo.toml, add \
                     `features = [\"tls\"]` to the wasock dependency",
                ))
            }
            Some(scheme) => {
                return Err(invalid(&format!(
                    "{scheme}:// is not supported; help: use an http:// or https:// URL"
                )))
            }
            None => {
                return Err(invalid(
                    "expected an absolute URL such as http://127.0.0.1:8080/",
                ))
            }
        };
        let host = request
            .uri()
            .host()
            .ok_or_else(|| invalid("the URL has no host"))?
            .to_string();
        let port = request
            .uri()
            .port_u16()
            .unwrap_or(if tls { 443 } else { 80 });
        let authority = request
            .uri()
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| host.clone());
        let path = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let (mut parts, body) = request.into_parts();
        parts.uri = path.parse().map_err(|_| invalid("the path is not valid"))?;
        if !parts.headers.contains_key(::http::header::HOST) {
            let value =
                HeaderValue::from_str(&authority).map_err(|_| invalid("the host is not valid"))?;
            parts.headers.insert(::http::header::HOST, value);
        }
        if !keep_alive {
            parts.headers.insert(
                ::http::header::CONNECTION,
                HeaderValue::from_static("close"),
            );
        }
        let closes = !crate::http::wants_keep_alive(parts.version, &parts.headers);
        let method = parts.method.clone();
        let mut bytes = Vec::with_capacity(body.len() + 256);
        encode_request(&Request::from_parts(parts, body), &mut bytes);
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        // Errors name host and port even where the URL leaves the port implicit.
        let target = match (request_port_given(&authority), host.contains(':')) {
            (true, _) => authority,
            (false, true) => format!("[{host}]:{port}"),
            (false, false) => format!("{host}:{port}"),
        };
        Ok(Prepared {
            target,
            host,
            port,
            tls,
            method,
            bytes,
            closes,
        })
    }

    /// Connects to the request's host and port.
    fn connect(&self) -> Result<TcpStream, ClientError> {
        let addrs = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|source| self.io(source))?;
        let stream = TcpStream::connect(addrs.as_slice()).map_err(|source| self.io(source))?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    /// The TLS session for this request's connection, if its URL is `https://`.
    pub(crate) fn session(&self) -> Result<Session, ClientError> {
        #[cfg(feature = "tls")]
        if self.tls {
            return crate::tls::TlsSession::new(&self.host, &self.target)
                .map(|session| Some(Box::new(session)))
                .map_err(|source| self.io(source));
        }
        Ok(None)
    }

    pub(crate) fn io(&self, source: io::Error) -> ClientError {
        #[cfg(feature = "tls")]
        if let Some(failure) = crate::tls::failure_of(&source) {
            return ClientError::Tls {
                target: self.target.clone(),
                failure: failure.clone(),
            };
        }
        ClientError::Io {
            target: self.target.clone(),
            source,
        }
    }

    pub(crate) fn incomplete(&self) -> ClientError {
        ClientError::Incomplete {
            target: self.target.clone(),
        }
    }

    pub(crate) fn timeout(&self, timeout: Duration) -> ClientError {
        ClientError::Timeout {
            target: self.target.clone(),
            timeout,
        }
    }

    pub(crate) fn http(&self, source: HttpError) -> ClientError {
        ClientError::Http {
            target: self.target.clone(),
            source,
        }
    }

    /// The server closed: the response ends here, if it was close-delimited.
    pub(crate) fn finish(
        &self,
        decoder: &mut ResponseDecoder,
    ) -> Result<Response<Vec<u8>>, ClientError> {
        match decoder.finish(&self.method) {
            Ok(Some(response)) => Ok(response),
            Ok(None) => Err(self.incomplete()),
            Err(source) => Err(self.http(source)),
        }
    }
}

/// Whether `authority` (`host[:port]`) names a port.
fn request_port_given(authority: &str) -> bool {
    match authority.rsplit_once(':') {
        Some((host, port)) => !port.is_empty() && (!host.contains(':') || host.ends_with(']')),
        None => false,
    }
}

/// The TLS side of a connection (`None` for plain HTTP). Without feature `tls` it is
/// always `None`, and the code that drives it compiles away.
#[cfg(feature = "tls")]
pub(crate) type Session = Option<Box<crate::tls::TlsSession>>;
/// The TLS side of a connection: always `None` without feature `tls`.
#[cfg(not(feature = "tls"))]
pub(crate) type Session = Option<std::convert::Infallible>;

/// Writes request bytes on the connection: straight to the socket, or through TLS (which
/// takes them all and sends what the socket takes now; [`wire_wants_write`] tells if more waits).
pub(crate) fn wire_write(
    session: &mut Session,
    io: &mut (impl Read + Write),
    buf: &[u8],
) -> io::Result<usize> {
    match session {
        #[cfg(feature = "tls")]
        Some(tls) => tls.write(io, buf),
        #[cfg(not(feature = "tls"))]
        Some(never) => match *never {},
        None => io.write(buf),
    }
}

/// Reads response bytes from the connection, moving a TLS handshake on as needed.
pub(crate) fn wire_read(
    session: &mut Session,
    io: &mut (impl Read + Write),
    buf: &mut [u8],
) -> io::Result<usize> {
    match session {
        #[cfg(feature = "tls")]
        Some(tls) => tls.read(io, buf),
        #[cfg(not(feature = "tls"))]
        Some(never) => match *never {},
        None => io.read(buf),
    }
}

/// Whether TLS records wait for the socket to take them.
pub(crate) fn wire_wants_write(session: &Session) -> bool {
    match session {
        #[cfg(feature = "tls")]
        Some(tls) => tls.wants_write(),
        #[cfg(not(feature = "tls"))]
        Some(never) => match *never {},
        None => false,
    }
}

struct InFlight {
    index: usize,
    stream: TcpStream,
    session: Session,
    written: usize,
    write_error: Option<io::Error>,
    decoder: ResponseDecoder,
    deadline: Instant,
    token: Token,
    prepared: Prepared,
}

type Outcome = Result<Response<Vec<u8>>, ClientError>;

impl InFlight {
    /// Ends the exchange: stops watching its socket and records `outcome` in its place.
    fn settle(self, outcome: Outcome, events: &mut EventLoop, results: &mut [Option<Outcome>]) {
        let _ = events.deregister(&self.stream);
        results[self.index] = Some(outcome);
    }

    /// Watches the socket for reading, and for writing too while TLS records wait to go out
    /// (a handshake flight, a large request), since reading is what moves them on.
    fn watch(&self, events: &mut EventLoop) -> io::Result<()> {
        let interest = if wire_wants_write(&self.session) {
            Interest::BOTH
        } else {
            Interest::READABLE
        };
        events.reregister(&self.stream, self.token, interest)
    }

    /// Moves the exchange forward as far as it goes without blocking; `Some` once it is over.
    fn advance(&mut self, input: &mut [u8], events: &mut EventLoop) -> Option<Outcome> {
        while self.written < self.prepared.bytes.len() {
            let bytes = &self.prepared.bytes[self.written..];
            match wire_write(&mut self.session, &mut &self.stream, bytes) {
                Ok(0) => return Some(Err(self.prepared.incomplete())),
                Ok(n) => self.written += n,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return None,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    // The server may have answered early (e.g. 413 to a large upload) and
                    // stopped reading: its response is worth more than our write error.
                    self.written = self.prepared.bytes.len();
                    self.write_error = Some(source);
                }
            }
        }
        if let Err(source) = self.watch(events) {
            return Some(Err(self.prepared.io(source)));
        }
        // A bounded number of reads per turn: a server that sends without pause (say,
        // endless interim responses, which are skipped) must not keep us from the deadline
        // check. Readiness is level-triggered, so what is left is reported again.
        for _ in 0..READS_PER_TURN {
            match wire_read(&mut self.session, &mut &self.stream, input) {
                Ok(0) => {
                    let outcome = self.prepared.finish(&mut self.decoder);
                    return Some(match (outcome, self.write_error.take()) {
                        (Err(_), Some(source)) => Err(self.prepared.io(source)),
                        (outcome, _) => outcome,
                    });
                }
                Ok(n) => {
                    self.decoder.feed(&input[..n]);
                    match self.decoder.next_response(&self.prepared.method) {
                        Ok(Some(response)) => return Some(Ok(response)),
                        Ok(None) => {}
                        Err(source) => return Some(Err(self.prepared.http(source))),
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    // A read may have moved TLS records out (or queued more): watch again.
                    if self.session.is_some() {
                        if let Err(source) = self.watch(events) {
                            return Some(Err(self.prepared.io(source)));
                        }
                    }
                    return None;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    let source = self.write_error.take().unwrap_or(source);
                    return Some(Err(self.prepared.io(source)));
                }
            }
        }
        None
    }
}

/// How many reads one exchange gets per turn of [`Client::send_all`]'s loop.
const READS_PER_TURN: usize = 16;

/// Builds a request for `method url` with `body`, checking the URL.
pub fn build_request(
    method: Method,
    url: &str,
    body: Vec<u8>,
) -> Result<Request<Vec<u8>>, ClientError> {
    let uri: ::http::Uri =
        url.parse()
            .map_err(|error: ::http::uri::InvalidUri| ClientError::InvalidUrl {
                url: url.to_string(),
                reason: error.to_string(),
            })?;
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    Ok(request)
}

#[cfg(all(test, not(target_os = "wasi")))]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_server_flooding_interim_responses_cannot_outlast_the_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let flood = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(4096);
            while stream.write_all(&flood).is_ok() {}
        });
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let client = Client::new(ClientConfig::default().timeout(Duration::from_millis(300)));
            let _ = sender.send(client.get(&format!("http://127.0.0.1:{port}/")));
        });
        let outcome = receiver
            .recv_timeout(Duration::from_secs(10))
            .expect("the client kept reading past its timeout");
        assert!(
            matches!(outcome, Err(ClientError::Timeout { .. })),
            "{outcome:?}"
        );
    }
}
