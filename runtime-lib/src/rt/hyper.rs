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

use hyper::rt::{Executor, ReadBufCursor, Timer};

use super::net::AsyncTcpStream;
use super::time::{sleep_until, Sleep};

thread_local! {
    /// Where a read lands before it is copied into hyper's (possibly uninitialised) buffer.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 64 * 1024]);
}

impl hyper::rt::Read for AsyncTcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let room = buf.remaining().min(scratch.len());
            match self.poll_read_ref(cx, &mut scratch[..room]) {
                Poll::Ready(Ok(n)) => {
                    buf.put_slice(&scratch[..n]);
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
                Poll::Pending => Poll::Pending,
            }
        })
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
