//! HTTPS end to end (issue 20): the `poll` template built with `--features tls` and the
//! `axum` and `proxy` templates (tls on), started by `run --tls-cert FILE --tls-key FILE` on
//! the engine and on the real WasmEdge where installed, and talked to by curl with the
//! test's CA (`--cacert`); upstreams are `openssl s_server -www` (someone else's TLS). The
//! certificates come from a private CA the test makes with the `openssl` CLI
//! (`runtime-lib/tests/common/pki.rs`). Each module is built once per test run; `axum` and
//! `proxy` are the same builds `async_apps.rs` uses.

#[path = "../../runtime-lib/tests/common/pki.rs"]
mod pki;

use pki::read_until_closed;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::async_apps::{axum_app, proxy_app, START_TIMEOUT};
use crate::support::{
    build_template_with, free_port, runtimes, stderr_of, stdout_of, BuiltApp, RunningApp, Runtime,
    Sandbox,
};

/// The CA and `leaf.pem`/`leaf.key` (localhost, 127.0.0.1), made once per test run.
pub fn pki_dir() -> &'static Path {
    static PKI: OnceLock<PathBuf> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cli-tls-pki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("pki dir");
        pki::make(&dir);
        dir
    })
}

fn pki_file(name: &str) -> String {
    pki_dir().join(name).display().to_string()
}

/// The `poll` template built with its `tls` feature.
fn poll_tls_app() -> &'static BuiltApp {
    static POLL_TLS: OnceLock<BuiltApp> = OnceLock::new();
    POLL_TLS.get_or_init(|| build_template_with("tls-poll", "poll", &["--features", "tls"]))
}

/// `run --runtime R --wasm MODULE --port PORT ARGS...`, waited for until it listens.
pub fn start(runtime: Runtime, module: &Path, port: u16, args: &[String]) -> RunningApp {
    let sandbox = Sandbox::new();
    let mut command = sandbox.std_cmd_on(runtime);
    command
        .args(["run", "--runtime", runtime.flag(), "--wasm"])
        .arg(module)
        .args(["--port", &port.to_string()])
        .args(args);
    let mut app = RunningApp::spawn(command);
    app.wait_for_port(port, START_TIMEOUT);
    app
}

/// `--tls-cert leaf.pem --tls-key leaf.key`.
fn tls_flags() -> Vec<String> {
    vec![
        "--tls-cert".into(),
        pki_file("leaf.pem"),
        "--tls-key".into(),
        pki_file("leaf.key"),
    ]
}

/// curl with the test CA; stdout, asserting success.
pub fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "60", "--cacert", &pki_file("ca.pem")])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        stderr_of(&output)
    );
    stdout_of(&output)
}

#[test]
fn poll_with_tls_serves_https_through_run_tls_flags() {
    let app = poll_tls_app();
    for runtime in runtimes("poll_with_tls_serves_https_through_run_tls_flags") {
        let port = free_port();
        let mut running = start(runtime, &app.wasm, port, &tls_flags());
        running.wait_for_stdout(
            &format!("listening on https://127.0.0.1:{port}/"),
            START_TIMEOUT,
        );
        // A peer that opens TCP and never says a word holds up no one.
        let silent = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let base = format!("https://localhost:{port}");
        // Two requests on one connection (curl's second URL reuses it: 0 new connects).
        let out = curl(&[
            "-w",
            "|%{num_connects}|",
            "-d",
            "over tls",
            &format!("{base}/"),
            &format!("{base}/"),
        ]);
        assert_eq!(out, "echo: over tls|1|echo: over tls|0|", "on {runtime}");
        // Plain HTTP to the TLS port: closed, no HTTP answer, no timeout waited out.
        let mut plain = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        plain
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send plain HTTP");
        let (seen, took) = read_until_closed(plain, Duration::from_secs(60));
        assert!(
            seen.len() < 64 && !seen.starts_with(b"HTTP"),
            "on {runtime}: {seen:?}"
        );
        assert!(took < Duration::from_secs(20), "on {runtime}: {took:?}");
        assert!(running.is_running(), "on {runtime}: {}", running.stderr());
        drop(silent);
    }
}

#[test]
fn run_warns_about_tls_paths_the_app_cannot_see() {
    // TLS_CERT/TLS_KEY given by --env to paths nothing maps: `run` warns before launch and
    // passes them on; the app's own error line names the file.
    let app = poll_tls_app();
    let sandbox = Sandbox::new();
    // The app with `/pki` mapped and `env` set by --env; it fails at its TLS files.
    let run_with = |env: &[&str]| {
        let mut command = sandbox.std_cmd_on(Runtime::Engine);
        command
            .args(["run", "--runtime", "embedded", "--wasm"])
            .arg(&app.wasm)
            .args(["--port", "0"]);
        for pair in env {
            command.args(["--env", pair]);
        }
        command
            .arg("--dir")
            .arg(format!("/pki:{}:readonly", pki_dir().display()))
            .stdin(Stdio::null())
            .output()
            .expect("run cargo-wasock")
    };
    let output = run_with(&[
        "TLS_CERT=/nowhere/cert.pem",
        "TLS_KEY=/nowhere/key.pem",
        "SSL_CERT_FILE=ca.pem",
    ]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for var in ["TLS_CERT", "TLS_KEY", "SSL_CERT_FILE"] {
        assert!(
            stderr.contains(&format!("warning: {var} names `")),
            "{var}: {stderr}"
        );
    }
    assert!(
        stderr.contains("help: add --dir /nowhere:HOST_FOLDER:readonly"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: the TLS certificate file `/nowhere/cert.pem` cannot be used: "),
        "{stderr}"
    );
    // A path under a mapping draws no warning.
    let output = run_with(&["TLS_CERT=/pki/leaf.pem", "TLS_KEY=/pki/missing.key"]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("warning: TLS_"), "{stderr}");
    assert!(
        stderr.contains("error: the TLS key file `/pki/missing.key` cannot be used: "),
        "{stderr}"
    );
}

/// `openssl s_server -www` with a certificate of the test's PKI on 127.0.0.1; killed on drop.
pub struct SServer {
    child: Child,
    pub port: u16,
}

impl SServer {
    /// With `leaf.pem` (the test CA's, for localhost and 127.0.0.1).
    pub fn start() -> SServer {
        SServer::with_certificate("leaf.pem", "leaf.key")
    }

    /// With the certificate and key files `cert` and `key` of [`pki_dir`].
    pub fn with_certificate(cert: &str, key: &str) -> SServer {
        let port = free_port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-cert", &pki_file(cert), "-key", &pki_file(key)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        let server = SServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `openssl s_server -www` answers to every GET.
pub const S_SERVER_PAGE: &str = "Ciphers supported in s_server binary";

/// The app's own trust: the CA mapped read-only at /pki, `SSL_CERT_FILE` naming it.
pub fn trust_args() -> Vec<String> {
    vec![
        "--dir".into(),
        format!("/pki:{}:readonly", pki_dir().display()),
        "--env".into(),
        "SSL_CERT_FILE=/pki/ca.pem".into(),
    ]
}

#[test]
fn axum_serves_https_and_calls_an_https_upstream() {
    let app = axum_app();
    let upstream = SServer::start();
    for runtime in runtimes("axum_serves_https_and_calls_an_https_upstream") {
        let port = free_port();
        let mut args = tls_flags();
        args.extend(trust_args());
        args.extend([
            "--env".into(),
            format!("UPSTREAM=https://localhost:{}/", upstream.port),
        ]);
        let mut running = start(runtime, &app.wasm, port, &args);
        running.wait_for_stdout(
            &format!("listening on https://127.0.0.1:{port}/"),
            START_TIMEOUT,
        );
        let hello = curl(&[&format!("https://localhost:{port}/hello?name=tls")]);
        assert_eq!(hello, r#"{"message":"hello, tls"}"#, "on {runtime}");
        let upstream_answer = curl(&[&format!("https://127.0.0.1:{port}/upstream")]);
        let json: serde_json::Value =
            serde_json::from_str(&upstream_answer).expect("JSON from /upstream");
        assert_eq!(json["status"], 200, "on {runtime}: {json}");
        assert!(
            json["body"].as_str().unwrap_or("").contains(S_SERVER_PAGE),
            "on {runtime}: {json}"
        );
        // Plain HTTP to its TLS port is closed without an answer.
        let mut plain = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        plain
            .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send plain HTTP");
        let (seen, _) = read_until_closed(plain, Duration::from_secs(60));
        assert!(!seen.starts_with(b"HTTP"), "on {runtime}: {seen:?}");
        assert!(running.is_running(), "on {runtime}: {}", running.stderr());
    }
}

#[test]
fn proxy_forwards_to_an_https_upstream() {
    let app = proxy_app();
    let upstream = SServer::start();
    for runtime in runtimes("proxy_forwards_to_an_https_upstream") {
        let port = free_port();
        let mut args = trust_args();
        args.extend([
            "--env".into(),
            format!("UPSTREAM=https://127.0.0.1:{}", upstream.port),
        ]);
        let mut running = start(runtime, &app.wasm, port, &args);
        running.wait_for_stdout(
            &format!("listening on http://127.0.0.1:{port}/"),
            START_TIMEOUT,
        );
        let page = curl(&[&format!("http://127.0.0.1:{port}/")]);
        assert!(page.contains(S_SERVER_PAGE), "on {runtime}: {page}");
        assert!(running.is_running(), "on {runtime}: {}", running.stderr());
    }
}
