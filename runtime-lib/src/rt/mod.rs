//! A single-threaded async runtime over the [`EventLoop`](crate::event::EventLoop):
//! [`block_on`] (the entry point for `main`), [`spawn`] for local tasks, timers
//! ([`sleep`], [`timeout`]) and async sockets ([`AsyncTcpListener`], [`AsyncTcpStream`],
//! [`AsyncUdpSocket`]).
//!
//! One thread runs everything: the executor polls ready tasks, then the reactor waits on the
//! event loop (WasmEdge's `poll_oneoff` on wasm, epoll natively) until a socket is ready or
//! the earliest timer is due, and turns what it saw into wakeups. Readiness is
//! level-triggered, as the loop is: a socket is watched for a direction only while a task
//! waits on it, and an event nobody waits for drops that interest, so an unread socket
//! cannot make the loop spin.
//!
//! ```no_run
//! use wasock::rt::{self, AsyncTcpListener};
//! use wasock::prelude::{AsyncReadExt, AsyncWriteExt};
//!
//! fn main() -> std::io::Result<()> {
//!     rt::block_on(async {
//!         let listener = AsyncTcpListener::bind("127.0.0.1:8080")?;
//!         loop {
//!             let (mut stream, _) = listener.accept().await?;
//!             rt::spawn(async move {
//!                 let mut buf = [0u8; 1024];
//!                 while let Ok(n @ 1..) = stream.read(&mut buf).await {
//!                     if stream.write_all(&buf[..n]).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!         }
//!     })
//! }
//! ```
//!
//! Task storage comes from `async-task` (smol's building block) and the I/O traits from
//! `futures-io`; the reactor, timers and executor loop are ours. Dropping a task's future
//! (through [`JoinHandle::abort`], or when [`block_on`] returns) drops the sockets it owned,
//! which stop being watched and are closed.

pub(crate) mod client;
mod executor;
#[cfg(feature = "hyper")]
pub mod hyper;
mod net;
mod reactor;
mod server;
mod time;

pub use client::{fetch, get, post};
pub use executor::{block_on, spawn, yield_now, JoinError, JoinHandle};
pub use net::{AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket};
pub use time::{sleep, sleep_until, timeout, timeout_at, Elapsed, Sleep, Timeout};
