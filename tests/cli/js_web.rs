//! JavaScript's web-standard globals and serving (issue 23): `tests/js/web.js` checks the
//! globals against the WHATWG specs on every runtime, and `tests/js/serve.js` (a fetch
//! handler, `export default { fetch }`) is served through wasock's server and tried as a
//! client would: HEAD, `Expect: 100-continue`, pipelining, errors in the handler, a handler
//! awaiting a slow upstream while others are answered, concurrent clients, a
//! `ReadableStream` response body, `curl -F` uploads parsed by `formData()`, and (on the
//! engine) a head sent a byte at a time cut by the header timeout. `tests/js/node.js` checks
//! Node's modules and `http`, and `tests/js/https.js` fetches over HTTPS from `openssl
//! s_server` with a private CA made here. The helpers are `js.rs`'s (the shared runtime
//! module, the real WasmEdge halves).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::js::{
    assert_same, exchange, js_command, js_fixture, runtimes, script_command, start, stop,
    wasmedge_js, Outcome, Runtime, IO_TIMEOUT,
};
use crate::support::{build_lock, connect, free_port, Sandbox};
use crate::tls::{curl, pki_dir, SServer};

/// Runs the self-checking script `tests/js/NAME` (its argument: the loopback address its
/// servers use) on each runtime; each run must succeed. Gives each runtime's stdout and
/// stderr, and the outcomes for `assert_same`.
fn self_checking_script(test: &str, name: &str, address: &str) -> (Vec<(Runtime, String, String)>, Vec<(Runtime, Outcome)>) {
    let script = js_fixture(name);
    let mut runs = Vec::new();
    let mut outcomes = Vec::new();
    for runtime in runtimes(test) {
        let sandbox = Sandbox::new();
        let _build = build_lock();
        let output = script_command(runtime, &sandbox, script.parent().unwrap(), name, &[address])
            .output()
            .unwrap_or_else(|error| panic!("run {name}: {error}"));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{runtime:?}: {stdout}\n{stderr}");
        outcomes.push((runtime, Outcome { exit: output.status.code(), stdout: stdout.clone(), client: String::new() }));
        runs.push((runtime, stdout, stderr));
    }
    (runs, outcomes)
}

#[test]
fn web_globals_behave_as_the_specs_say_on_every_runtime() {
    let test = "web_globals_behave_as_the_specs_say_on_every_runtime";
    let (runs, outcomes) = self_checking_script(test, "web.js", "127.0.0.11");
    for (runtime, stdout, _) in &runs {
        let checks = stdout.lines().filter(|line| line.starts_with("ok ")).count();
        assert_eq!(checks, 140, "{runtime:?}: every check of web.js ran: {stdout}");
        assert!(stdout.ends_with("all 140 checks passed\n"), "{runtime:?}: {stdout}");
        // console's format specifiers and object inspection, as Node prints them.
        for line in [
            "n=42.5 42 1.5 {\"a\":[1]} [ 1 ] { b: 2 } %",
            "  nested: { deeper: { deepest: [Object] } },",
            "  list: [ 1, 'two', null, undefined ],",
            "  m: Map(1) { 'k' => 1 },",
            "  Uint8Array(2) [ 1, 2 ],",
            "  [Function: named],",
            "  [class K],",
            "  1970-01-01T00:00:00.000Z",
            "Point { x: 1 } { name: 'c', self: [Circular *1] } [Object: null prototype] {} [] {}",
            "Headers { a: '1' } URLSearchParams { 'a' => '1' }",
            "only one|%d|%i",
            "ReadableStream { locked: false, state: 'readable', supportsBYOB: true } Blob { size: 2, type: 'text/plain' }",
        ] {
            assert!(stdout.lines().any(|l| l == line), "{runtime:?}: no line `{line}` in:\n{stdout}");
        }
    }
    assert_same(test, &outcomes);
}

/// An upstream that answers each request `delay` after reading its head: `slow`.
fn slow_upstream(delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.12:0").expect("bind the upstream");
    let address = listener.local_addr().expect("upstream address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                std::thread::sleep(delay);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nslow");
            });
        }
    });
    format!("http://{address}/")
}

/// The responses in `reply` to requests with `methods` (in order), each `(head, body)`;
/// `None` while one is incomplete. A response to HEAD has no body whatever its framing says.
fn responses(reply: &[u8], methods: &[&str]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut rest = reply;
    for method in methods {
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        let informational = head.starts_with("HTTP/1.1 1");
        let length = if *method == "HEAD" || informational {
            0
        } else {
            head.lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0)
        };
        if rest.len() < end + length {
            return None;
        }
        out.push((head, rest[end..end + length].to_vec()));
        rest = &rest[end + length..];
    }
    rest.is_empty().then_some(out)
}

fn ask(port: u16, request: &str, methods: &[&str]) -> Vec<(String, Vec<u8>)> {
    let reply = exchange(port, request.as_bytes(), |reply| responses(reply, methods).is_some());
    responses(&reply, methods)
        .unwrap_or_else(|| panic!("incomplete answer to {request:?}: {:?}", String::from_utf8_lossy(&reply)))
}

fn status_line(head: &str) -> &str {
    head.lines().next().unwrap_or_default()
}

fn get(port: u16, target: &str) -> (String, String) {
    let request = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let (head, body) = ask(port, &request, &["GET"]).remove(0);
    (head, String::from_utf8_lossy(&body).into_owned())
}

/// `serve.js` on `runtime` with PORT and UPSTREAM set.
fn serve_command(runtime: Runtime, sandbox: &Sandbox, dir: &Path, port: u16, upstream: &str) -> Command {
    let env = [format!("PORT={port}"), format!("UPSTREAM={upstream}")];
    if runtime == Runtime::Engine {
        return js_command(sandbox, dir, "serve.js", &["--env", &env[0], "--env", &env[1]], &[]);
    }
    let js = wasmedge_js();
    let mut command = Command::new(&js.wasmedge);
    command.current_dir(dir);
    if runtime == Runtime::WasmEdgeAot {
        command.arg("--run-mode=aot");
    }
    command.args(["--env", &env[0], "--env", &env[1], "--dir", ".:."]);
    command.arg(if runtime == Runtime::WasmEdgeAot { js.aot() } else { &js.module });
    command.arg("serve.js");
    command
}

/// Sends a request head a byte a second; how long until the server answered or closed,
/// and what it said.
fn trickle_head(port: u16) -> (Duration, String) {
    let mut stream = connect(port, Duration::from_millis(1000));
    let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let started = Instant::now();
    let mut answer = Vec::new();
    for byte in head.iter() {
        if stream.write_all(&[*byte]).is_err() {
            break;
        }
        let mut chunk = [0u8; 1024];
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&chunk[..n]);
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                while let Ok(n) = stream.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    answer.extend_from_slice(&chunk[..n]);
                }
                break;
            }
            Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    (started.elapsed(), String::from_utf8_lossy(&answer).into_owned())
}

#[test]
fn fetch_handler_is_served_through_wasocks_server() {
    let test = "fetch_handler_is_served_through_wasocks_server";
    let dir = js_fixture("serve.js").parent().unwrap().to_path_buf();
    let upstream = slow_upstream(Duration::from_secs(3));
    let mut outcomes = Vec::new();
    for runtime in runtimes(test) {
        let sandbox = Sandbox::new();
        let port = free_port();
        let app = start(serve_command(runtime, &sandbox, &dir, port, &upstream), port);
        // On the engine, a client that sends its head a byte a second is cut by the header
        // read timeout (30 s) while everything below goes on.
        let trickle = (runtime == Runtime::Engine).then(|| std::thread::spawn(move || trickle_head(port)));
        let mut client = Vec::new();

        let (head, body) = get(port, "/");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{runtime:?}: {head}");
        assert!(head.to_ascii_lowercase().contains("\r\nx-served-by: fetch\r\n"), "{runtime:?}: {head}");
        assert_eq!(body, format!("GET http://127.0.0.1:{port}/ -"), "{runtime:?}");
        client.push(format!("{} {body}", status_line(&head)));

        // HEAD: the same head, no body (the GET pipelined after it parses right after).
        let answers = ask(
            port,
            &format!("HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: h\r\nX-Test: 2\r\n\r\n"),
            &["HEAD", "GET"],
        );
        assert!(answers[0].0.to_ascii_lowercase().contains("content-length: 16\r\n"), "{runtime:?}: {answers:?}");
        assert!(status_line(&answers[1].0).ends_with("404 Not Found"), "{runtime:?}: {answers:?}");
        client.push(format!("{} | {}", status_line(&answers[0].0), status_line(&answers[1].0)));

        // Pipelining: answers in request order.
        let pipelined = ask(
            port,
            "GET / HTTP/1.1\r\nHost: a\r\nX-Test: 1\r\n\r\nGET / HTTP/1.1\r\nHost: b\r\nX-Test: 2\r\n\r\n",
            &["GET", "GET"],
        );
        let bodies: Vec<_> = pipelined.iter().map(|(_, body)| String::from_utf8_lossy(body).into_owned()).collect();
        assert_eq!(bodies, ["GET http://a/ 1", "GET http://b/ 2"], "{runtime:?}");

        // Expect: 100-continue is answered before the body is sent.
        let mut stream = connect(port, IO_TIMEOUT);
        let body = r#"{"n":[1,2]}"#;
        write!(
            stream,
            "POST /echo?q=x HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            body.len()
        )
        .unwrap();
        let mut interim = [0u8; 25];
        stream.read_exact(&mut interim).expect("a 100 Continue before the body");
        assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n", "{runtime:?}");
        stream.write_all(body.as_bytes()).unwrap();
        let mut reply = Vec::new();
        let mut chunk = [0u8; 4096];
        while responses(&reply, &["POST"]).is_none() {
            let n = stream.read(&mut chunk).expect("the echo");
            assert!(n > 0, "{runtime:?}: closed before the echo: {:?}", String::from_utf8_lossy(&reply));
            reply.extend_from_slice(&chunk[..n]);
        }
        let (head, echoed) = responses(&reply, &["POST"]).unwrap().remove(0);
        assert!(head.starts_with("HTTP/1.1 201 Created\r\n"), "{runtime:?}: {head}");
        assert!(head.to_ascii_lowercase().contains("content-type: application/json\r\n"), "{runtime:?}: {head}");
        let echoed = String::from_utf8_lossy(&echoed).into_owned();
        assert_eq!(echoed, r#"{"method":"POST","type":"application/json","body":{"n":[1,2]},"query":"x"}"#);
        client.push(echoed);

        let (head, _) = get(port, "/cookies");
        assert!(head.starts_with("HTTP/1.1 204 No Content\r\n"), "{runtime:?}: {head}");
        let cookies: Vec<_> = head.lines().filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).collect();
        assert_eq!(cookies.len(), 2, "{runtime:?}: two set-cookie fields: {head}");

        // A handler that throws, rejects or gives something else: 500, and serving goes on.
        for target in ["/throw", "/reject", "/not-a-response"] {
            let (head, body) = get(port, target);
            assert!(head.starts_with("HTTP/1.1 500 Internal Server Error\r\n"), "{runtime:?} {target}: {head}");
            client.push(format!("{target}: {} {body}", status_line(&head)));
        }

        // A ReadableStream body (read to its end, then sent whole), and one whose chunk is not
        // bytes (500, one line on stderr).
        let (head, body) = get(port, "/stream");
        assert!(head.to_ascii_lowercase().contains("content-length: 24\r\n"), "{runtime:?}: {head}");
        assert_eq!(body, "chunk 0\nchunk 1\nchunk 2\n", "{runtime:?}");
        client.push(body);
        assert!(get(port, "/bad-stream").0.starts_with("HTTP/1.1 500 "), "{runtime:?}");
        // A Host with userinfo would give request.url credentials, which a Request may not
        // have (Fetch): the handler is not called, 500.
        let request = format!("GET / HTTP/1.1\r\nHost: user@127.0.0.1:{port}\r\n\r\n");
        let (head, _) = ask(port, &request, &["GET"]).remove(0);
        assert!(head.starts_with("HTTP/1.1 500 "), "{runtime:?}: {head}");
        // A string body's lone surrogate goes out as U+FFFD's three bytes (Encoding Standard).
        let (head, body) = get(port, "/lone-surrogate");
        assert!(head.to_ascii_lowercase().contains("content-length: 5\r\n"), "{runtime:?}: {head}");
        assert_eq!(body, "a\u{fffd}b", "{runtime:?}");

        // curl -F posts a file (64 KiB holding boundary-like bytes) and a field; formData()
        // parses them, and the file sent back as a Response body is the same bytes.
        let upload = sandbox.work().join("upload.bin");
        let bytes: Vec<u8> = (0..65_536u32).map(|i| if i % 97 < 4 { b"\r\n--"[(i % 97) as usize] } else { (i * 7 % 251) as u8 }).collect();
        std::fs::write(&upload, &bytes).expect("write upload.bin");
        let url = format!("http://127.0.0.1:{port}/upload");
        let file = format!("f=@{};type=application/x-test", upload.display());
        let listed = curl(&["-F", &file, "-F", "note=héllo wörld", &url]);
        assert_eq!(listed, "f: upload.bin application/x-test 65536 bytes\nnote=héllo wörld\n", "{runtime:?}");
        client.push(listed);
        let echoed = sandbox.work().join("echoed.bin");
        curl(&["-F", &file, "-o", &echoed.display().to_string(), &format!("{url}?echo=f")]);
        assert!(std::fs::read(&echoed).expect("the echoed file") == bytes, "{runtime:?}: the file came back changed");
        let form = curl(&["--data-urlencode", "a=1 2", "-d", "b=3", &url]);
        assert_eq!(form, "a=1 2\nb=3\n", "{runtime:?}");

        // A handler awaiting a slow upstream holds only its own request.
        let slow = std::thread::spawn(move || get(port, "/upstream"));
        std::thread::sleep(Duration::from_millis(200));
        for _ in 0..10 {
            assert!(get(port, "/").0.starts_with("HTTP/1.1 200"), "{runtime:?}");
        }
        assert!(!slow.is_finished(), "{runtime:?}: others were answered while /upstream waited");
        let (head, body) = slow.join().expect("the /upstream client");
        assert!(head.starts_with("HTTP/1.1 200"), "{runtime:?}: {head}");
        assert_eq!(body, "upstream said slow", "{runtime:?}");

        // Concurrent keep-alive clients.
        let clients: Vec<_> = (0..8)
            .map(|n| {
                std::thread::spawn(move || {
                    let mut stream = connect(port, IO_TIMEOUT);
                    for i in 0..20 {
                        write!(stream, "GET /?{n}-{i} HTTP/1.1\r\nHost: c\r\nX-Test: {n}-{i}\r\n\r\n").unwrap();
                        let mut reply = Vec::new();
                        let mut chunk = [0u8; 4096];
                        while responses(&reply, &["GET"]).is_none() {
                            let read = stream.read(&mut chunk).expect("an answer");
                            assert!(read > 0, "closed mid-way");
                            reply.extend_from_slice(&chunk[..read]);
                        }
                        let (_, body) = responses(&reply, &["GET"]).unwrap().remove(0);
                        assert_eq!(String::from_utf8_lossy(&body), format!("GET http://c/?{n}-{i} {n}-{i}"));
                    }
                })
            })
            .collect();
        for client in clients {
            client.join().expect("a concurrent client");
        }

        if let Some(trickle) = trickle {
            let (elapsed, answer) = trickle.join().expect("the trickling client");
            assert!(
                elapsed < Duration::from_secs(45) && (answer.is_empty() || answer.starts_with("HTTP/1.1 408")),
                "{runtime:?}: a byte-a-second head was cut after {elapsed:?} with {answer:?}"
            );
        }
        let stderr_lines = app.stderr();
        let stdout = stop(app);
        assert!(
            stdout.lines().next() == Some(&format!("listening on http://127.0.0.1:{port}/")),
            "{runtime:?}: {stdout}"
        );
        for line in [
            "error: fetch handler failed: Error: boom",
            "error: fetch handler failed: TypeError: rejected",
            "error: fetch handler failed: TypeError: the fetch handler must return a Response, got 'text'",
            "error: fetch handler failed: TypeError: the fetch handler's Response body: a body stream gave a chunk \
             that is not bytes ('not bytes'); help: enqueue Uint8Arrays, e.g. new TextEncoder().encode(text), or \
             pipe text through a TextEncoderStream",
        ] {
            assert!(stderr_lines.lines().any(|l| l == line), "{runtime:?}: no `{line}` in stderr:\n{stderr_lines}");
        }
        let stdout = stdout.replace(&port.to_string(), "PORT");
        outcomes.push((runtime, Outcome { exit: None, stdout, client: client.join("\n").replace(&port.to_string(), "PORT") }));
    }
    assert_same(test, &outcomes);
}

/// `fetch('https://…')` and `wasi_net.WasiTlsConn` against `openssl s_server` with the
/// certificate of the test's private CA (`tests/cli/tls.rs`'s PKI): trusted through
/// `SSL_CERT_FILE`, and refused (naming the certificate) for a self-signed certificate;
/// the same on every runtime.
#[test]
fn fetch_over_https_trusts_ssl_cert_file_on_every_runtime() {
    let test = "fetch_over_https_trusts_ssl_cert_file_on_every_runtime";
    let sandbox = Sandbox::new();
    let dir = sandbox.work();
    std::fs::copy(js_fixture("https.js"), dir.join("https.js")).expect("copy https.js");
    std::fs::copy(pki_dir().join("ca.pem"), dir.join("ca.pem")).expect("copy ca.pem");
    let trusted = SServer::start();
    let untrusted = SServer::with_certificate("self.pem", "self.key");
    let env = [
        "SSL_CERT_FILE=ca.pem".to_string(),
        format!("HTTPS_URL=https://127.0.0.1:{}/", trusted.port),
        format!("UNTRUSTED_URL=https://127.0.0.1:{}/", untrusted.port),
    ];
    let mut outcomes = Vec::new();
    for runtime in runtimes(test) {
        let mut command = if runtime == Runtime::Engine {
            let mut extra = Vec::new();
            for pair in &env {
                extra.extend(["--env", pair.as_str()]);
            }
            js_command(&sandbox, &dir, "https.js", &extra, &[])
        } else {
            let js = wasmedge_js();
            let mut command = Command::new(&js.wasmedge);
            command.current_dir(&dir);
            if runtime == Runtime::WasmEdgeAot {
                command.arg("--run-mode=aot");
            }
            for pair in &env {
                command.args(["--env", pair]);
            }
            command.args(["--dir", ".:."]);
            command.arg(if runtime == Runtime::WasmEdgeAot { js.aot() } else { &js.module });
            command.arg("https.js");
            command
        };
        let _build = build_lock();
        let output = command.output().expect("run https.js");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{runtime:?}: {stdout}\n{stderr}");
        assert_eq!(
            stdout,
            "trusted: 200 true true\nuntrusted: TypeError true\n\
             WasiTlsConn: HTTP/1.0 200 ok true\nWasiTlsConn untrusted: true\n",
            "{runtime:?}: {stderr}"
        );
        outcomes.push((runtime, Outcome { exit: output.status.code(), stdout, client: String::new() }));
    }
    assert_same(test, &outcomes);
}

/// Node's basics (`tests/js/node.js`): events, buffer, process, url, and `http`'s server
/// (through wasock's server) and client (over fetch), self-checking; the script ends by
/// itself once the server is closed. The same on every runtime.
#[test]
fn node_modules_work_and_the_server_closes_on_every_runtime() {
    let test = "node_modules_work_and_the_server_closes_on_every_runtime";
    let (runs, outcomes) = self_checking_script(test, "node.js", "127.0.0.17");
    for (runtime, stdout, stderr) in &runs {
        assert!(stdout.ends_with("all 29 checks passed\n"), "{runtime:?}: {stdout}\n{stderr}");
        assert!(
            stderr.lines().any(|l| l == "error: request handler failed: Error: handler threw"),
            "{runtime:?}: {stderr}"
        );
    }
    assert_same(test, &outcomes);
}
