//! Serving TLS (feature `tls`): [`TlsServerConfig`] (a PEM certificate chain and private
//! key) for [`ServerConfig::tls`](crate::ServerConfig::tls), and the server side of one
//! connection, driven by readiness over wasock's non-blocking sockets.
//!
//! The TLS layer sits between the socket and the HTTP codec: the servers read plaintext
//! from it and write plaintext into it exactly as they do with a plain socket, so
//! keep-alive, pipelining and chunked bodies behave the same. A handshake never blocks the
//! thread: its records move on each readiness event, and a peer that never finishes it is
//! cut by the server's header read timeout (poll and async servers) or when another peer
//! waits (the blocking server), as a slow request is. Anything that is not TLS (plain HTTP
//! to the TLS port) ends the connection after rustls's alert.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConnection;
use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};

/// How much plaintext one connection's session holds before its writer must wait for the
/// socket: the servers keep their own output bounded (`max_buffered_output`), so TLS adds
/// at most this much (rustls's own default).
const PLAINTEXT_LIMIT: usize = 64 * 1024;

/// A TLS server's certificate chain and private key, ready to serve (cheap to clone: the
/// rustls configuration is shared, and with it the session cache that lets returning
/// clients resume without a full handshake, RFC 8446 §2.2).
///
/// Key exchange and cipher order are the client's ([`crate::tls`]): X25519 first, and on
/// wasm32 the server picks ChaCha20-Poly1305 before AES-GCM whatever the client prefers
/// (AES has no fast path in WebAssembly); natively it follows the client's order.
#[derive(Clone)]
pub struct TlsServerConfig {
    pub(crate) config: Arc<rustls::ServerConfig>,
}

/// A certificate or key file that cannot serve TLS: which file, and why.
#[derive(Debug, thiserror::Error)]
#[error("{what} `{path}` cannot be used: {reason}; help: {help}")]
#[non_exhaustive]
pub struct TlsConfigError {
    /// `"the TLS certificate file"`, `"the TLS key file"`, or the environment variable.
    pub what: String,
    /// The path as given (as the app sees it).
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
    help: String,
}

impl TlsConfigError {
    fn new(what: &str, path: &Path, reason: impl fmt::Display, help: &str) -> TlsConfigError {
        TlsConfigError {
            what: what.to_string(),
            path: path.to_path_buf(),
            reason: reason.to_string(),
            help: help.to_string(),
        }
    }
}

impl From<TlsConfigError> for io::Error {
    fn from(error: TlsConfigError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, error)
    }
}

/// The environment variables [`TlsServerConfig::from_env`] reads (as `spin up` and the
/// templates name them): the certificate chain and the private key, PEM files.
pub const CERT_VAR: &str = "TLS_CERT";
/// See [`CERT_VAR`].
pub const KEY_VAR: &str = "TLS_KEY";

const CERT_FILE: &str = "the TLS certificate file";
const KEY_FILE: &str = "the TLS key file";
const READABLE_HELP: &str = "give a PEM file the app can read (with `cargo wasock run`, \
    --tls-cert/--tls-key map it into the app)";

impl TlsServerConfig {
    /// Reads the certificate chain (PEM `CERTIFICATE` sections, the server's own first) and
    /// its private key (PEM PKCS#8, PKCS#1 RSA or SEC1 EC) from two files.
    ///
    /// Errors name the file and the cause: it cannot be read, holds no certificate or key,
    /// is not PEM, or the key does not belong to the certificate.
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<TlsServerConfig, TlsConfigError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let cert_pem = std::fs::read(cert)
            .map_err(|error| TlsConfigError::new(CERT_FILE, cert, error, READABLE_HELP))?;
        let key_pem = std::fs::read(key)
            .map_err(|error| TlsConfigError::new(KEY_FILE, key, error, READABLE_HELP))?;
        TlsServerConfig::from_pem_named(&cert_pem, cert, &key_pem, key)
    }

    /// As [`from_pem_files`](Self::from_pem_files), from PEM text in memory (errors name the
    /// paths `<certificate>` and `<key>`).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<TlsServerConfig, TlsConfigError> {
        TlsServerConfig::from_pem_named(
            cert_pem,
            Path::new("<certificate>"),
            key_pem,
            Path::new("<key>"),
        )
    }

    /// The configuration named by the environment: `None` when neither `TLS_CERT` nor
    /// `TLS_KEY` is set (or both are empty), else both files read by
    /// [`from_pem_files`](Self::from_pem_files). Only one of the two set is an error.
    pub fn from_env() -> Result<Option<TlsServerConfig>, TlsConfigError> {
        let var = |name| std::env::var_os(name).filter(|value| !value.is_empty());
        match (var(CERT_VAR), var(KEY_VAR)) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => TlsServerConfig::from_pem_files(cert, key).map(Some),
            (Some(cert), None) => Err(TlsConfigError::new(
                CERT_VAR,
                Path::new(&cert),
                format!("{KEY_VAR} is not set"),
                "set both TLS_CERT and TLS_KEY to serve HTTPS, or neither for plain HTTP",
            )),
            (None, Some(key)) => Err(TlsConfigError::new(
                KEY_VAR,
                Path::new(&key),
                format!("{CERT_VAR} is not set"),
                "set both TLS_CERT and TLS_KEY to serve HTTPS, or neither for plain HTTP",
            )),
        }
    }

    fn from_pem_named(
        cert_pem: &[u8],
        cert: &Path,
        key_pem: &[u8],
        key: &Path,
    ) -> Result<TlsServerConfig, TlsConfigError> {
        let pem_help = "give the certificate chain as PEM (-----BEGIN CERTIFICATE-----)";
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| {
                TlsConfigError::new(CERT_FILE, cert, format!("bad PEM: {error}"), pem_help)
            })?;
        if chain.is_empty() {
            return Err(TlsConfigError::new(
                CERT_FILE,
                cert,
                "it holds no PEM certificate",
                pem_help,
            ));
        }
        let private_key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|error| {
            let reason = match error {
                rustls_pki_types::pem::Error::NoItemsFound => "it holds no PEM private key".into(),
                other => format!("bad PEM: {other}"),
            };
            TlsConfigError::new(
                KEY_FILE,
                key,
                reason,
                "give the private key as PEM (-----BEGIN PRIVATE KEY-----)",
            )
        })?;
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(super::provider()))
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsConfigError::new(CERT_FILE, cert, error, pem_help))?
            .with_no_client_auth()
            .with_single_cert(chain, private_key)
            .map_err(|error| {
                TlsConfigError::new(
                    KEY_FILE,
                    key,
                    format!(
                        "rustls refused it with the certificate `{}`: {error}",
                        cert.display()
                    ),
                    "give the key that belongs to the certificate (the first in its file)",
                )
            })?;
        // The provider lists ChaCha20-Poly1305 first on wasm32; there the server's order wins.
        config.ignore_client_order = cfg!(target_arch = "wasm32");
        Ok(TlsServerConfig {
            config: Arc::new(config),
        })
    }
}

impl TlsServerConfig {
    /// Runs the server side of a TLS handshake on an accepted connection, for async servers
    /// of your own (hyper's, say: [`AsyncTlsStream`](super::AsyncTlsStream) implements
    /// hyper's I/O traits with feature `hyper`). Bound it with [`crate::rt::timeout`]: a
    /// client that never finishes its handshake would wait here for ever.
    ///
    /// Errors: the client closed first (`UnexpectedEof`), or sent something that is not
    /// acceptable TLS (`InvalidData`, after rustls's alert).
    pub async fn accept(
        &self,
        stream: crate::rt::AsyncTcpStream,
    ) -> io::Result<super::AsyncTlsStream> {
        super::AsyncTlsStream::accept(ServerSession::new(self)?, stream).await
    }
}

impl fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerConfig").finish_non_exhaustive()
    }
}

/// The server side of one TLS connection over any `Read + Write` transport (a blocking or
/// non-blocking socket, or an async one per poll): plaintext in and out, the handshake
/// moved on by reads, records written out by writes and flushes.
pub(crate) struct ServerSession {
    conn: ServerConnection,
    close_sent: bool,
    /// Whether the last [`read`](Self::read) stopped because the transport had nothing
    /// (rather than at its bound of socket reads): an async caller then has a waker set.
    pub(crate) socket_blocked: bool,
}

impl ServerSession {
    pub(crate) fn new(config: &TlsServerConfig) -> io::Result<ServerSession> {
        let mut conn = ServerConnection::new(config.config.clone())
            .map_err(|error| io::Error::other(error.to_string()))?;
        conn.set_buffer_limit(Some(PLAINTEXT_LIMIT));
        Ok(ServerSession {
            conn,
            close_sent: false,
            socket_blocked: false,
        })
    }

    /// Whether the handshake is still running (no request can have arrived yet).
    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Whether TLS records wait for the socket to take them.
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Writes out pending records; `WouldBlock` if the socket took only part.
    pub(crate) fn flush(&mut self, io: &mut impl Write) -> io::Result<()> {
        super::write_pending_records(&mut self.conn, io)
    }

    /// Reads plaintext into `buf`: `Ok(0)` once the peer closed (with or without
    /// close_notify: a request it cut short is the codec's to judge), `WouldBlock` when
    /// nothing is available yet (after at most `max_socket_reads` reads of the transport,
    /// so a blocking socket is read once per call), `InvalidData` when the peer's bytes are
    /// not acceptable TLS (rustls's alert is sent first, best effort).
    pub(crate) fn read(
        &mut self,
        io: &mut (impl Read + Write),
        buf: &mut [u8],
        max_socket_reads: usize,
    ) -> io::Result<usize> {
        self.socket_blocked = false;
        for _ in 0..max_socket_reads.max(1) {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(error) => return Err(error),
            }
            match self.conn.read_tls(io) {
                Ok(0) => return Ok(0),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.socket_blocked = true;
                    break;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
            self.process_records(io)?;
            // Our handshake flight (or session tickets): the peer waits for it. What the
            // socket does not take now goes with the next flush (`wants_write`).
            match self.flush(io) {
                Err(error) if error.kind() != io::ErrorKind::WouldBlock => return Err(error),
                _ => {}
            }
        }
        match self.conn.reader().read(buf) {
            Ok(n) => Ok(n),
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            Err(error) => Err(error),
        }
    }

    /// Takes plaintext from `buf` (up to 64 KiB at a time, once earlier records are out)
    /// and writes out what the socket takes now; `WouldBlock` while earlier records still
    /// wait for the socket.
    pub(crate) fn write(&mut self, io: &mut impl Write, buf: &[u8]) -> io::Result<usize> {
        self.flush(io)?;
        let n = self.conn.writer().write(buf)?;
        match self.flush(io) {
            Err(error) if error.kind() != io::ErrorKind::WouldBlock => Err(error),
            _ if n == 0 && !buf.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
            _ => Ok(n),
        }
    }

    /// Drives the handshake to its end: `WouldBlock` while the transport is not ready,
    /// `UnexpectedEof` when the client closed first, `InvalidData` when it is not TLS.
    pub(crate) fn handshake(&mut self, io: &mut (impl Read + Write)) -> io::Result<()> {
        while self.conn.is_handshaking() {
            self.flush(io)?;
            match self.conn.read_tls(io) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client closed the connection during the TLS handshake",
                    ))
                }
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
            self.process_records(io)?;
        }
        self.flush(io)
    }

    /// Processes the records read so far; on rustls's refusal, its alert is written out
    /// (best effort) and the error is `InvalidData` with rustls's reason.
    fn process_records(&mut self, io: &mut impl Write) -> io::Result<()> {
        if let Err(error) = self.conn.process_new_packets() {
            let _ = self.flush(io);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("TLS from the client failed: {error}"),
            ));
        }
        Ok(())
    }

    /// Queues close_notify once and writes out what is pending; `WouldBlock` until it is
    /// all out (then the caller shuts the socket's write half).
    pub(crate) fn close(&mut self, io: &mut impl Write) -> io::Result<()> {
        self.queue_close();
        self.flush(io)
    }

    /// Queues close_notify once (written by the next flush).
    pub(crate) fn queue_close(&mut self) {
        if !self.close_sent {
            self.close_sent = true;
            self.conn.send_close_notify();
        }
    }
}
