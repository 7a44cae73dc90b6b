//! JavaScript apps end to end: `cargo wasock run --js` builds the runtime module once (into
//! a cache shared by this test run) and runs scripts on the embedded engine: the reference
//! docs' scripts unmodified (the client with only its server's address changed), every
//! function of the runtime (`tests/js/api.js`), a chunked echo in wasmedge-quickjs's style
//! (`tests/js/chunked_echo.js`), uncaught errors, a 1 MiB body and 1,000 connections at
//! once on the `js-http` template's server.
//!
//! The reference scripts, `api.js`, the chunked echo and the uncaught errors also run on the
//! real WasmEdge (issue 19), started directly as the docs do (`wasmedge --dir .:.
//! wasock-js.wasm script.js`) with a copy of the module the CLI built, interpreted and as
//! `wasmedge compile`'s output (`--run-mode=aot`); each test compares the exit code, the
//! script's stdout and what the client saw with the engine's. WasmEdge is
//! `$WASMEDGE_DIR/bin/wasmedge`, else `../shared/wasmedge/bin/wasmedge` beside the
//! repository; where neither exists (or it does not run), those halves are skipped with a
//! note.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::support::{build_lock, connect, free_port, RunningApp, Sandbox};

/// The first run builds QuickJS and the runtime for wasm (minutes on a loaded machine).
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(900);
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// The port the reference docs' servers listen on (they take no configuration).
const REFERENCE_PORT: u16 = 8000;

static REFERENCE_PORT_LOCK: Mutex<()> = Mutex::new(());

fn reference_port() -> MutexGuard<'static, ()> {
    REFERENCE_PORT_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

pub(crate) fn js_fixture(name: &str) -> PathBuf {
    repo_root().join("tests/js").join(name)
}

/// One cache for the whole test run (and later runs): the runtime module is built once.
pub(crate) fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("js-cache")
}

/// `cargo wasock run --runtime embedded --aot --js SCRIPT [extra] [-- args]` in `dir`.
pub(crate) fn js_command(
    sandbox: &Sandbox,
    dir: &Path,
    script: &str,
    extra: &[&str],
    args: &[&str],
) -> Command {
    let mut command = sandbox.std_cmd();
    command
        .current_dir(dir)
        .env("XDG_CACHE_HOME", shared_cache())
        .args(["run", "--runtime", "embedded", "--aot", "--js", script])
        .args(extra);
    if !args.is_empty() {
        command.arg("--").args(args);
    }
    command
}

/// Copies `fixture` into the sandbox's work folder as `name`, with `edit` applied.
fn script_in(
    sandbox: &Sandbox,
    fixture: &Path,
    name: &str,
    edit: impl FnOnce(String) -> String,
) -> PathBuf {
    let text = std::fs::read_to_string(fixture).expect("read fixture");
    let path = sandbox.work().join(name);
    std::fs::write(&path, edit(text)).expect("write script");
    path
}

/// Where a test runs a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runtime {
    /// `cargo wasock run --runtime embedded --aot --js`.
    Engine,
    /// `wasmedge --dir .:. wasock-js.wasm SCRIPT`, WasmEdge's interpreter (its default).
    WasmEdge,
    /// The same with `wasmedge compile`'s output and `--run-mode=aot`.
    WasmEdgeAot,
}

/// The real WasmEdge and the JS runtime module the CLI built, ready for it.
pub(crate) struct WasmEdgeJs {
    pub(crate) wasmedge: PathBuf,
    /// A copy of the CLI's module (the cache's own may be rebuilt under a running test).
    pub(crate) module: PathBuf,
    /// `wasmedge compile` of `module`, started in the background when the module was
    /// copied, so the engine and interpreter halves run meanwhile (it takes a minute).
    compiling: Mutex<Option<std::thread::JoinHandle<PathBuf>>>,
    aot: OnceLock<PathBuf>,
}

impl WasmEdgeJs {
    /// `wasmedge compile`'s output of `module`, waiting for the compile to end.
    pub(crate) fn aot(&self) -> &Path {
        self.aot.get_or_init(|| {
            let compiling = self
                .compiling
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take()
                .expect("the AOT compile failed in an earlier test (its panic is above)");
            compiling
                .join()
                .unwrap_or_else(|_| panic!("wasmedge compile of the JS runtime failed (above)"))
        })
    }
}

/// The real WasmEdge for the WasmEdge halves, and its `--version` line; or why they are
/// skipped. It is `$WASMEDGE_DIR/bin/wasmedge`, else `../shared/wasmedge/bin/wasmedge`
/// beside the repository (CI has a copy of shared/ there), and it must run: a copy whose
/// libraries are not installed yet is skipped too, with the set-up to run.
fn wasmedge_for_tests() -> &'static Result<(PathBuf, String), String> {
    static FOUND: OnceLock<Result<(PathBuf, String), String>> = OnceLock::new();
    FOUND.get_or_init(|| {
        let shared = repo_root().join("../shared/wasmedge");
        let from_env =
            std::env::var_os("WASMEDGE_DIR").map(|dir| PathBuf::from(dir).join("bin/wasmedge"));
        let Some(path) = from_env
            .into_iter()
            .chain([shared.join("bin/wasmedge")])
            .find(|path| path.is_file())
        else {
            return Err("WasmEdge not found".into());
        };
        let setup = format!("help: run {}", shared.join("setup.sh").display());
        match Command::new(&path).arg("--version").output() {
            Ok(output) if output.status.success() => {
                let version = String::from_utf8_lossy(&output.stdout);
                Ok((path, version.lines().next().unwrap_or_default().to_owned()))
            }
            Ok(output) => Err(format!(
                "`{} --version` failed ({}): {}\n{setup}",
                path.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(error) => Err(format!(
                "`{}` cannot be started: {error}\n{setup}",
                path.display()
            )),
        }
    })
}

/// The runtimes `test` runs on: the engine, then WasmEdge interpreted and AOT where
/// WasmEdge is installed; where it is not, a note says the WasmEdge half was skipped.
pub(crate) fn runtimes(test: &str) -> Vec<Runtime> {
    match wasmedge_for_tests() {
        Ok(_) => {
            // Made ready here, before the test takes the build lock: getting the module
            // takes it too, and a std Mutex cannot be taken twice by one thread.
            wasmedge_js();
            vec![Runtime::Engine, Runtime::WasmEdge, Runtime::WasmEdgeAot]
        }
        Err(why) => {
            let (first, rest) = why.split_once('\n').unwrap_or((why, ""));
            eprintln!("note: {first}; the WasmEdge half of {test} was skipped");
            if !rest.is_empty() {
                eprintln!("{rest}");
            }
            vec![Runtime::Engine]
        }
    }
}

/// The module path `cargo wasock run -v --js` printed: `JavaScript runtime: PATH` when it
/// was cached, `Built the JavaScript runtime: PATH` when it was built now.
fn module_path_in(stderr: &str) -> Option<PathBuf> {
    stderr
        .lines()
        .find_map(|line| {
            line.split_once("JavaScript runtime: ")
                .map(|(_, path)| path)
        })
        .map(|path| PathBuf::from(path.trim()))
}

/// Once per test run: the CLI builds (or finds) the runtime module, which is copied for
/// WasmEdge and compiled with `wasmedge compile` in the background. The copy and its AOT
/// output are kept in the test target directory and reused while the module's bytes and
/// WasmEdge's version are the same, so later runs do not compile an unchanged runtime again.
pub(crate) fn wasmedge_js() -> &'static WasmEdgeJs {
    static READY: OnceLock<WasmEdgeJs> = OnceLock::new();
    READY.get_or_init(|| {
        let Ok((wasmedge, version)) = wasmedge_for_tests() else {
            unreachable!("runtimes() gives WasmEdge only when it runs");
        };
        let (wasmedge, version) = (wasmedge.clone(), version.clone());
        let sandbox = Sandbox::new();
        std::fs::write(sandbox.work().join("hi.js"), "print('hi')\n").expect("write script");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("js-wasmedge");
        std::fs::create_dir_all(&dir).expect("create the WasmEdge folder");
        let module = dir.join("wasock-js.wasm");
        let aot = dir.join("wasock-js.aot.wasm");
        let stamp = dir.join("wasock-js.aot.stamp");
        let bytes = {
            // Under the build lock: the clean-up test removes and rebuilds the cached module.
            let _build = build_lock();
            let output = js_command(&sandbox, &sandbox.work(), "hi.js", &["-v"], &[])
                .output()
                .expect("run hi.js");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "{stderr}");
            let built =
                module_path_in(&stderr).unwrap_or_else(|| panic!("no module path in: {stderr}"));
            std::fs::read(&built).expect("read the CLI's module")
        };
        let current = std::fs::read(&module).is_ok_and(|known| known == bytes)
            && std::fs::read_to_string(&stamp).is_ok_and(|known| known == version)
            && aot.is_file();
        if !current {
            let _ = std::fs::remove_file(&stamp);
            std::fs::write(&module, &bytes).expect("copy the module");
        }
        let compiling = {
            let (wasmedge, module, aot) = (wasmedge.clone(), module.clone(), aot.clone());
            std::thread::spawn(move || {
                if current {
                    return aot;
                }
                let partial = aot.with_extension("partial");
                let started = Instant::now();
                let output = Command::new(&wasmedge)
                    .arg("compile")
                    .arg(&module)
                    .arg(&partial)
                    .output()
                    .expect("run wasmedge compile");
                assert!(
                    output.status.success(),
                    "wasmedge compile {} failed: {}{}",
                    module.display(),
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                std::fs::rename(&partial, &aot).expect("move the AOT output into place");
                std::fs::write(&stamp, version).expect("write the AOT stamp");
                eprintln!(
                    "note: wasmedge compile of the JS runtime ({} bytes) took {:.1} s",
                    bytes.len(),
                    started.elapsed().as_secs_f64()
                );
                aot
            })
        };
        WasmEdgeJs {
            wasmedge,
            module,
            compiling: Mutex::new(Some(compiling)),
            aot: OnceLock::new(),
        }
    })
}

/// SCRIPT (in `dir`, which is the script's `.`) with `args` on `runtime`: through the CLI
/// on the engine, or WasmEdge started directly as the reference docs start theirs.
pub(crate) fn script_command(
    runtime: Runtime,
    sandbox: &Sandbox,
    dir: &Path,
    script: &str,
    args: &[&str],
) -> Command {
    let js = match runtime {
        Runtime::Engine => return js_command(sandbox, dir, script, &[], args),
        Runtime::WasmEdge | Runtime::WasmEdgeAot => wasmedge_js(),
    };
    let mut command = Command::new(&js.wasmedge);
    command.current_dir(dir);
    if runtime == Runtime::WasmEdgeAot {
        // Since 0.17 WasmEdge interprets an AOT file unless told otherwise.
        command.arg("--run-mode=aot");
    }
    command
        .args(["--dir", ".:."])
        .arg(if runtime == Runtime::WasmEdgeAot {
            js.aot()
        } else {
            &js.module
        })
        .arg(script)
        .args(args);
    command
}

/// What a test compares between runtimes: the exit code (`None` for a server the test
/// stopped), the script's stdout and what the client saw.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) exit: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) client: String,
}

/// Asserts that every runtime's outcome equals the engine's (the first), showing the first
/// line that differs.
pub(crate) fn assert_same(test: &str, outcomes: &[(Runtime, Outcome)]) {
    let Some(((_, engine), others)) = outcomes.split_first() else {
        return;
    };
    for (runtime, outcome) in others {
        assert_eq!(
            outcome.exit, engine.exit,
            "{test}: exit code on {runtime:?} differs from the engine's"
        );
        for (what, theirs, ours) in [
            ("stdout", &outcome.stdout, &engine.stdout),
            ("what the client saw", &outcome.client, &engine.client),
        ] {
            if theirs == ours {
                continue;
            }
            let (line, (a, b)) = theirs
                .lines()
                .chain(std::iter::repeat("<end>"))
                .zip(ours.lines().chain(std::iter::repeat("<end>")))
                .enumerate()
                .find(|(_, (a, b))| a != b)
                .unwrap_or((0, ("<same lines>", "<same lines>")));
            let cut = |text: &str| text.chars().take(300).collect::<String>();
            panic!(
                "{test}: {what} on {runtime:?} differs from the engine's at line {}:\n  {runtime:?}: {}\n  Engine: {}",
                line + 1,
                cut(a),
                cut(b)
            );
        }
    }
}

/// Stops a server app and waits for its output to end: all it printed is in `stdout()`.
pub(crate) fn stop(mut app: RunningApp) -> String {
    app.signal(libc::SIGTERM);
    app.wait_exit(IO_TIMEOUT);
    app.stdout()
}

/// Starts a server script and waits until `port` on 127.0.0.1 accepts connections.
pub(crate) fn start(command: Command, port: u16) -> RunningApp {
    let _build = build_lock();
    let mut app = RunningApp::spawn(command);
    app.wait_for_port(port, START_TIMEOUT);
    app
}

/// Sends `request` and reads until the peer closes or `done` says the reply is complete.
pub(crate) fn exchange(port: u16, request: &[u8], done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut stream = connect(port, IO_TIMEOUT);
    stream.write_all(request).expect("send");
    let mut reply = Vec::new();
    let mut chunk = [0u8; 65536];
    while !done(&reply) {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
            Err(error) => panic!(
                "reading the reply failed after {} bytes: {error}",
                reply.len()
            ),
        }
    }
    reply
}

/// A complete HTTP response with a Content-Length is in `reply`.
pub(crate) fn response_complete(reply: &[u8]) -> bool {
    let text = String::from_utf8_lossy(reply);
    let Some(head_end) = text.find("\r\n\r\n") else {
        return false;
    };
    let length = text[..head_end]
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    reply.len() >= head_end + 4 + length
}

pub(crate) fn body_of(reply: &[u8]) -> &[u8] {
    let at = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    &reply[at + 4..]
}

fn app_printed(app: &RunningApp, line: &str) -> bool {
    app.stdout().lines().any(|l| l == line)
}

/// `check(variant, runtime)` for both docs' versions of a reference server script (003 and
/// 004) on every runtime, holding the reference port; the outcomes must be the same on each.
fn on_each_reference_variant(test: &str, check: fn(&str, Runtime) -> Outcome) {
    let _port = reference_port();
    let runtimes = runtimes(test);
    for variant in ["003", "004"] {
        let outcomes: Vec<_> = runtimes
            .iter()
            .map(|&runtime| (runtime, check(variant, runtime)))
            .collect();
        assert_same(&format!("{test} ({variant})"), &outcomes);
    }
}

/// The reference script `name` (unmodified) started on `runtime` and serving on
/// [`REFERENCE_PORT`]; its sandbox is kept alive with it.
fn start_reference(name: &str, runtime: Runtime) -> (Sandbox, RunningApp) {
    let sandbox = Sandbox::new();
    script_in(
        &sandbox,
        &js_fixture(&format!("reference/{name}")),
        name,
        |text| text,
    );
    let app = start(
        script_command(runtime, &sandbox, &sandbox.work(), name, &[]),
        REFERENCE_PORT,
    );
    (sandbox, app)
}

#[test]
fn reference_http_echo_scripts_answer_curl_and_a_1_mib_body() {
    let test = "reference_http_echo_scripts_answer_curl_and_a_1_mib_body";
    on_each_reference_variant(test, reference_http_echo);
}

/// The reference HTTP echo `variant` on `runtime`, checked against curl and a 1 MiB body.
fn reference_http_echo(variant: &str, runtime: Runtime) -> Outcome {
    let label = format!("{variant} on {runtime:?}");
    let (_sandbox, app) = start_reference(&format!("{variant}_wasi_http_echo.js"), runtime);

    // The docs' own check.
    let output = Command::new("curl")
        .args([
            "-s",
            "-m",
            "30",
            "-d",
            "WasmEdge",
            "-X",
            "POST",
            "http://localhost:8000",
        ])
        .output()
        .expect("run curl");
    let curl = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(curl, "echo:WasmEdge", "{label}");

    // 1 MiB of body arrives in many reads; the echo carries all of it.
    let body: Vec<u8> = (0..1024 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let mut request = format!(
        "POST /big HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let reply = exchange(REFERENCE_PORT, &request, response_complete);
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n"),
        "{label}: {}",
        &text[..text.len().min(200)]
    );
    let echoed = body_of(&reply);
    assert_eq!(&echoed[..5], b"echo:", "{label}");
    assert!(
        echoed[5..] == body[..],
        "{label}: the 1 MiB body came back changed ({} bytes)",
        echoed.len() - 5
    );
    let head = &text[..text.len() - echoed.len()];

    let waited = Instant::now();
    while !app_printed(&app, "uri= /big") {
        assert!(
            waited.elapsed() < IO_TIMEOUT,
            "{label}: no output:\n{}",
            app.stdout()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let printed = stop(app);
    for line in [
        "method= POST",
        "uri= /big",
        "version= HTTP/1.1",
        "body= WasmEdge",
    ] {
        assert!(
            printed.lines().any(|l| l == line),
            "{label}: no `{line}` in:\n{printed}"
        );
    }
    assert!(
        printed
            .lines()
            .any(|l| l.starts_with("headers= ") && l.contains("content-length")),
        "{label}: {printed}"
    );
    Outcome {
        exit: None,
        stdout: printed,
        client: format!("{curl}\n{head}"),
    }
}

#[test]
fn reference_tcp_echo_scripts_echo_each_read() {
    let test = "reference_tcp_echo_scripts_echo_each_read";
    on_each_reference_variant(test, reference_tcp_echo);
}

/// The reference TCP echo `variant` on `runtime`, with two clients at once.
fn reference_tcp_echo(variant: &str, runtime: Runtime) -> Outcome {
    let label = format!("{variant} on {runtime:?}");
    let (_sandbox, app) = start_reference(&format!("{variant}_wasi_net_echo.js"), runtime);
    // Two clients at once: the server handles each connection in its own async function.
    let mut streams = [
        connect(REFERENCE_PORT, IO_TIMEOUT),
        connect(REFERENCE_PORT, IO_TIMEOUT),
    ];
    let mut seen = String::new();
    for (index, word) in [(0, "one"), (1, "two"), (0, "three")] {
        let stream = &mut streams[index];
        stream.write_all(word.as_bytes()).expect("send");
        let mut reply = vec![0u8; 64];
        let n = stream.read(&mut reply).expect("echo");
        let reply = String::from_utf8_lossy(&reply[..n]).into_owned();
        assert_eq!(reply, format!("echo:{word}"), "{label}");
        seen.push_str(&reply);
        seen.push('\n');
    }
    streams[0].shutdown(Shutdown::Write).expect("shutdown");
    let mut rest = Vec::new();
    streams[0].read_to_end(&mut rest).expect("read to end");
    assert!(rest.is_empty(), "{label}: nothing after EOF");
    Outcome {
        exit: None,
        stdout: stop(app),
        client: seen,
    }
}

/// An HTTP server on 127.0.0.2 answering `count` connections, one request each, like the
/// docs' remote server; the requests it saw.
fn response_server(
    count: usize,
    body: &'static str,
) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..count {
            let (mut stream, _) = listener.accept().expect("accept");
            stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut chunk).expect("read request");
                assert!(n > 0, "the client closed before its request");
                request.extend_from_slice(&chunk[..n]);
            }
            // Head first, body after a pause: the client's parse loop must wait for the body.
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .expect("head");
            std::thread::sleep(Duration::from_millis(100));
            stream.write_all(body.as_bytes()).expect("body");
            seen.push(String::from_utf8_lossy(&request).into_owned());
        }
        seen
    });
    (port, handle)
}

#[test]
fn reference_clients_get_from_a_local_server() {
    const BODY: &str = "{\n  \"args\": {\n    \"a\": \"123\"\n  }\n}";
    let test = "reference_clients_get_from_a_local_server";
    let runtimes = runtimes(test);
    for variant in ["003", "004"] {
        let mut outcomes = Vec::new();
        for &runtime in &runtimes {
            let label = format!("{variant} on {runtime:?}");
            let sandbox = Sandbox::new();
            let (port, server) = response_server(1, BODY);
            let name = format!("{variant}_wasi_http_client.js");
            script_in(
                &sandbox,
                &js_fixture(&format!("reference/{name}")),
                &name,
                |text| {
                    text.replace("152.136.235.225:80", &format!("127.0.0.2:{port}"))
                        .replace("152.136.235.225", "127.0.0.2")
                },
            );
            let _build = build_lock();
            let output = script_command(runtime, &sandbox, &sandbox.work(), &name, &[])
                .output()
                .expect("run the client");
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            assert!(
                output.status.success(),
                "{label}: {}\n{stdout}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(
                stdout,
                format!("wait get\nresp.body\n{BODY}\nget end\n"),
                "{label}"
            );
            let request = server.join().expect("server thread").remove(0);
            assert!(
                request.starts_with("GET /get?a=123 HTTP/1.1\r\n"),
                "{label}: {request}"
            );
            assert!(
                request
                    .to_ascii_lowercase()
                    .contains("\r\nhost: 127.0.0.2\r\n"),
                "{label}: {request}"
            );
            let outcome = Outcome {
                exit: output.status.code(),
                stdout,
                client: request,
            };
            outcomes.push((runtime, outcome));
        }
        assert_same(&format!("{test} ({variant})"), &outcomes);
    }
}

#[test]
fn every_runtime_function_works_on_the_engine_and_on_wasmedge() {
    let test = "every_runtime_function_works_on_the_engine_and_on_wasmedge";
    let script = js_fixture("api.js");
    let mut outcomes = Vec::new();
    for runtime in runtimes(test) {
        let sandbox = Sandbox::new();
        let closed = free_port().to_string();
        let _build = build_lock();
        let output = script_command(
            runtime,
            &sandbox,
            script.parent().unwrap(),
            "api.js",
            &["127.0.0.3", &closed],
        )
        .output()
        .expect("run api.js");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{runtime:?}: {stdout}\n{stderr}");
        let checks = stdout
            .lines()
            .filter(|line| line.starts_with("ok "))
            .count();
        assert_eq!(
            checks, 56,
            "{runtime:?}: every check of api.js ran: {stdout}"
        );
        assert!(
            stdout.contains("\nconsole.log { a: 1 } [ 1, 'x' ] null undefined 1.5\n"),
            "{runtime:?}: {stdout}"
        );
        assert!(stdout.ends_with("all done\n"), "{runtime:?}: {stdout}");
        assert!(
            stderr.lines().any(|line| line == "to stderr"),
            "{runtime:?}: {stderr}"
        );
        let outcome = Outcome {
            exit: output.status.code(),
            stdout,
            client: String::new(),
        };
        outcomes.push((runtime, outcome));
    }
    assert_same(test, &outcomes);
}

/// A chunked echo in wasmedge-quickjs's style (`WasiResponse.chunk`) answers curl with one
/// chunk per word, keeps the connection for the next request, and does so alike on every
/// runtime.
#[test]
fn chunked_echo_script_streams_its_answer_to_curl() {
    let test = "chunked_echo_script_streams_its_answer_to_curl";
    let script = js_fixture("chunked_echo.js");
    let mut outcomes = Vec::new();
    for runtime in runtimes(test) {
        let sandbox = Sandbox::new();
        let port = free_port();
        let app = start(
            script_command(
                runtime,
                &sandbox,
                script.parent().unwrap(),
                "chunked_echo.js",
                &[&port.to_string()],
            ),
            port,
        );
        let url = format!("http://127.0.0.1:{port}/echo");
        let curl = |args: &[&str]| {
            let output = Command::new("curl")
                .args(["-s", "-S", "-m", "30"])
                .args(args)
                .output()
                .expect("run curl");
            assert!(
                output.status.success(),
                "{runtime:?}: curl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        let decoded = curl(&["-d", "hello chunked world", &url]);
        assert_eq!(decoded, "echo:hello chunked world", "{runtime:?}");
        let raw = curl(&["--raw", "-i", "-d", "hello chunked world", &url]);
        assert_eq!(
            raw,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n\
             5\r\necho:\r\n6\r\nhello \r\n8\r\nchunked \r\n5\r\nworld\r\n0\r\n\r\n",
            "{runtime:?}"
        );
        // Two requests on one connection: the second is answered after the first's last chunk.
        let again = curl(&["-d", "a b", &url, &url, "-w", "[%{num_connects}]"]);
        assert_eq!(again, "echo:a b[1]echo:a b[0]", "{runtime:?}");
        let stdout = stop(app);
        assert_eq!(
            stdout,
            format!(
                "listening on {port}\nPOST /echo: 3 chunks\nPOST /echo: 3 chunks\n\
                 POST /echo: 2 chunks\nPOST /echo: 2 chunks\n"
            ),
            "{runtime:?}"
        );
        let outcome = Outcome {
            exit: None,
            stdout: stdout.replace(&port.to_string(), "PORT"),
            client: format!("{decoded}\n{raw}\n{again}"),
        };
        outcomes.push((runtime, outcome));
    }
    assert_same(test, &outcomes);
}

#[test]
fn uncaught_errors_print_the_stack_and_exit_1() {
    let test = "uncaught_errors_print_the_stack_and_exit_1";
    // (script, source, message, a stack frame; none for an error made by the runtime itself)
    let cases = [
        ("throw.js", "function inner() { throw new Error('boom') }\ninner()\n", "Uncaught Error: boom", Some("at inner")),
        (
            "reject.js",
            "import * as net from 'wasi_net'\nawait net.connect('127.0.0.1:1')\n",
            "Uncaught (in promise) Error: connect to 127.0.0.1:1: ",
            None,
        ),
        (
            "rethrow.js",
            "import * as net from 'wasi_net'\nasync function go() {\n  try { await net.connect('127.0.0.1:1') } catch (e) { throw new Error('wrapped: ' + e.message) }\n}\ngo()\n",
            "Uncaught (in promise) Error: wrapped: connect to 127.0.0.1:1: ",
            Some("at go"),
        ),
        (
            "timer.js",
            "setTimeout(function tick() { null.x }, 1)\n",
            "Uncaught TypeError: ",
            Some("at tick"),
        ),
    ];
    let mut outcomes = Vec::new();
    for runtime in runtimes(test) {
        let sandbox = Sandbox::new();
        let _build = build_lock();
        let mut outcome = Outcome::default();
        for (name, source, message, frame) in cases {
            std::fs::write(sandbox.work().join(name), source).expect("write script");
            let output = script_command(runtime, &sandbox, &sandbox.work(), name, &[])
                .output()
                .expect("run");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(1),
                "{runtime:?} {name}: {stderr}"
            );
            assert!(stderr.contains(message), "{runtime:?} {name}: {stderr}");
            if let Some(frame) = frame {
                assert!(
                    stderr.contains(frame),
                    "{runtime:?} {name}: no `{frame}` frame in {stderr}"
                );
            }
            outcome
                .stdout
                .push_str(&String::from_utf8_lossy(&output.stdout));
            outcome
                .client
                .push_str(&format!("{name}: {:?}\n", output.status.code()));
        }
        // A handled rejection is not an error.
        std::fs::write(
            sandbox.work().join("handled.js"),
            "import * as net from 'wasi_net'\nnet.connect('127.0.0.1:1').catch((e) => print('caught'))\n",
        )
        .expect("write script");
        let output = script_command(runtime, &sandbox, &sandbox.work(), "handled.js", &[])
            .output()
            .expect("run");
        assert!(
            output.status.success(),
            "{runtime:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(stdout, "caught\n", "{runtime:?}");
        outcome.stdout.push_str(&stdout);
        outcome.exit = output.status.code();
        outcomes.push((runtime, outcome));
    }
    assert_same(test, &outcomes);
}

/// `process.exit(n)` ends the script at once with exit code `n` on every runtime; WASI's
/// `proc_exit` keeps the low 8 bits, as a process status does (256 is 0, as in Node.js).
#[test]
fn process_exit_sets_the_exit_code_on_every_runtime() {
    let test = "process_exit_sets_the_exit_code_on_every_runtime";
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.work().join("exit.js"),
        "print('before')\nprocess.exit(Number(scriptArgs[1]))\nprint('after')\n",
    )
    .expect("write script");
    let mut outcomes = Vec::new();
    for runtime in runtimes(test) {
        let _build = build_lock();
        let mut outcome = Outcome::default();
        for (code, expected) in [("0", 0), ("3", 3), ("255", 255), ("256", 0)] {
            let output = script_command(runtime, &sandbox, &sandbox.work(), "exit.js", &[code])
                .output()
                .expect("run exit.js");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert_eq!(
                output.status.code(),
                Some(expected),
                "{runtime:?}: process.exit({code}): {}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(stdout, "before\n", "{runtime:?}: process.exit({code})");
            outcome.stdout.push_str(&stdout);
            outcome
                .client
                .push_str(&format!("{code}: {:?}\n", output.status.code()));
        }
        outcomes.push((runtime, outcome));
    }
    assert_same(test, &outcomes);
}

#[test]
fn missing_script_is_a_clear_error() {
    let sandbox = Sandbox::new();
    let output = js_command(&sandbox, &sandbox.work(), "nope.js", &[], &[])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the script `nope.js` does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains("help: "), "{stderr}");
}

#[test]
fn js_http_serves_1000_connections_at_once() {
    let sandbox = Sandbox::new();
    let port = free_port();
    // The js-http template's script, run as a file by the runtime module.
    let script = new_js_project(&sandbox, "web", "js-http").join("src/main.js");
    let app = start(
        js_command(
            &sandbox,
            script.parent().unwrap(),
            "main.js",
            &["--port", &port.to_string()],
            &[],
        ),
        port,
    );
    // 1,000 connections open at once, each with a request in flight, answered in any order.
    let mut streams: Vec<TcpStream> = (0..1000).map(|_| connect(port, IO_TIMEOUT)).collect();
    for (i, stream) in streams.iter_mut().enumerate() {
        let body = format!("{{\"n\":{i}}}");
        write!(
            stream,
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
    }
    for (i, stream) in streams.iter_mut().enumerate() {
        let mut reply = Vec::new();
        let mut chunk = [0u8; 1024];
        while !response_complete(&reply) {
            let n = stream
                .read(&mut chunk)
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
            assert!(n > 0, "connection {i} closed early");
            reply.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(
            String::from_utf8_lossy(body_of(&reply)),
            format!("{{\"received\":{{\"n\":{i}}}}}")
        );
    }
    // Keep-alive: the same connections serve a second round.
    for stream in streams.iter_mut().take(10) {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        let mut reply = Vec::new();
        let mut chunk = [0u8; 1024];
        while !response_complete(&reply) {
            let n = stream.read(&mut chunk).expect("read");
            assert!(n > 0);
            reply.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(body_of(&reply), b"hello from web\n");
    }
    drop(app);
}

/// After a build of the runtime, the cache keeps only the module of this key and of keys in
/// use: an older key's folder goes; a folder another process holds locked, a file or folder
/// not named like a key, and what a link named like a key points to all stay.
///
/// To reuse the one build of the test run, this works in the shared cache and makes the
/// build happen by removing the current module: with the sources unchanged, cargo has
/// nothing to recompile and only the clean-up runs for real.
#[test]
fn a_runtime_build_removes_older_keys_from_the_cache() {
    use std::os::fd::AsRawFd;

    let sandbox = Sandbox::new();
    std::fs::write(sandbox.work().join("hi.js"), "print('hi')\n").expect("write script");
    let _build = build_lock();
    let run = || {
        let output = js_command(&sandbox, &sandbox.work(), "hi.js", &["-v"], &[])
            .output()
            .expect("run hi.js");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "hi\n");
        stderr
    };
    // Builds the module if no test did yet; -v names it.
    let first = run();
    let module = module_path_in(&first).unwrap_or_else(|| panic!("no module path in: {first}"));
    let root = module
        .parent()
        .and_then(Path::parent)
        .expect("module in <root>/<key>/")
        .to_path_buf();
    assert_eq!(root, shared_cache().join("cargo-wasock/js-runtime"));

    let old = root.join("0.0.1-0123456789abcdef");
    std::fs::create_dir_all(old.join("src/js-runtime")).expect("old key folder");
    std::fs::write(old.join("wasock-js.wasm"), b"old module").expect("old module");
    std::fs::write(old.join("src/js-runtime/Cargo.toml"), b"old").expect("old source");
    let busy = root.join("0.0.2-fedcba9876543210");
    std::fs::create_dir_all(&busy).expect("busy key folder");
    let busy_lock = std::fs::File::create(busy.join(".lock")).expect("busy lock");
    // SAFETY: flock(2) on a descriptor this test owns, released when it drops.
    assert_eq!(
        unsafe { libc::flock(busy_lock.as_raw_fd(), libc::LOCK_SH) },
        0
    );
    let note = root.join("notes.txt");
    std::fs::write(&note, b"not a key").expect("non-key file");
    let outside = sandbox.work().join("outside");
    std::fs::create_dir_all(&outside).expect("outside folder");
    std::fs::write(outside.join("precious"), b"keep").expect("outside file");
    let link = root.join("0.0.3-00000000000000aa");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&outside, &link).expect("link named like a key");

    std::fs::remove_file(&module).expect("remove the current module");
    let second = run();
    assert!(
        second.contains("Built the JavaScript runtime"),
        "no build: {second}"
    );
    // Unchanged sources are not rewritten, so cargo recompiles nothing.
    assert!(!second.contains("Compiling wasock"), "{second}");
    assert!(module.is_file(), "the current module is back");
    assert!(!old.exists(), "the older key's folder is gone: {second}");
    assert!(
        second.contains(&format!(
            "removed the JavaScript runtime of an older key: `{}`",
            old.display()
        )),
        "{second}"
    );
    assert!(busy.is_dir(), "a folder in use stays: {second}");
    assert!(
        second.contains(&format!("kept `{}`", busy.display())),
        "{second}"
    );
    assert!(note.is_file(), "a non-key file stays");
    assert!(link.exists(), "the link stays");
    assert_eq!(
        std::fs::read(outside.join("precious")).expect("outside file"),
        b"keep"
    );
    drop(busy_lock);
    let _ = std::fs::remove_dir_all(&busy);
    let _ = std::fs::remove_file(&note);
    let _ = std::fs::remove_file(&link);
}

#[test]
fn doctor_checks_the_js_toolchain_and_prints_the_apt_fix() {
    let sandbox = Sandbox::new();
    // Found: CI and install.sh install the packages.
    let output = sandbox.cmd().arg("doctor").output().expect("run doctor");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("✓ JS toolchain     "), "{stdout}");
    assert!(
        stdout.contains("wasi-libc (/usr/include/wasm32-wasi)"),
        "{stdout}"
    );

    // Missing: a PATH with no clang, where apt-get exists.
    let apt = sandbox.bin().join("apt-get");
    std::fs::write(&apt, "#!/bin/sh\nexit 0\n").expect("write apt-get");
    crate::support::make_executable(&apt);
    let output = sandbox
        .cmd()
        .env("PATH", sandbox.bin())
        .arg("doctor")
        .output()
        .expect("run doctor");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("! JS toolchain     building the JavaScript runtime needs a C toolchain for wasm; missing: clang (clang-19), llvm-ar (llvm-19) (optional)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "fix: sudo apt-get update && sudo apt-get install -y clang-19 lld-19 llvm-19 wasi-libc"
        ),
        "{stdout}"
    );
}

/// `cargo wasock new NAME --template TEMPLATE` in the sandbox; the project's path.
pub(crate) fn new_js_project(sandbox: &Sandbox, name: &str, template: &str) -> PathBuf {
    let output = sandbox
        .cmd()
        .args(["new", name, "--template", template])
        .output()
        .expect("run new");
    assert!(
        output.status.success(),
        "new --template {template}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let project = sandbox.work().join(name);
    for file in [
        "src/main.rs",
        "src/main.js",
        ".cargo/config.toml",
        "vendor/wasock-js-0.1.0/src/lib.rs",
    ] {
        assert!(project.join(file).is_file(), "{template}: {file} missing");
    }
    project
}

/// `cargo wasock run --release --runtime embedded --aot` in `project`, sharing the tests'
/// target directory.
pub(crate) fn template_run(sandbox: &Sandbox, project: &Path, extra: &[&str]) -> Command {
    let mut command = sandbox.std_cmd();
    command
        .current_dir(project)
        .args([
            "run",
            "--release",
            "--runtime",
            "embedded",
            "--aot",
            "--target-dir",
        ])
        .arg(crate::support::shared_target_dir())
        .args(extra);
    command
}

pub(crate) fn assert_no_warnings(template: &str, stderr: &str) {
    assert!(
        !stderr.contains("warning"),
        "build of {template} has warnings:\n{stderr}"
    );
}

#[test]
fn js_templates_build_without_warnings_and_run_on_the_engine() {
    let sandbox = Sandbox::new();

    // The two HTTP templates (a fetch handler, Node's http) answer the same JSON echo.
    for (name, template) in [("web", "js-http"), ("nodeapp", "js-node")] {
        let project = new_js_project(&sandbox, name, template);
        let port = free_port();
        let app = start(
            template_run(&sandbox, &project, &["--port", &port.to_string()]),
            port,
        );
        let reply = exchange(
            port,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n{\"n\":42}",
            response_complete,
        );
        assert_eq!(body_of(&reply), b"{\"received\":{\"n\":42}}", "{template}");
        assert_no_warnings(template, &app.stderr());
        drop(app);
    }

    let project = new_js_project(&sandbox, "echo", "js-echo");
    let port = free_port();
    let app = start(
        template_run(&sandbox, &project, &["--port", &port.to_string()]),
        port,
    );
    let mut stream = connect(port, IO_TIMEOUT);
    stream.write_all(b"hello").expect("send");
    let mut reply = [0u8; 64];
    let n = stream.read(&mut reply).expect("echo");
    assert_eq!(&reply[..n], b"echo:hello");
    assert_no_warnings("js-echo", &app.stderr());
    drop(app);

    let project = new_js_project(&sandbox, "fetcher", "js-client");
    const BODY: &str = "from the test";
    let (port, server) = response_server(2, BODY);
    let _build = build_lock();
    let output = template_run(
        &sandbox,
        &project,
        &["--env", &format!("URL=http://127.0.0.2:{port}/x")],
    )
    .output()
    .expect("run the client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_no_warnings("js-client", &stderr);
    assert_eq!(
        stdout,
        format!(
            "fetch: 200 OK\n{BODY}\nwasi_net: 200 OK, {} bytes\n",
            BODY.len()
        )
    );
    let seen = server.join().expect("server thread");
    assert!(
        seen.iter()
            .all(|request| request.starts_with("GET /x HTTP/1.1\r\n")),
        "{seen:?}"
    );
}

#[test]
fn run_js_on_wasmedge_maps_the_scripts_directory_as_dot_and_passes_the_script_first() {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let scripts = sandbox.work().join("scripts");
    std::fs::create_dir_all(&scripts).expect("create scripts dir");
    std::fs::write(scripts.join("app.js"), "print('hi')\n").expect("write script");
    let _build = build_lock();
    let output = sandbox
        .std_cmd()
        .env("XDG_CACHE_HOME", shared_cache())
        .args([
            "run",
            "--runtime",
            "wasmedge",
            "--js",
            "scripts/app.js",
            "--env",
            "K=V",
            "--",
            "a1",
            "a2",
        ])
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run = fake.work_invocations().pop().expect("wasmedge ran");
    // wasmedge [--dir GUEST:HOST]... [--env K=V]... MODULE ARGS...: the docs' command.
    assert_eq!(
        run[..4],
        [
            "--dir".to_string(),
            format!(".:{}", scripts.display()),
            "--env".into(),
            "K=V".into()
        ],
        "{run:?}"
    );
    assert!(
        run[4].ends_with("/wasock-js.wasm")
            && run[4].starts_with(&shared_cache().display().to_string()),
        "{run:?}"
    );
    assert_eq!(run[5..], ["app.js", "a1", "a2"], "{run:?}");
}

/// The CLI builds the runtime with `--locked`: its lockfile must cover `runtime-lib`'s
/// current dependencies, or every first `run --js` fails.
#[test]
fn the_js_runtime_lockfile_is_current() {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--locked",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(repo_root().join("js-runtime/Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "js-runtime/Cargo.lock is stale; help: run `cargo update --workspace --manifest-path js-runtime/Cargo.toml` and commit it\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
