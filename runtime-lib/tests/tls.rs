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
        common::pki::make(&dir);
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
    assert_eq!(ran, checks::CHECKS);
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
        output.status.success() && ok == checks::CHECKS && !stdout.contains("not ok"),
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

// Serving HTTPS: the three servers with the test CA's `leaf.pem`, seen by curl and Python's
// `ssl` (someone else's TLS), and by raw sockets for what is not TLS.

use std::io::Write;

use common::pki::read_until_closed;
use common::ALL;
use wasock::{ServerConfig, TlsServerConfig};

fn served(kind: Kind, config: ServerConfig) -> Running {
    let pki = pki();
    let tls = TlsServerConfig::from_pem_files(pki.dir.join("leaf.pem"), pki.dir.join("leaf.key"))
        .expect("the test's certificate serves");
    Running::with_config(kind, config.tls(tls))
}

/// curl with the test CA; returns stdout, asserting success.
fn curl(args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut child = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert", &pki().path("ca.pem")])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run curl");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or_default())
        .expect("curl's stdin");
    drop(input);
    let output = child.wait_with_output().expect("curl");
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Python's `ssl` client: two requests pipelined in one write, then everything to EOF.
const PYTHON_PIPELINE: &str = r#"
import socket, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[1])
with socket.create_connection(("127.0.0.1", int(sys.argv[2]))) as raw:
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
                    b"POST /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 6\r\n\r\nsecond")
        data = b""
        while True:
            piece = tls.recv(65536)
            if not piece:
                break
            data += piece
sys.stdout.write(data.decode())
"#;

#[test]
fn every_server_serves_https_as_it_serves_http() {
    let pki = pki();
    for kind in ALL {
        let server = served(kind, ServerConfig::default());
        let base = format!("https://localhost:{}", server.addr.port());
        // Keep-alive: curl reuses the first connection (and its handshake) for the second URL.
        let out = curl(
            &[
                "-w",
                "|%{num_connects}|",
                &format!("{base}/big?100000"),
                &format!("{base}/big?3"),
            ],
            None,
        );
        let expected = format!("{}|1|xxx|0|", "x".repeat(100_000));
        assert!(
            out == expected,
            "{kind:?}: curl saw {} bytes: {}…",
            out.len(),
            &out[out.len().saturating_sub(30)..]
        );
        // A chunked upload of 1 MiB, echoed.
        let body = vec![b'y'; 1 << 20];
        let out = curl(
            &[
                "-H",
                "Transfer-Encoding: chunked",
                "--data-binary",
                "@-",
                &format!("https://127.0.0.1:{}/echo", server.addr.port()),
            ],
            Some(&body),
        );
        let echoed = out.strip_prefix("echo: ").unwrap_or_default();
        assert!(
            echoed.len() == body.len() && echoed.bytes().all(|b| b == b'y'),
            "{kind:?}: echo of {} bytes",
            out.len()
        );
        // Pipelined requests over one TLS connection, answered in order.
        let script = pki.dir.join("pipeline.py");
        std::fs::write(&script, PYTHON_PIPELINE).expect("pipeline.py");
        let output = Command::new("python3")
            .arg(&script)
            .arg(pki.path("ca.pem"))
            .arg(server.addr.port().to_string())
            .output()
            .expect("run python3");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{kind:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let first = text.find("\r\n\r\necho: first").expect("first answer");
        let second = text.find("\r\n\r\necho: second").expect("second answer");
        assert!(
            first < second && text.matches("HTTP/1.1 200").count() == 2,
            "{kind:?}: {text}"
        );
        // wasock's own client against its own server, by name (SSL_CERT_FILE is the CA).
        let response =
            wasock::post(&format!("{base}/echo"), b"ours".to_vec()).expect("wasock client");
        assert_eq!(response.body(), b"echo: ours", "{kind:?}");
        server.stop().expect("server ends cleanly");
    }
}

#[test]
fn plain_http_to_the_tls_port_is_closed() {
    for kind in ALL {
        let server = served(kind, ServerConfig::default());
        let mut stream = server.connect();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send plain HTTP");
        let (seen, took) = read_until_closed(stream, Duration::from_secs(20));
        // At most rustls's alert: never an HTTP answer, and no waiting for a timeout.
        assert!(
            seen.len() < 64 && !seen.starts_with(b"HTTP"),
            "{kind:?}: {seen:?}"
        );
        assert!(
            took < Duration::from_secs(5),
            "{kind:?}: closed after {took:?}"
        );
        // Garbage that looks like a TLS record start, then the close.
        let mut stream = server.connect();
        stream
            .write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0, 0, 0])
            .expect("send");
        stream
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
        let (_, took) = read_until_closed(stream, Duration::from_secs(20));
        assert!(
            took < Duration::from_secs(5),
            "{kind:?}: closed after {took:?}"
        );
        // The server goes on serving TLS.
        let out = curl(
            &[&format!("https://localhost:{}/big?2", server.addr.port())],
            None,
        );
        assert_eq!(out, "xx", "{kind:?}");
        server.stop().expect("server ends cleanly");
    }
}

#[test]
fn a_handshake_that_never_finishes_holds_up_no_one() {
    for kind in ALL {
        let config = ServerConfig::default().header_read_timeout(Duration::from_millis(700));
        let server = served(kind, config);
        // One peer that connects and says nothing, one that stops inside its ClientHello.
        let silent = server.connect();
        let mut partial = server.connect();
        partial
            .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
            .expect("send");
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        let out = curl(
            &[&format!("https://localhost:{}/big?4", server.addr.port())],
            None,
        );
        assert_eq!(out, "xxxx", "{kind:?}");
        // The blocking server yields a silent connection to a waiting peer after 1 s.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{kind:?}: waited {:?}",
            started.elapsed()
        );
        // Both stalled peers are cut: by the header read timeout, or (blocking server) when
        // another peer took their turn.
        for stalled in [silent, partial] {
            let (seen, took) = read_until_closed(stalled, Duration::from_secs(20));
            assert!(seen.is_empty() || seen.len() < 64, "{kind:?}: {seen:?}");
            assert!(
                took < Duration::from_secs(10),
                "{kind:?}: cut after {took:?}"
            );
        }
        server.stop().expect("server ends cleanly");
    }
}

#[test]
fn unusable_certificate_files_are_named() {
    let pki = pki();
    let message = |cert: &str, key: &str| {
        TlsServerConfig::from_pem_files(pki.dir.join(cert), pki.dir.join(key))
            .expect_err("refused")
            .to_string()
    };
    let missing = message("missing.pem", "leaf.key");
    assert!(
        missing.starts_with("the TLS certificate file `")
            && missing.contains("missing.pem` cannot be used: ")
            && missing.contains("help: "),
        "{missing}"
    );
    let missing_key = message("leaf.pem", "missing.key");
    assert!(
        missing_key.starts_with("the TLS key file `") && missing_key.contains("missing.key`"),
        "{missing_key}"
    );
    // The key where the certificate belongs: no certificate in it.
    let swapped = message("leaf.key", "leaf.key");
    assert!(
        swapped.contains("leaf.key` cannot be used: it holds no PEM certificate"),
        "{swapped}"
    );
    let no_key = message("leaf.pem", "leaf.pem");
    assert!(
        no_key.contains("the TLS key file `") && no_key.contains("it holds no PEM private key"),
        "{no_key}"
    );
    // Another certificate's key.
    let mismatch = message("leaf.pem", "self.key");
    assert!(
        mismatch.contains("self.key` cannot be used: rustls refused it with the certificate `"),
        "{mismatch}"
    );
}

/// Reads a hyper response body to its end.
async fn collect(mut body: hyper::body::Incoming) -> Vec<u8> {
    use hyper::body::Body;
    let mut bytes = Vec::new();
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        if let Ok(data) = frame.expect("body frame").into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    bytes
}

/// hyper's client over `rt::hyper::connect`: Python's TLS server, wasock's own TLS server
/// (three requests on one connection), and a plain `http://` one.
#[test]
fn hyper_calls_https_through_connect() {
    let (_python, ports) = python_servers(&[("127.0.0.1", "leaf.pem", "leaf.key")]);
    let ours = served(Kind::Poll, ServerConfig::default());
    let plain = Running::start(Kind::Poll);
    let ours_port = ours.addr.port();
    let plain_port = plain.addr.port();
    let bodies = wasock::block_on(async move {
        let mut bodies = Vec::new();
        for (url, requests) in [
            (format!("https://localhost:{}/hello", ports[0]), 1),
            (format!("https://localhost:{ours_port}/echo"), 3),
            (format!("http://127.0.0.1:{plain_port}/echo"), 1),
        ] {
            let uri: hyper::Uri = url.parse().expect("uri");
            let stream = wasock::rt::hyper::connect(&uri).await.expect("connect");
            let (mut sender, connection) = hyper::client::conn::http1::handshake(stream)
                .await
                .expect("handshake");
            wasock::spawn(connection);
            for i in 0..requests {
                let request = hyper::Request::post(uri.path())
                    .header("host", uri.authority().expect("authority").as_str())
                    .body(format!("hyper {i}"))
                    .expect("request");
                let response = sender.send_request(request).await.expect("response");
                assert_eq!(response.status(), 200, "{url}");
                bodies.push(String::from_utf8(collect(response.into_body()).await).expect("utf-8"));
            }
        }
        bodies
    });
    assert_eq!(
        bodies,
        [
            "hyper 0",
            "echo: hyper 0",
            "echo: hyper 1",
            "echo: hyper 2",
            "echo: hyper 0"
        ]
    );
    // A port where nothing listens fails the connect, as a plain connect fails.
    let error = wasock::block_on(async {
        let uri: hyper::Uri = "https://127.0.0.2:1/".parse().expect("uri");
        wasock::rt::hyper::connect(&uri)
            .await
            .expect_err("nothing listens")
    });
    assert!(
        error.kind() == std::io::ErrorKind::ConnectionRefused,
        "{error}"
    );
}
