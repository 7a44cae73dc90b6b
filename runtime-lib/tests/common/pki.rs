//! The test's private PKI, made with the `openssl` CLI, and what else the TLS tests of
//! both suites share: runtime-lib's TLS tests and the CLI's (`tests/cli/tls.rs` includes
//! this file by path).

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (the test makes its certificates with the openssl CLI)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes, in `dir`: a CA (`ca.pem`, `ca.key`); `leaf.pem`/`leaf.key` (localhost and
/// 127.0.0.1, from the CA); `expired.pem` (the same names and key, from the CA, valid only in
/// January 2020); `self.pem`/`self.key` (self-signed, same names).
pub fn make(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let names = "subjectAltName=DNS:localhost,IP:127.0.0.1";
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        "/CN=wasock test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("leaf.ext"),
        format!("{names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    )
    .expect("leaf.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "30",
            "-extfile",
            "leaf.ext",
        ],
    );
    // `openssl ca` is the CLI's way to set the validity dates freely.
    std::fs::write(dir.join("index.txt"), "").expect("index.txt");
    std::fs::write(dir.join("serial"), "1000\n").expect("serial");
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\n\
         serial = serial\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n",
    )
    .expect("ca.cnf");
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-in",
            "leaf.csr",
            "-out",
            "expired.pem",
            "-notext",
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200201000000Z",
            "-extfile",
            "leaf.ext",
        ],
    );
    let mut own = vec!["req", "-x509"];
    own.extend(ec);
    own.extend([
        "-keyout",
        "self.key",
        "-out",
        "self.pem",
        "-days",
        "30",
        "-subj",
        "/CN=localhost",
        "-addext",
        names,
        "-addext",
        "basicConstraints=critical,CA:FALSE",
    ]);
    openssl(dir, &own);
}

/// Reads until the server ends the connection (a close or a reset), waiting at most
/// `patience` for each read: what it sent, and how long that took. Panics if the server
/// keeps the connection open longer.
pub fn read_until_closed(mut stream: TcpStream, patience: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(patience)).expect("timeout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(error) => panic!("the server did not close the connection: {error}"),
        }
    }
    (seen, started.elapsed())
}
