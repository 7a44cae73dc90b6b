//! [`AsyncTlsStream`]: the client side of a TLS connection for async code, over wasock's
//! [`AsyncTcpStream`], for protocols that are not HTTP, and for hyper's client (feature
//! `hyper`: [`crate::rt::hyper::connect`]).

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::{failure_of, TlsFailure, TlsSession};
use crate::net::Shutdown;
use crate::rt::client::{pending, PollIo};
use crate::rt::AsyncTcpStream;

/// A TLS connection (client side) for async code: `futures_io::AsyncRead` and `AsyncWrite`
/// over an [`AsyncTcpStream`], with the trust and errors of [`TlsStream`](super::TlsStream)
/// (the process-wide configuration: Mozilla's roots or `SSL_CERT_FILE`).
///
/// A write is taken whole by the TLS session and sent as the socket takes it: `flush`
/// (or the next read) waits until it is out. Reading gives `Ok(0)` after the server's
/// close_notify, and `UnexpectedEof` ([`TlsFailure::Truncated`]) for a close without it.
pub struct AsyncTlsStream {
    session: TlsSession,
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
            session: TlsSession::new(host, &target)?,
            stream,
            closing: false,
        };
        poll_fn(|cx| {
            let mut io = PollIo {
                stream: &tls.stream,
                cx,
            };
            pending(tls.session.handshake(&mut io))
        })
        .await?;
        Ok(tls)
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
        pending(this.session.read(&mut Self::io(&this.stream, cx), buf))
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
        pending(this.session.write(&mut Self::io(&this.stream, cx), buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_pending_records(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.closing {
            this.closing = true;
            this.session.close();
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
        pending(self.session.flush_tls(&mut Self::io(&self.stream, cx)))
    }
}

impl fmt::Debug for AsyncTlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncTlsStream")
            .field("server", &self.session.target)
            .field("stream", &self.stream)
            .finish()
    }
}
