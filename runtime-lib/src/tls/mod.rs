//! TLS (feature `tls`): HTTPS in [`Client`](crate::Client) and [`fetch`](crate::fetch),
//! [`TlsStream`], a blocking TLS connection for protocols that are not HTTP, and serving
//! HTTPS from the servers with a [`TlsServerConfig`] ([`ServerConfig::tls`](crate::ServerConfig::tls)).
//!
//! rustls 0.23 with ring's cryptography runs inside the app, so the same code works on
//! WasmEdge (whose TLS plugin went away in 0.14), on the embedded engine and natively: it
//! needs only the socket calls, `random_get` and `clock_time_get`.
//!
//! Trust: Mozilla's root certificates (`webpki-roots`) are built in; when the environment
//! variable `SSL_CERT_FILE` names a PEM bundle (as the app sees the path), its certificates
//! replace them, as in OpenSSL. The server's certificate is checked against the URL's host:
//! a name (also sent as SNI), or an IP address checked against the certificate's IP entries.
//!
//! Choices made for WebAssembly, where there is no AES instruction and no SIMD in ring:
//! X25519 is offered first (a full handshake on the engine costs ~3.5 ms with it and ~18 ms
//! with P-384, measured in issue 20), and on wasm32 ChaCha20-Poly1305 comes before AES-GCM
//! (scripts/bench-tls.sh: 1 MiB in 6.5–16 ms with ChaCha20 on the engine, 34 ms with
//! AES-128-GCM; natively AES-GCM stays first, where CPUs accelerate it).
//! One client configuration is shared by the whole process, so its session cache lets later
//! connections to the same server resume (RFC 8446 §2.2) instead of a full handshake.

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Arc, OnceLock};

use rustls::{ClientConnection, Error as RustlsError};
use rustls_pki_types::{pem::PemObject, CertificateDer, ServerName};

use crate::net::{TcpStream, ToSocketAddrs};

mod async_stream;
mod server;

pub use async_stream::AsyncTlsStream;
pub(crate) use server::ServerSession;
pub use server::{TlsConfigError, TlsServerConfig, CERT_VAR, KEY_VAR};

/// Why a TLS connection failed, in words a person can act on. Carried inside
/// [`ClientError::Tls`](crate::ClientError::Tls) and, for [`TlsStream`], inside an
/// `io::Error` (`io::Error::get_ref` downcasts to it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The certificate chain does not lead to a trusted root.
    UnknownIssuer,
    /// The certificate (or one in its chain) has expired.
    Expired,
    /// The certificate is not valid yet.
    NotValidYet,
    /// The certificate does not list the host connected to (a name or an IP address).
    WrongName {
        /// The host of the URL.
        host: String,
    },
    /// Another problem with the certificate (bad signature, wrong purpose, revoked, …).
    BadCertificate(String),
    /// The server sent a TLS alert (it refused something in our handshake).
    Alert(String),
    /// The server closed the connection before the handshake finished.
    ClosedDuringHandshake,
    /// The server answered with something that is not TLS (plain HTTP, say).
    NotTls,
    /// The server closed the connection without TLS's close_notify where the data was not
    /// known to be complete (a response delimited only by the close could be cut short).
    Truncated,
    /// Any other TLS error, as rustls words it.
    Other(String),
    /// `SSL_CERT_FILE` is set but unusable.
    CertFile {
        /// The path `SSL_CERT_FILE` holds.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl TlsFailure {
    fn from_rustls(error: &RustlsError, host: &str) -> TlsFailure {
        use rustls::CertificateError as C;
        match error {
            RustlsError::InvalidCertificate(cert) => match cert {
                C::UnknownIssuer => TlsFailure::UnknownIssuer,
                C::Expired | C::ExpiredContext { .. } => TlsFailure::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => TlsFailure::NotValidYet,
                C::NotValidForName | C::NotValidForNameContext { .. } => TlsFailure::WrongName {
                    host: host.to_string(),
                },
                other => TlsFailure::BadCertificate(format!("{other:?}")),
            },
            RustlsError::AlertReceived(alert) => TlsFailure::Alert(format!("{alert:?}")),
            RustlsError::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
            | RustlsError::InvalidMessage(rustls::InvalidMessage::UnknownProtocolVersion) => {
                TlsFailure::NotTls
            }
            other => TlsFailure::Other(other.to_string()),
        }
    }

    /// Describes the failure for the server `target` (`host:port`), ending with `help: …`.
    pub fn describe(&self, target: &str) -> String {
        match self {
            TlsFailure::UnknownIssuer => format!(
                "the certificate of {target} is not trusted (unknown issuer); help: if the server \
                 uses a private certificate authority, set SSL_CERT_FILE to a PEM file holding it \
                 (a path the app can read)"
            ),
            TlsFailure::Expired => format!(
                "the certificate of {target} has expired; help: the server must renew it (or this \
                 machine's clock is wrong)"
            ),
            TlsFailure::NotValidYet => format!(
                "the certificate of {target} is not valid yet; help: check this machine's clock"
            ),
            TlsFailure::WrongName { host } => format!(
                "the certificate of {target} is not valid for the name `{host}`; help: connect by \
                 a name (or IP address) the certificate lists"
            ),
            TlsFailure::BadCertificate(what) => format!(
                "the certificate of {target} was rejected ({what}); help: the server's certificate \
                 chain needs fixing"
            ),
            TlsFailure::Alert(alert) => format!(
                "{target} refused the TLS handshake (alert: {alert}); help: the server may need a \
                 TLS version, cipher or client certificate this client does not offer"
            ),
            TlsFailure::ClosedDuringHandshake => format!(
                "{target} closed the connection during the TLS handshake; help: check that this \
                 port serves TLS (https) and look at the server's log"
            ),
            TlsFailure::NotTls => format!(
                "{target} did not answer in TLS (plain HTTP on an https URL?); help: use an \
                 http:// URL for a server without TLS, or the server's TLS port"
            ),
            TlsFailure::Truncated => format!(
                "{target} closed the TLS connection without close_notify before the data was \
                 complete; help: the server or something between may have cut it short"
            ),
            TlsFailure::Other(what) => {
                format!("TLS with {target} failed: {what}; help: look at the server's log")
            }
            TlsFailure::CertFile { path, reason } => format!(
                "SSL_CERT_FILE `{path}` cannot be used for {target}: {reason}; help: point \
                 SSL_CERT_FILE at a PEM bundle the app can read (map its folder with --dir), or \
                 unset it to use the built-in roots"
            ),
        }
    }
}

/// A [`TlsFailure`] with the server it concerns, carried through `io::Error`.
#[derive(Debug)]
pub(crate) struct TlsIoError {
    pub(crate) target: String,
    pub(crate) failure: TlsFailure,
}

impl fmt::Display for TlsIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.failure.describe(&self.target))
    }
}

impl std::error::Error for TlsIoError {}

/// Writes out the TLS records `conn` has pending, client or server side; `WouldBlock` if
/// the socket took only part (the rest stays in rustls for the next call).
fn write_pending_records<Data>(
    conn: &mut rustls::ConnectionCommon<Data>,
    io: &mut impl Write,
) -> io::Result<()> {
    while conn.wants_write() {
        // rustls hands over a flight of records at once: the socket writes them vectored.
        match conn.write_tls(io) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

fn tls_io_error(target: &str, failure: TlsFailure) -> io::Error {
    let kind = match failure {
        TlsFailure::ClosedDuringHandshake | TlsFailure::Truncated => io::ErrorKind::UnexpectedEof,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(
        kind,
        TlsIoError {
            target: target.to_string(),
            failure,
        },
    )
}

/// The failure an `io::Error` carries, if it came from TLS.
pub(crate) fn failure_of(error: &io::Error) -> Option<&TlsFailure> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsIoError>())
        .map(|tls| &tls.failure)
}

/// The process-wide client configuration: built once, on first use.
fn client_config() -> Result<Arc<rustls::ClientConfig>, TlsFailure> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, TlsFailure>> = OnceLock::new();
    CONFIG.get_or_init(build_client_config).clone()
}

fn build_client_config() -> Result<Arc<rustls::ClientConfig>, TlsFailure> {
    let mut roots = rustls::RootCertStore::empty();
    match std::env::var_os("SSL_CERT_FILE").filter(|path| !path.is_empty()) {
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            let cert_file = |reason: String| TlsFailure::CertFile {
                path: path.display().to_string(),
                reason,
            };
            let pem = std::fs::read(&path).map_err(|error| cert_file(error.to_string()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|error| cert_file(format!("bad PEM: {error}")))?;
                roots
                    .add(cert)
                    .map_err(|error| cert_file(format!("bad certificate: {error}")))?;
            }
            if roots.is_empty() {
                return Err(cert_file("it holds no certificate".into()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsFailure::Other(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// ring's provider with the key exchanges and ciphers ordered for where the app runs.
// rustls 0.23.48 deprecates ring's provider for lacking post-quantum key exchange
// (X25519MLKEM768 is aws-lc-rs's); aws-lc-rs does not build for wasm32-wasip1, ring does.
#[allow(deprecated)]
fn provider() -> rustls::crypto::CryptoProvider {
    use rustls::crypto::ring::{cipher_suite as cs, default_provider, kx_group};
    let mut provider = default_provider();
    // X25519 first whatever rustls's default order is: it is the cheapest key exchange by far
    // in WebAssembly, and every server offers it.
    provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];
    if cfg!(target_arch = "wasm32") {
        // No AES instructions in wasm: ChaCha20-Poly1305 first, where servers honour our order.
        provider.cipher_suites = vec![
            cs::TLS13_CHACHA20_POLY1305_SHA256,
            cs::TLS13_AES_128_GCM_SHA256,
            cs::TLS13_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ];
    }
    provider
}

/// The client side of one TLS connection, driven over any `Read + Write` transport: a
/// blocking socket, a non-blocking one (`WouldBlock` passes through, nothing is lost), or an
/// async socket behind an adapter.
pub(crate) struct TlsSession {
    conn: ClientConnection,
    target: String,
}

impl TlsSession {
    /// Starts a session with `host` (a name or an IP address, without brackets) for the
    /// server `target` (`host:port`, used in errors).
    pub(crate) fn new(host: &str, target: &str) -> Result<TlsSession, io::Error> {
        let config = client_config().map_err(|failure| tls_io_error(target, failure))?;
        let name = ServerName::try_from(host.to_string()).map_err(|_| {
            tls_io_error(
                target,
                TlsFailure::Other(format!("`{host}` is not a valid server name")),
            )
        })?;
        let mut conn = ClientConnection::new(config, name)
            .map_err(|error| tls_io_error(target, TlsFailure::from_rustls(&error, host)))?;
        // Whatever the caller writes is taken at once (the request is in memory already);
        // how far it got onto the socket is `wants_write`'s business.
        conn.set_buffer_limit(None);
        Ok(TlsSession {
            conn,
            target: target.to_string(),
        })
    }

    /// Whether encrypted bytes wait to be written (the caller should wait for writability).
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Writes out pending TLS records; `WouldBlock` if the socket took only part.
    pub(crate) fn flush_tls(&mut self, io: &mut impl Write) -> io::Result<()> {
        write_pending_records(&mut self.conn, io)
    }

    /// Takes all of `buf` as plaintext (sent once the handshake is done) and writes out
    /// what the socket takes now; the rest goes out on later calls to [`flush_tls`](Self::flush_tls)
    /// or [`read`](Self::read).
    pub(crate) fn write(&mut self, io: &mut impl Write, buf: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        match self.flush_tls(io) {
            Err(error) if error.kind() != io::ErrorKind::WouldBlock => Err(error),
            _ => Ok(n),
        }
    }

    /// Reads plaintext into `buf`, moving the handshake on as needed: `Ok(0)` at the end
    /// (the server's close_notify), `WouldBlock` from a non-blocking transport, an error
    /// carrying a [`TlsFailure`] when TLS fails ([`TlsFailure::Truncated`], of kind
    /// `UnexpectedEof`, when the server closed without close_notify: a caller whose framing
    /// already saw its message complete never reads that far).
    pub(crate) fn read(
        &mut self,
        io: &mut (impl Read + Write),
        buf: &mut [u8],
    ) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
            // Our own handshake messages (or the request) first: the server waits for them.
            match self.flush_tls(io) {
                Err(error) if error.kind() != io::ErrorKind::WouldBlock => return Err(error),
                _ => {}
            }
            match self.receive(io) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                other => other?,
            }
        }
    }

    /// One read of TLS records from `io`, processed: the transport's errors as they are,
    /// except that an end or a reset while the handshake runs is
    /// [`TlsFailure::ClosedDuringHandshake`], an end after it [`TlsFailure::Truncated`], and
    /// a record rustls refuses the failure it names (after sending its alert).
    fn receive(&mut self, io: &mut (impl Read + Write)) -> io::Result<()> {
        match self.conn.read_tls(io) {
            Ok(0) if self.conn.is_handshaking() => {
                return Err(tls_io_error(
                    &self.target,
                    TlsFailure::ClosedDuringHandshake,
                ))
            }
            Ok(0) => return Err(tls_io_error(&self.target, TlsFailure::Truncated)),
            Ok(_) => {}
            Err(error)
                if self.conn.is_handshaking()
                    && matches!(
                        error.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
            {
                return Err(tls_io_error(
                    &self.target,
                    TlsFailure::ClosedDuringHandshake,
                ))
            }
            Err(error) => return Err(error),
        }
        if let Err(error) = self.conn.process_new_packets() {
            // rustls queued an alert for the server: try to send it, then report.
            let _ = self.flush_tls(io);
            let host = self
                .target
                .rsplit_once(':')
                .map_or(&*self.target, |(h, _)| h);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            return Err(tls_io_error(
                &self.target,
                TlsFailure::from_rustls(&error, host),
            ));
        }
        Ok(())
    }

    /// Drives the handshake to its end over a blocking transport.
    pub(crate) fn handshake(&mut self, io: &mut (impl Read + Write)) -> io::Result<()> {
        while self.conn.is_handshaking() {
            self.flush_tls(io)?;
            match self.receive(io) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                other => other?,
            }
        }
        self.flush_tls(io)
    }

    /// Queues close_notify (written by the next flush).
    pub(crate) fn close(&mut self) {
        self.conn.send_close_notify();
    }
}

/// A blocking TLS connection (client side) over wasock's [`TcpStream`], for protocols that
/// are not HTTP. Implements `Read` and `Write`; `write` sends before it returns.
///
/// Reading returns `Ok(0)` once the server sent close_notify; a server that closed without
/// it gives `UnexpectedEof` (a truncation, unless the protocol's own framing says the
/// message was complete). TLS failures are `io::Error`s whose text names the server and
/// the cause and ends with `help: …`; [`TlsStream::failure`] tells them apart.
pub struct TlsStream {
    session: TlsSession,
    stream: TcpStream,
}

impl TlsStream {
    /// Connects to `host:port` and completes the handshake, verifying the server's
    /// certificate for `host` (a name, also sent as SNI, or an IP address).
    ///
    /// Errors: resolving or connecting (`io::Error` as from [`TcpStream::connect`]), or a
    /// TLS failure (see [`TlsStream::failure`]).
    pub fn connect(host: &str, port: u16) -> io::Result<TlsStream> {
        let addrs = (host, port).to_socket_addrs()?;
        let stream = TcpStream::connect(addrs.as_slice())?;
        let _ = stream.set_nodelay(true);
        TlsStream::wrap(host, port, stream)
    }

    /// Runs the handshake on an already connected blocking `stream`, verifying the
    /// certificate for `host`; `port` is used in error messages only.
    pub fn wrap(host: &str, port: u16, mut stream: TcpStream) -> io::Result<TlsStream> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut session = TlsSession::new(host, &target)?;
        session.handshake(&mut stream)?;
        Ok(TlsStream { session, stream })
    }

    /// The TLS failure an error from this stream carries, if it is one.
    pub fn failure(error: &io::Error) -> Option<&TlsFailure> {
        failure_of(error)
    }

    /// The underlying socket (for timeouts, addresses).
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends close_notify, ending our side of the connection (the server may still send).
    pub fn close(&mut self) -> io::Result<()> {
        self.session.close();
        self.session.flush_tls(&mut self.stream)
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.session.read(&mut self.stream, buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.session.write(&mut self.stream, buf)?;
        self.session.flush_tls(&mut self.stream)?;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.session.flush_tls(&mut self.stream)
    }
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("server", &self.session.target)
            .field("stream", &self.stream)
            .finish()
    }
}
