//! `wasock`: write a network socket app once, run it on WasmEdge (wasm32-wasip1) and natively.
//!
//! One API, two backends: on `wasm32-wasip1` the sockets are WasmEdge's socket extension
//! (through `wasmedge_wasi_socket`), natively they are `std::net` with `polling` as the
//! readiness poller. App code needs no `cfg`.
//!
//! - [`net`]: TCP listener and stream, UDP socket, name resolution.
//! - [`event`]: a level-triggered readiness loop (register sockets with tokens, wait).
//! - [`http`]: an incremental HTTP/1.1 codec on `httparse` and the `http` crate's types.
//! - [`server`]: a blocking [`Server`] and a single-threaded many-connection [`PollServer`].
//! - [`client`]: blocking [`get`]/[`post`]/[`send`] and concurrent [`Client::send_all`].
//! - [`rt`]: a single-threaded async runtime on the same event loop ([`block_on`],
//!   [`spawn`], timers, async sockets), the async server [`PollServer::run_async`] and the
//!   async client [`fetch`]; with feature `hyper`, hyper 1's runtime traits.
//! - [`tls`] (feature `tls`): `https://` URLs in the clients above, [`TlsStream`], a
//!   blocking TLS connection for other protocols, and HTTPS from every server
//!   ([`TlsServerConfig`] in [`ServerConfig::tls`]); rustls with ring, Mozilla's roots built in.
//! - [`app`]: for `main`: [`port_from_env`], [`announce`] and [`exit_code`].
//!
//! ```no_run
//! use std::process::ExitCode;
//! use wasock::prelude::*;
//!
//! fn main() -> ExitCode {
//!     exit_code(serve()) // an error: one `error: …` line on stderr, exit code 1
//! }
//!
//! fn serve() -> std::io::Result<()> {
//!     let port = port_from_env(8080)?; // `PORT`, else 8080
//!     let server = PollServer::bind(("0.0.0.0", port), ServerConfig::default())?;
//!     announce(server.local_addr()?)?; // listening on http://127.0.0.1:8080/
//!     server.run(|request: Request<Vec<u8>>| {
//!         let mut body = b"echo: ".to_vec();
//!         body.extend_from_slice(request.body());
//!         Response::new(body)
//!     })
//! }
//! ```

pub mod app;
pub mod client;
pub mod event;
pub mod http;
pub mod net;
pub mod rt;
pub mod server;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(target_os = "wasi")]
mod wasmedge;

pub use app::{announce, announce_tls, exit_code, port_from_env, PortError};
pub use client::{build_request, get, post, send, Client, ClientConfig, ClientError};
pub use event::{Event, EventLoop, Interest, Token};
pub use net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
pub use rt::{block_on, fetch, spawn};
pub use server::{serve, serve_poll, PollServer, Server, ServerConfig, ShutdownHandle};
#[cfg(feature = "tls")]
pub use tls::{AsyncTlsStream, TlsConfigError, TlsFailure, TlsServerConfig, TlsStream};

/// The names most apps need: `use wasock::prelude::*;`.
pub mod prelude {
    pub use crate::app::{announce, exit_code, port_from_env};
    pub use crate::client::{Client, ClientConfig, ClientError};
    pub use crate::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
    pub use crate::net::{TcpListener, TcpStream, UdpSocket};
    pub use crate::rt::{AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket};
    pub use crate::server::{PollServer, Server, ServerConfig, ShutdownHandle};
    pub use futures_util::io::{AsyncReadExt, AsyncWriteExt};
}
