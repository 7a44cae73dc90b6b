//! Shared helpers for the integration tests: servers on ephemeral loopback ports that stop
//! when dropped, a test handler, and a small independent HTTP/1.1 response reader.

#![allow(dead_code)]

pub mod pki;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use wasock::http::{Request, Response, StatusCode};
use wasock::{PollServer, Server, ServerConfig, ShutdownHandle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Blocking,
    Poll,
    /// `PollServer::run_async` with the same handler, awaited.
    Async,
}

pub const BOTH: [Kind; 2] = [Kind::Blocking, Kind::Poll];
/// Every server: what holds for the sync servers must hold for the async one too.
pub const ALL: [Kind; 3] = [Kind::Blocking, Kind::Poll, Kind::Async];

/// A server running on its own thread; shut down and joined on drop.
pub struct Running {
    pub addr: SocketAddr,
    stop: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Running {
    pub fn start(kind: Kind) -> Running {
        Running::with_config(kind, ServerConfig::default())
    }

    pub fn with_config(kind: Kind, config: ServerConfig) -> Running {
        raise_fd_limit();
        let (addr, stop, thread) = match kind {
            Kind::Blocking => {
                let server = Server::bind("127.0.0.1:0", config).expect("bind blocking server");
                let addr = server.local_addr().expect("local addr");
                let stop = server.shutdown_handle();
                (addr, stop, std::thread::spawn(move || server.run(handler)))
            }
            Kind::Poll => {
                let server = PollServer::bind("127.0.0.1:0", config).expect("bind poll server");
                let addr = server.local_addr().expect("local addr");
                let stop = server.shutdown_handle();
                (addr, stop, std::thread::spawn(move || server.run(handler)))
            }
            Kind::Async => {
                let server = PollServer::bind("127.0.0.1:0", config).expect("bind async server");
                let addr = server.local_addr().expect("local addr");
                let stop = server.shutdown_handle();
                let thread = std::thread::spawn(move || {
                    server.run_async(|request| async move {
                        // A turn of the runtime before answering, as a handler awaiting
                        // something would take.
                        wasock::rt::yield_now().await;
                        handler(request)
                    })
                });
                (addr, stop, thread)
            }
        };
        Running {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect to the test server");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(Duration::from_secs(20)))
            .expect("write timeout");
        stream
    }

    /// Stops the server and returns what `run` returned.
    pub fn stop(mut self) -> io::Result<()> {
        self.stop.shutdown();
        let thread = self.thread.take().expect("server thread");
        thread.join().expect("server thread panicked")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `/big?N` answers N bytes of `x`; `/panic` panics; `/bye` asks to close with a token
/// list (`Connection: Close, x-trace`); anything else echoes the body.
pub fn handler(request: Request<Vec<u8>>) -> Response<Vec<u8>> {
    let path = request.uri().path();
    if path == "/big" {
        let size: usize = request
            .uri()
            .query()
            .and_then(|q| q.parse().ok())
            .unwrap_or(0);
        return Response::new(vec![b'x'; size]);
    }
    if path == "/panic" {
        panic!("test handler panics on purpose");
    }
    if path == "/bye" {
        let mut response = Response::new(b"bye".to_vec());
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("Close, x-trace"),
        );
        return response;
    }
    if path == "/status" {
        let mut response = Response::new(Vec::new());
        *response.status_mut() = StatusCode::NO_CONTENT;
        return response;
    }
    let mut body = b"echo: ".to_vec();
    body.extend_from_slice(request.body());
    Response::new(body)
}

/// Lets one test process hold a few thousand sockets (client and server ends).
pub fn raise_fd_limit() {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// How many client connections (each also costing the server a descriptor) this process
/// can open at once, up to `wanted`; says so on stderr when the limit forces fewer.
pub fn affordable_connections(wanted: usize) -> usize {
    raise_fd_limit();
    // SAFETY: plain getrlimit on a local struct.
    let soft = unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur
    };
    let affordable = (soft.saturating_sub(256) / 2) as usize;
    if affordable < wanted {
        eprintln!("open-file limit {soft} allows only {affordable} of {wanted} connections");
    }
    wanted.min(affordable.max(10))
}

/// Makes the next close of `stream` send a reset instead of a FIN.
pub fn set_linger_zero(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt with a valid fd and a correctly sized option value.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt SO_LINGER");
}

/// One response as read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads responses with Content-Length framing (what our servers send) from a stream,
/// independently of the crate's own decoder.
pub struct ResponseReader {
    pub stream: TcpStream,
    buffer: Vec<u8>,
}

impl ResponseReader {
    pub fn new(stream: TcpStream) -> ResponseReader {
        ResponseReader {
            stream,
            buffer: Vec::new(),
        }
    }

    fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 64 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buffer.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// The next response, or `None` at a clean end of stream.
    pub fn next(&mut self) -> io::Result<Option<RawResponse>> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.buffer) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let status = parsed.code.unwrap_or(0);
                    let headers: Vec<(String, String)> = parsed
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    let length: usize = headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.trim().parse().ok())
                        .unwrap_or(0);
                    while self.buffer.len() < head_len + length {
                        if !self.fill()? {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "body cut short",
                            ));
                        }
                    }
                    let body = self.buffer[head_len..head_len + length].to_vec();
                    self.buffer.drain(..head_len + length);
                    return Ok(Some(RawResponse {
                        status,
                        headers,
                        body,
                    }));
                }
                Ok(httparse::Status::Partial) => {
                    if !self.fill()? {
                        return if self.buffer.is_empty() {
                            Ok(None)
                        } else {
                            Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "head cut short",
                            ))
                        };
                    }
                }
                Err(error) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        error.to_string(),
                    ))
                }
            }
        }
    }

    /// True when the server closes (EOF or reset) with nothing more to read; false when
    /// more data comes or the read times out.
    pub fn at_eof(&mut self) -> bool {
        match self.next() {
            Ok(None) => true,
            Ok(Some(_)) => false,
            Err(error) => matches!(
                error.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
            ),
        }
    }
}

/// Sends `bytes` on a fresh connection and returns the first response.
pub fn exchange(server: &Running, bytes: &[u8]) -> RawResponse {
    let mut stream = server.connect();
    stream.write_all(bytes).expect("send request");
    let mut reader = ResponseReader::new(stream);
    reader
        .next()
        .expect("read response")
        .expect("a response before EOF")
}

pub fn post_request(path: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}
