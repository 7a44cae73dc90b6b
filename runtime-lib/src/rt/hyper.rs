//! hyper 1.x on wasock (feature `hyper`): `hyper::rt::Read`/`Write` for [`AsyncTcpStream`],
//! an executor ([`WasockExecutor`]) and a timer ([`WasockTimer`]), so that
//! `hyper::server::conn::http1` and `hyper::client::conn::http1` run on this runtime, on
//! WasmEdge and natively alike.
//!
//! A server, one task per connection:
//!
//! ```no_run
//! use std::convert::Infallible;
//! use hyper::body::Incoming;
//! use hyper::service::service_fn;
//! use wasock::rt::{self, hyper::WasockTimer, AsyncTcpListener};
//!
//! fn main() -> std::io::Result<()> {
//!     rt::block_on(async {
//!         let listener = AsyncTcpListener::bind("127.0.0.1:8080")?;
//!         loop {
//!             let (stream, _) = listener.accept().await?;
//!             rt::spawn(async move {
//!                 let service = service_fn(|_request: hyper::Request<Incoming>| async {
//!                     Ok::<_, Infallible>(hyper::Response::new("hello".to_string()))
//!                 });
//!                 let _ = hyper::server::conn::http1::Builder::new()
//!                     .timer(WasockTimer)
//!                     .serve_connection(stream, service)
//!                     .await;
//!             });
//!         }
//!     })
//! }
//! ```

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

#[cfg(feature = "tls")]
use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::{Executor, ReadBufCursor, Timer};

use super::net::AsyncTcpStream;
use super::time::{sleep_until, Sleep};

thread_local! {
    /// Where a read lands before it is copied into hyper's (possibly uninitialised) buffer.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 64 * 1024]);
}

/// Reads through the scratch buffer into hyper's cursor.
fn read_to_cursor(
    mut buf: ReadBufCursor<'_>,
    read: impl FnOnce(&mut [u8]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<()>> {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let room = buf.remaining().min(scratch.len());
        match read(&mut scratch[..room]) {
            Poll::Ready(Ok(n)) => {
                buf.put_slice(&scratch[..n]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    })
}

impl hyper::rt::Read for AsyncTcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        read_to_cursor(buf, |scratch| self.poll_read_ref(cx, scratch))
    }
}

impl hyper::rt::Write for AsyncTcpStream {
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

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(self, cx)
    }
}

/// Spawns hyper's background futures as wasock tasks ([`spawn`](super::spawn)); for
/// builders that take an executor (`hyper::client::conn::http2`, hyper-util's).
#[derive(Debug, Clone, Copy, Default)]
pub struct WasockExecutor;

impl<F> Executor<F> for WasockExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        super::spawn(future);
    }
}

/// hyper's timer on wasock's timers: give it to `http1::Builder::timer` so header read
/// timeouts and keep-alive timers work.
#[derive(Debug, Clone, Copy, Default)]
pub struct WasockTimer;

/// A wasock [`Sleep`] as hyper's `Sleep`.
struct HyperSleep(Sleep);

impl Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl Timer for WasockTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(sleep_until(deadline)))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(mut ours) => ours.0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

#[cfg(feature = "tls")]
impl hyper::rt::Read for crate::tls::AsyncTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        read_to_cursor(buf, |scratch| AsyncRead::poll_read(self, cx, scratch))
    }
}

#[cfg(feature = "tls")]
impl hyper::rt::Write for crate::tls::AsyncTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(self, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(self, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_close(self, cx)
    }
}

/// A connection for hyper's client made by [`connect`]: plain TCP for `http://`, TLS for
/// `https://` (feature `tls`). Implements hyper's `Read` and `Write`.
#[derive(Debug)]
pub struct ClientStream {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Plain(AsyncTcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::AsyncTlsStream>),
}

/// Connects to the host and port of `uri` for hyper's client
/// (`hyper::client::conn::http1::handshake`): TCP for `http://` (port 80 by default), and
/// for `https://` (port 443 by default; feature `tls`) a TLS connection verified for the
/// URI's host, with the trust and errors of [`crate::tls`].
///
/// ```no_run
/// # async fn call() -> Result<(), Box<dyn std::error::Error>> {
/// let uri: hyper::Uri = "https://example.com/".parse()?;
/// let stream = wasock::rt::hyper::connect(&uri).await?;
/// let (mut sender, connection) = hyper::client::conn::http1::handshake(stream).await?;
/// wasock::rt::spawn(connection);
/// let request = hyper::Request::get(uri.path())
///     .header("host", "example.com")
///     .body(String::new())?;
/// let response = sender.send_request(request).await?;
/// println!("{}", response.status());
/// # Ok(())
/// # }
/// ```
///
/// Errors: a URI without a host or with another scheme (`InvalidInput`), `https://` without
/// feature `tls`, resolving, connecting, and TLS failures.
pub async fn connect(uri: &hyper::Uri) -> io::Result<ClientStream> {
    let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
    let host = uri
        .host()
        .ok_or_else(|| invalid(format!("`{uri}` has no host; help: give an absolute URL")))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(invalid(format!(
                "`{uri}`: only http:// and https:// URLs can be connected to"
            )))
        }
    };
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if tls {
        #[cfg(feature = "tls")]
        return Ok(ClientStream {
            inner: Inner::Tls(Box::new(
                crate::tls::AsyncTlsStream::connect(host, port).await?,
            )),
        });
        #[cfg(not(feature = "tls"))]
        return Err(invalid(format!(
            "`{uri}`: https needs wasock's `tls` feature; help: in Cargo.toml, add \
             `features = [\"hyper\", \"tls\"]` to the wasock dependency"
        )));
    }
    Ok(ClientStream {
        inner: Inner::Plain(AsyncTcpStream::connect((bare, port)).await?),
    })
}

impl hyper::rt::Read for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(stream) => hyper::rt::Read::poll_read(Pin::new(stream), cx, buf),
            #[cfg(feature = "tls")]
            Inner::Tls(stream) => hyper::rt::Read::poll_read(Pin::new(&mut **stream), cx, buf),
        }
    }
}

impl hyper::rt::Write for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(stream) => hyper::rt::Write::poll_write(Pin::new(stream), cx, buf),
            #[cfg(feature = "tls")]
            Inner::Tls(stream) => hyper::rt::Write::poll_write(Pin::new(&mut **stream), cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(stream) => hyper::rt::Write::poll_flush(Pin::new(stream), cx),
            #[cfg(feature = "tls")]
            Inner::Tls(stream) => hyper::rt::Write::poll_flush(Pin::new(&mut **stream), cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(stream) => hyper::rt::Write::poll_shutdown(Pin::new(stream), cx),
            #[cfg(feature = "tls")]
            Inner::Tls(stream) => hyper::rt::Write::poll_shutdown(Pin::new(&mut **stream), cx),
        }
    }
}
