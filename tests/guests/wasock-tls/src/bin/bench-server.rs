//! A small HTTPS server for scripts/bench-tls.sh, run natively: rustls (ring) over std
//! threads, one per connection, keep-alive. `GET /big?N` answers N bytes, anything else
//! `hello`. Fast enough that the client being measured, not the server, sets the pace
//! (Python's `http.server` tops out first).
//!
//! `bench-server CERT.pem KEY.pem PORT [chacha|aes128]`: the optional suite forces TLS 1.3's
//! AEAD, to compare the two on the client.

#[cfg(target_os = "wasi")]
fn main() {
    eprintln!("error: bench-server runs natively; help: cargo run --release --bin bench-server");
    std::process::exit(2);
}

#[cfg(not(target_os = "wasi"))]
#[allow(deprecated)] // ring's provider: see runtime-lib/src/tls.rs
fn main() {
    use std::io::{Read, Write};
    use std::sync::Arc;

    use rustls::crypto::ring::{cipher_suite, default_provider};
    use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};

    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: bench-server CERT.pem KEY.pem PORT [chacha|aes128]");
        std::process::exit(2);
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&args[1])
        .expect("read the certificate")
        .collect::<Result<_, _>>()
        .expect("parse the certificate");
    let key = PrivateKeyDer::from_pem_file(&args[2]).expect("read the key");
    let mut provider = default_provider();
    match args.get(4).map(String::as_str) {
        Some("chacha") => {
            provider.cipher_suites = vec![cipher_suite::TLS13_CHACHA20_POLY1305_SHA256]
        }
        Some("aes128") => provider.cipher_suites = vec![cipher_suite::TLS13_AES_128_GCM_SHA256],
        _ => {}
    }
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("certificate and key");
    let config = Arc::new(config);
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", args[3].parse::<u16>().expect("port")))
            .expect("bind");
    for stream in listener.incoming().flatten() {
        let config = config.clone();
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let Ok(conn) = rustls::ServerConnection::new(config) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 16384];
            loop {
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    match tls.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                buf.drain(..end + 4);
                let path = head.split(' ').nth(1).unwrap_or("/");
                let body = match path.strip_prefix("/big?").and_then(|n| n.parse().ok()) {
                    Some(size) => vec![b'x'; size],
                    None => b"hello".to_vec(),
                };
                let mut response =
                    format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len())
                        .into_bytes();
                response.extend_from_slice(&body);
                if tls.write_all(&response).and_then(|_| tls.flush()).is_err() {
                    return;
                }
                if head.to_ascii_lowercase().contains("connection: close") {
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                    return;
                }
            }
        });
    }
}
