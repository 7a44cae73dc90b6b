//! [`AsyncTlsStream`]: a TLS connection for async code over wasock's [`AsyncTcpStream`],
//! the client side ([`AsyncTlsStream::connect`]; for hyper's client, feature `hyper`:
//! [`crate::rt::hyper::connect`]) or the server side
//! ([`TlsServerConfig::accept`](super::TlsServerConfig::accept), for hyper's server).

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::{failure_of, ServerSession, TlsFailure, TlsSession};
use crate::net::Shutdown;
use crate::rt::client::{pending, PollIo};
use crate::rt::AsyncTcpStream;

/// A TLS connection for async code: `futures_io::AsyncRead` and `AsyncWrite` (and hyper's
/// `Read` and `Write` with feature `hyper`) over an [`AsyncTcpStream`]. The client side has
/// the trust and errors of [`TlsStream`](super::TlsStream) (the process-wide configuration:
/// Mozilla's roots or `SSL_CERT_FILE`); the server side comes from
/// [`TlsServerConfig::accept`](super::TlsServerConfig::accept).
///
/// A write is taken whole by the TLS session and sent as the socket takes it: `flush`
/// (or the next read) waits until it is out. Reading gives `Ok(0)` after the server's
/// close_notify, and `UnexpectedEof` ([`TlsFailure::Truncated`]) for a close without it.
pub struct AsyncTlsStream {
    session: Session,
    stream: AsyncTcpStream,
    /// close_notify was queued.
    closing: bool,
}

impl AsyncTlsStream {
    /// Connects to `host:port` (names resolve through the runtime's resolver) and completes
    /// the handshake, verifying the certificate for `host` (a name, also sent as SNI, or an
    /// IP address).
    ///
    /// Errors: resolving or connecting, as [`AsyncTcpStream::connect`]; a TLS failure
    /// ([`AsyncTlsStream::failure`] tells which), whose text names `host:port` and ends with
    /// `help: …`.
    pub async fn connect(host: &str, port: u16) -> io::Result<AsyncTlsStream> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let stream = AsyncTcpStream::connect((bare, port)).await?;
        AsyncTlsStream::wrap(host, port, stream).await
    }

    /// Runs the handshake on a connected `stream`, verifying the certificate for `host`;
    /// `port` is used in error messages only.
    pub async fn wrap(host: &str, port: u16, stream: AsyncTcpStream) -> io::Result<AsyncTlsStream> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut tls = AsyncTlsStream {
            session: Session::Client(Box::new(TlsSession::new(host, &target)?)),
            stream,
            closing: false,
        };
        tls.handshake().await?;
        Ok(tls)
    }

    /// The server side: the handshake of `session` on an accepted `stream`.
    pub(crate) async fn accept(
        session: ServerSession,
        stream: AsyncTcpStream,
    ) -> io::Result<AsyncTlsStream> {
        let mut tls = AsyncTlsStream {
            session: Session::Server(Box::new(session)),
            stream,
            closing: false,
        };
        tls.handshake().await?;
        Ok(tls)
    }

    async fn handshake(&mut self) -> io::Result<()> {
        poll_fn(|cx| {
            let mut io = PollIo {
                stream: &self.stream,
                cx,
            };
            pending(match &mut self.session {
                Session::Client(session) => session.handshake(&mut io),
                Session::Server(session) => session.handshake(&mut io),
            })
        })
        .await
    }

    /// The TLS failure an error from this stream carries, if it is one.
    pub fn failure(error: &io::Error) -> Option<&TlsFailure> {
        failure_of(error)
    }

    /// The underlying socket (for addresses).
    pub fn get_ref(&self) -> &AsyncTcpStream {
        &self.stream
    }

    fn io<'a, 'b>(stream: &'a AsyncTcpStream, cx: &'a mut Context<'b>) -> PollIo<'a, 'b> {
        PollIo { stream, cx }
    }
}

impl AsyncRead for AsyncTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut io = Self::io(&this.stream, cx);
        match &mut this.session {
            Session::Client(session) => pending(session.read(&mut io, buf)),
            Session::Server(session) => {
                let outcome = pending(session.read(&mut io, buf, 16));
                if outcome.is_pending() && !session.socket_blocked {
                    // Stopped at its bound of socket reads: no waker was left; poll again.
                    io.cx.waker().wake_by_ref();
                }
                outcome
            }
        }
    }
}

impl AsyncWrite for AsyncTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Earlier records first, so what the session holds stays bounded by the socket.
        match this.poll_pending_records(cx) {
            Poll::Ready(Ok(())) => {}
            other => return other.map_ok(|()| 0),
        }
        let mut io = Self::io(&this.stream, cx);
        pending(match &mut this.session {
            Session::Client(session) => session.write(&mut io, buf),
            Session::Server(session) => session.write(&mut io, buf),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_pending_records(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.closing {
            this.closing = true;
            match &mut this.session {
                Session::Client(session) => session.close(),
                Session::Server(session) => session.queue_close(),
            }
        }
        match this.poll_pending_records(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(this.stream.shutdown(Shutdown::Write)),
            other => other,
        }
    }
}

impl AsyncTlsStream {
    /// Writes out the records the session holds; `Pending` (a waker set) until done.
    fn poll_pending_records(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut io = Self::io(&self.stream, cx);
        pending(match &mut self.session {
            Session::Client(session) => session.flush_tls(&mut io),
            Session::Server(session) => session.flush(&mut io),
        })
    }
}

/// Which side of the connection this is.
enum Session {
    Client(Box<TlsSession>),
    Server(Box<ServerSession>),
}

impl Session {
    fn target(&self) -> &str {
        match self {
            Session::Client(session) => &session.target,
            Session::Server(_) => "(server side)",
        }
    }
}

impl fmt::Debug for AsyncTlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncTlsStream")
            .field("server", &self.session.target())
            .field("stream", &self.stream)
            .finish()
    }
}
