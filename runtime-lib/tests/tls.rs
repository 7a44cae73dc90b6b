//! HTTPS clients (feature `tls`) against third-party TLS servers on loopback: Python's `ssl`
//! with `http.server`, and `openssl s_server -www`, with certificates from a private CA that
//! the test makes with the `openssl` CLI and trusts through `SSL_CERT_FILE`.
//!
//! The checks themselves live in tests/guests/wasock-tls/src/checks.rs: run natively here,
//! and (ignored by default: it builds a wasm module in release and needs the CLI binary)
//! built for wasm32-wasip1 and run on the embedded engine, and on WasmEdge where
//! /work/shared/wasmedge/bin/wasmedge or `$WASMEDGE` exists:
//! `cargo test -p wasock --test tls -- --ignored`.

#[path = "../../tests/guests/wasock-tls/src/checks.rs"]
#[allow(dead_code)] // `Ports::from_args` is the guest's
mod checks;
mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{Kind, Running};

/// The private CA and the certificates, made once per test process.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

fn openssl(dir: &Path, args: &[&str]) {
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

/// A CA; `leaf.pem` (localhost and 127.0.0.1, from the CA); `expired.pem` (the same names,
/// from the CA, valid only in January 2020); `self.pem` (self-signed, same names).
/// `SSL_CERT_FILE` is set to the CA before any client builds its configuration.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        // Under the target directory (cargo's scratch space for integration tests), by pid.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("wasock-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
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
        openssl(&dir, &ca);
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
        openssl(&dir, &csr);
        std::fs::write(
            dir.join("leaf.ext"),
            format!("{names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
        )
        .expect("leaf.ext");
        openssl(
            &dir,
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
            &dir,
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
        openssl(&dir, &own);
        std::env::set_var("SSL_CERT_FILE", dir.join("ca.pem"));
        Pki { dir }
    })
}

/// A child process killed on drop.
struct Child_(Child);

impl Drop for Child_ {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const PYTHON_SERVER: &str = r#"
import ssl, sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def body(self, body, status=200):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/hello":
            self.body(b"hello over tls")
        elif self.path == "/conns":
            self.body(str(self.server.handshakes).encode())
        elif self.path == "/reused":
            self.body(b"true" if self.connection.session_reused else b"false")
        elif self.path.startswith("/big?"):
            self.body(b"x" * int(self.path[5:]))
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(10):
                piece = ("chunk-%d;" % i).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.body(b"not found", 404)
    def do_POST(self):
        self.body(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

class Server(ThreadingHTTPServer):
    daemon_threads = True
    # The handshake runs in accept(), one at a time, while send_all connects (blocking) all
    # its requests before it handshakes: socketserver's backlog of 5 would stall it.
    request_queue_size = 128
    handshakes = 0
    def get_request(self):
        # The listening socket is wrapped: accept() completes the handshake.
        request = super().get_request()
        self.handshakes += 1
        return request

servers = []
for spec in sys.argv[1:]:
    host, cert, key = spec.split(",")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Server((host, 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    servers.append(server)
print("PORTS " + " ".join(str(s.server_address[1]) for s in servers), flush=True)
for server in servers[1:]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
servers[0].serve_forever()
"#;

/// Python's TLS servers, one per `(host, cert, key)`; their ports in the same order.
fn python_servers(specs: &[(&str, &str, &str)]) -> (Child_, Vec<u16>) {
    let pki = pki();
    let script = pki.dir.join("server.py");
    std::fs::write(&script, PYTHON_SERVER).expect("server.py");
    let mut command = Command::new("python3");
    command.arg(&script);
    for (host, cert, key) in specs {
        command.arg(format!("{host},{},{}", pki.path(cert), pki.path(key)));
    }
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python3 (the test's third-party TLS server)");
    let stdout = child.stdout.take().expect("stdout");
    let child = Child_(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the server's ports");
    let ports: Vec<u16> = line
        .trim()
        .strip_prefix("PORTS ")
        .unwrap_or_else(|| panic!("python server said {line:?}"))
        .split(' ')
        .map(|port| port.parse().expect("port"))
        .collect();
    (child, ports)
}

/// `openssl s_server -www` with the trusted certificate on 127.0.0.1.
fn s_server() -> (Child_, u16) {
    let pki = pki();
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("probe port");
        probe.local_addr().expect("addr").port()
    };
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "-cert",
            &pki.path("leaf.pem"),
            "-key",
            &pki.path("leaf.key"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start openssl s_server");
    let child = Child_(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

/// A server that reads the ClientHello and closes.
fn cutting_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut hello = [0u8; 64];
            let _ = stream.read(&mut hello);
        }
    });
    port
}

/// Every server the checks need; dropped at the end of the test.
struct Servers {
    ports: checks::Ports,
    _python: Child_,
    _www: Child_,
    _plain: Running,
}

fn servers() -> Servers {
    let (python, ports) = python_servers(&[
        ("127.0.0.1", "leaf.pem", "leaf.key"),
        ("127.0.0.1", "expired.pem", "leaf.key"),
        ("127.0.0.1", "self.pem", "self.key"),
        ("127.0.0.2", "leaf.pem", "leaf.key"),
    ]);
    let (www, www_port) = s_server();
    let plain = Running::start(Kind::Poll);
    Servers {
        ports: checks::Ports {
            trusted: ports[0],
            expired: ports[1],
            untrusted: ports[2],
            wrong: ports[3],
            cut: cutting_server(),
            plain: plain.addr.port(),
            www: www_port,
        },
        _python: python,
        _www: www,
        _plain: plain,
    }
}

#[test]
fn https_checks_pass_natively() {
    let servers = servers();
    let mut ran = 0;
    let mut failed = Vec::new();
    checks::run(&servers.ports, |name, outcome| {
        ran += 1;
        eprintln!("{} - {name}", if outcome.is_ok() { "ok" } else { "not ok" });
        if let Err(why) = outcome {
            failed.push(format!("{name}: {why}"));
        }
    });
    assert!(failed.is_empty(), "failed checks:\n{}", failed.join("\n"));
    assert_eq!(ran, 15);
}

#[test]
fn a_bad_ssl_cert_file_is_named() {
    // Checked on the configuration builder's own words: the process-wide configuration
    // is fixed at first use, so a second SSL_CERT_FILE cannot be tried in this process.
    let pki = pki();
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_with_bad_ssl_cert_file",
            "--nocapture",
            "--ignored",
        ])
        .env("SSL_CERT_FILE", pki.dir.join("missing.pem"))
        .env("WASOCK_TLS_CHILD", "1")
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("child saw: SSL_CERT_FILE `"), "{stdout}");
    assert!(
        stdout.contains("missing.pem` cannot be used for localhost:1"),
        "{stdout}"
    );
}

/// Run by `a_bad_ssl_cert_file_is_named` in a child process with its own `SSL_CERT_FILE`.
#[test]
#[ignore = "run by a_bad_ssl_cert_file_is_named in a child process"]
fn child_with_bad_ssl_cert_file() {
    if std::env::var_os("WASOCK_TLS_CHILD").is_none() {
        return;
    }
    let error = wasock::get("https://localhost:1/").expect_err("no trust, no request");
    println!("child saw: {error}");
}

fn cargo_target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Builds the guest in release for wasm32-wasip1 (ring's C with clang-19).
fn build_guest() -> PathBuf {
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/guests/wasock-tls/Cargo.toml");
    let target_dir = cargo_target_dir().join("engine-guests");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CC_wasm32_wasip1", "clang-19")
        .env("AR_wasm32_wasip1", "llvm-ar-19")
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the wasock-tls guest failed");
    target_dir.join("wasm32-wasip1/release/wasock-tls.wasm")
}

fn check_guest_output(what: &str, output: std::process::Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let ok = stdout
        .lines()
        .filter(|line| line.starts_with("ok - "))
        .count();
    assert!(
        output.status.success() && ok == 15 && !stdout.contains("not ok"),
        "{what}: {ok} checks passed\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[ignore = "builds a release wasm module and needs the cargo-wasock binary: run with --ignored"]
fn https_checks_pass_on_the_engine_and_wasmedge() {
    let wasm = build_guest();
    let servers = servers();
    let pki = pki();
    let cli = std::env::var_os("CARGO_WASOCK")
        .map(PathBuf::from)
        .unwrap_or_else(|| cargo_target_dir().join("debug/cargo-wasock"));
    assert!(
        cli.exists(),
        "{} is missing: build the CLI (cargo build -p cargo-wasock) or set CARGO_WASOCK",
        cli.display()
    );
    let output = Command::new(&cli)
        .args(["wasock", "run", "--runtime", "embedded", "--wasm"])
        .arg(&wasm)
        .arg("--dir")
        .arg(format!("/pki:{}:readonly", pki.dir.display()))
        .args(["--env", "SSL_CERT_FILE=/pki/ca.pem", "--"])
        .args(servers.ports.args())
        .output()
        .expect("run cargo wasock");
    check_guest_output("engine", output);

    let wasmedge = std::env::var_os("WASMEDGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/wasmedge/bin/wasmedge"));
    if wasmedge.exists() {
        let output = Command::new(&wasmedge)
            .arg("--dir")
            .arg(format!("/pki:{}", pki.dir.display()))
            .args(["--env", "SSL_CERT_FILE=/pki/ca.pem"])
            .arg(&wasm)
            .args(servers.ports.args())
            .output()
            .expect("run wasmedge");
        check_guest_output("wasmedge", output);
    } else {
        println!(
            "note: no WasmEdge at {}: ran on the engine only",
            wasmedge.display()
        );
    }
}
