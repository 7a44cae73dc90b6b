//! End to end on the embedded engine: real projects from every template, built by real
//! cargo, run with `--runtime embedded`, and driven over loopback with curl, an HTTP
//! client crate and raw sockets (keep-alive, pipelining, 1,000 connections at once).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{
    build_lock, connect, free_port, ignore_in_child, ignore_sigint_in_child, json_messages,
    listening_address, minimal_project, new_project_in, run_test_guest, send_and_read_back,
    shared_target_dir, stderr_of, with_reason, RunningApp, Sandbox,
};

/// Building a template app and compiling it with a debug-built engine can take minutes on
/// a loaded machine; everything else is quick.
const START_TIMEOUT: Duration = Duration::from_secs(300);
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// `cargo wasock new NAME --template TEMPLATE` in the sandbox; the project's path.
fn new_project(sandbox: &Sandbox, name: &str, template: &str) -> PathBuf {
    new_project_in(sandbox, &sandbox.work(), name, template)
}

/// `cargo wasock run --release --runtime embedded` in `project` with `extra` arguments.
fn run_command(sandbox: &Sandbox, project: &Path, extra: &[&str]) -> Command {
    let mut command = sandbox.std_cmd();
    command
        .current_dir(project)
        .args(["run", "--release", "--runtime", "embedded", "--target-dir"])
        .arg(shared_target_dir())
        .args(extra);
    command
}

/// Start a server template app on the engine and wait until it listens.
fn start_server(sandbox: &Sandbox, project: &Path, port: u16) -> RunningApp {
    start_server_with(sandbox, project, port, |_| {})
}

fn start_server_with(
    sandbox: &Sandbox,
    project: &Path,
    port: u16,
    adjust: impl FnOnce(&mut Command),
) -> RunningApp {
    let _build = build_lock();
    let mut command = run_command(sandbox, project, &["--port", &port.to_string()]);
    adjust(&mut command);
    let mut app = RunningApp::spawn(command);
    app.wait_for_port(port, START_TIMEOUT);
    app
}

fn post(path: &str, body: &str, close: bool) -> String {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n{connection}\r\n{body}",
        body.len()
    )
}

/// Read from `stream` until everything read so far contains each of `needles` in order.
fn read_until_all(stream: &mut TcpStream, needles: &[String]) -> String {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut seen = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        // Header names are case-insensitive; bodies here are lowercase anyway.
        let text = String::from_utf8_lossy(&seen).to_lowercase();
        let mut from = 0;
        let all_found =
            needles.iter().all(
                |needle| match text[from..].find(needle.to_lowercase().as_str()) {
                    Some(at) => {
                        from += at + needle.len();
                        true
                    }
                    None => false,
                },
            );
        if all_found {
            return text;
        }
        assert!(Instant::now() < deadline, "timed out; got so far:\n{text}");
        match stream.read(&mut chunk) {
            Ok(0) => panic!("connection closed early; got:\n{text}"),
            Ok(read) => seen.extend_from_slice(&chunk[..read]),
            Err(err) => panic!("read failed ({err}); got:\n{text}"),
        }
    }
}

fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "30"])
        .args(args)
        .output()
        .expect("run curl");
    assert!(
        output.status.success(),
        "curl {args:?} failed: {}",
        stderr_of(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_echo_contract(port: u16) {
    let url = format!("http://127.0.0.1:{port}/");
    assert_eq!(
        curl(&["-d", "name=WasmEdge", &url]).trim(),
        "echo: name=WasmEdge"
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(IO_TIMEOUT))
        .build()
        .into();
    let mut response = agent.post(&url).send("from=ureq").expect("ureq POST");
    assert_eq!(response.status(), 200);
    let body = response.body_mut().read_to_string().expect("body");
    assert_eq!(body.trim(), "echo: from=ureq");
    // Two requests through one agent reuse the pooled keep-alive connection.
    let mut again = agent.post(&url).send("again=1").expect("ureq POST again");
    let body = again.body_mut().read_to_string().expect("body");
    assert_eq!(body.trim(), "echo: again=1");
}

fn stop_with_ctrl_c(mut app: RunningApp, port: u16) {
    app.interrupt();
    let code = app.wait_exit(Duration::from_secs(20));
    assert_ne!(
        code,
        Some(0),
        "an interrupted run should not report success:\n{}",
        app.stderr()
    );
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_err(),
        "port {port} still open after Ctrl-C"
    );
}

#[test]
fn poll_app_on_the_engine_keeps_alive_pipelines_and_holds_a_thousand_connections() {
    let sandbox = Sandbox::new();
    let project = new_project(&sandbox, "pollapp", "poll");
    let port = free_port();
    let app = start_server(&sandbox, &project, port);
    // The app's own line: a wildcard bind is announced as a URL one can open. The port
    // opens a moment before the app prints it, so give the line a moment to arrive.
    let wanted = format!("listening on http://127.0.0.1:{port}/");
    let announced = || app.stdout().lines().any(|line| line == wanted);
    let deadline = Instant::now() + IO_TIMEOUT;
    while !announced() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(announced(), "no `listening on` line:\n{}", app.stdout());
    assert!(
        app.stderr().contains("on the embedded engine"),
        "{}",
        app.stderr()
    );

    assert_echo_contract(port);

    // Keep-alive: three requests, one connection, each answered before the next is sent.
    let mut stream = connect(port, IO_TIMEOUT);
    for round in 0..3 {
        stream
            .write_all(post("/", &format!("round={round}"), false).as_bytes())
            .expect("write");
        read_until_all(&mut stream, &[format!("echo: round={round}")]);
    }

    // Pipelining: 50 requests in one write, answered in order.
    let mut stream = connect(port, IO_TIMEOUT);
    let batch: String = (0..50)
        .map(|i| post("/", &format!("seq={i}"), false))
        .collect();
    stream
        .write_all(batch.as_bytes())
        .expect("write pipelined batch");
    let expected: Vec<String> = (0..50)
        .map(|i| {
            format!(
                "content-length: {}\r\n\r\necho: seq={i}",
                10 + i.to_string().len()
            )
        })
        .collect();
    let text = read_until_all(&mut stream, &expected);
    assert_eq!(text.matches("http/1.1 200").count(), 50, "{text}");

    // 1,000 connections open at once, each with a request in flight.
    let mut streams: Vec<TcpStream> = (0..1000).map(|_| connect(port, IO_TIMEOUT)).collect();
    for (i, stream) in streams.iter_mut().enumerate() {
        stream
            .write_all(post("/", &format!("conn={i}"), false).as_bytes())
            .expect("write on connection");
    }
    for (i, stream) in streams.iter_mut().enumerate() {
        read_until_all(stream, &[format!("echo: conn={i}")]);
    }
    drop(streams);
    assert_echo_contract(port);

    stop_with_ctrl_c(app, port);
}

#[test]
fn server_and_client_templates_talk_to_each_other_on_the_engine() {
    let sandbox = Sandbox::new();
    let server = new_project(&sandbox, "echoserver", "server");
    let client = new_project(&sandbox, "echoclient", "client");
    let port = free_port();
    // Started as a script's background job would be, so that the Ctrl-C at the end also
    // shows `run` overriding an inherited SIGINT "ignore".
    let app = start_server_with(&sandbox, &server, port, ignore_sigint_in_child);
    assert_echo_contract(port);

    let url = format!("http://127.0.0.1:{port}/");
    let output = {
        let _build = build_lock();
        run_command(&sandbox, &client, &["--", &url, "--data", "name=WasmEdge"])
            .output()
            .expect("run the client")
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "client failed:\n{stdout}\n{}",
        stderr_of(&output)
    );
    assert!(stdout.contains("status: 200"), "{stdout}");
    assert!(stdout.contains("echo: name=WasmEdge"), "{stdout}");

    stop_with_ctrl_c(app, port);
}

#[test]
fn exit_codes_and_traps_pass_through_the_engine() {
    let sandbox = Sandbox::new();
    let exits = minimal_project(
        &sandbox.work(),
        "exits",
        "fn main() { std::process::exit(std::env::var(\"CODE\").unwrap().parse().unwrap()); }\n",
        "",
    );
    let traps = minimal_project(
        &sandbox.work(),
        "traps",
        "fn main() { deliberately_failing_function(); }\n#[inline(never)]\nfn deliberately_failing_function() { panic!(\"boom\"); }\n",
        "",
    );
    let _build = build_lock();
    // 126 and above too: WasmEdge exits with them, and so must the engine.
    for code in [42, 126, 255] {
        let exited = run_command(&sandbox, &exits, &["--env", &format!("CODE={code}")])
            .output()
            .expect("run exits");
        assert_eq!(exited.status.code(), Some(code), "{}", stderr_of(&exited));
    }

    let trapped = run_command(&sandbox, &traps, &[])
        .output()
        .expect("run traps");
    let stderr = stderr_of(&trapped);
    // WasmEdge 0.17.1 exits with 134 (`128 + SIGABRT`) after any trap, and so must the engine.
    assert_eq!(
        trapped.status.code(),
        Some(134),
        "a trap must fail the run with WasmEdge's code:\n{stderr}"
    );
    assert!(
        stderr.contains("wasm backtrace"),
        "no wasm backtrace:\n{stderr}"
    );
    assert!(
        stderr.contains("deliberately_failing_function"),
        "backtrace does not name the function:\n{stderr}"
    );

    // Issue 24: with RUST_BACKTRACE=1 (common among Rust developers) the crash report is the
    // guest's, not the CLI's own stack; that is shown only under -v, for a bug report.
    let with_backtrace = run_command(&sandbox, &traps, &[])
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run traps");
    let report = stderr_of(&with_backtrace);
    assert_eq!(with_backtrace.status.code(), Some(134), "{report}");
    assert!(report.contains("deliberately_failing_function"), "{report}");
    assert!(
        !report.contains("Stack backtrace") && !report.contains("wasock_engine::"),
        "the host's backtrace reached the user:\n{report}"
    );
    let from_trap = |text: &str| text[text.find("trapped:").expect("a trap line")..].to_owned();
    assert_eq!(
        from_trap(&report),
        from_trap(&stderr),
        "RUST_BACKTRACE=1 changed the report"
    );
    let verbose = run_command(&sandbox, &traps, &["-v"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run traps");
    let verbose_report = stderr_of(&verbose);
    assert!(
        verbose_report.contains("the engine's stack when the guest trapped")
            && verbose_report.contains("wasock_engine::"),
        "-v must show the host's stack for a bug report:\n{verbose_report}"
    );
}

/// Compiled code is reused without asking: the first `run` compiles and caches, the
/// next starts from the user's cache, `build --aot` finds the same entry, and
/// `cache clean` empties it. Nothing goes beside the module or into the target dir.
#[test]
fn compiled_code_is_cached_in_the_users_cache_and_reused_by_run() {
    let sandbox = Sandbox::new();
    let project = minimal_project(
        &sandbox.work(),
        "cachedapp",
        "fn main() { println!(\"cached says hi\"); std::process::exit(3); }\n",
        "",
    );
    let _build = build_lock();
    let run = |sandbox: &Sandbox| {
        let ran = run_command(sandbox, &project, &[]).output().expect("run");
        let stderr = stderr_of(&ran);
        assert_eq!(ran.status.code(), Some(3), "{stderr}");
        assert!(String::from_utf8_lossy(&ran.stdout).contains("cached says hi"));
        stderr
    };
    let first = run(&sandbox);
    assert!(
        first.contains("(compiled, and cached for the next start)"),
        "{first}"
    );
    let entries = sandbox.cached("engine", ".cwasm");
    assert_eq!(entries.len(), 1, "{entries:?}\n{first}");
    let second = run(&sandbox);
    assert!(
        second.contains("(compiled code from the cache)"),
        "{second}"
    );

    let built = sandbox
        .cmd()
        .current_dir(&project)
        .args(["build", "--release", "--aot", "--target-dir"])
        .arg(shared_target_dir())
        .output()
        .expect("run build --aot");
    let stderr = stderr_of(&built);
    assert!(built.status.success(), "{stderr}");
    assert!(
        stderr.contains("precompiled, unchanged"),
        "`--aot` did not find run's entry:\n{stderr}"
    );
    assert_eq!(sandbox.cached("engine", ".cwasm"), entries);
    let module = PathBuf::from(String::from_utf8_lossy(&built.stdout).trim());
    let beside: Vec<_> = std::fs::read_dir(module.parent().expect("module dir"))
        .expect("list the target dir")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.starts_with("cachedapp") && name != "cachedapp.wasm" && name != "cachedapp.d"
        })
        .collect();
    assert!(beside.is_empty(), "written beside the module: {beside:?}");
    assert!(!shared_target_dir().join("wasock").exists());

    let cleaned = sandbox
        .cmd()
        .args(["cache", "clean"])
        .output()
        .expect("cache clean");
    assert!(cleaned.status.success(), "{}", stderr_of(&cleaned));
    assert!(
        stderr_of(&cleaned).contains("Removed 1 compiled modules"),
        "{}",
        stderr_of(&cleaned)
    );
    assert!(sandbox.cached("engine", ".cwasm").is_empty());
    let third = run(&sandbox);
    assert!(
        third.contains("(compiled, and cached for the next start)"),
        "{third}"
    );
}

/// `run --wasm DIR/app.wasm --aot` leaves DIR as it was: the precompiled code goes into
/// the user's cache.
#[test]
fn a_prebuilt_module_is_precompiled_into_the_cache_not_beside_it() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "prebuiltapp", "fn main() {}\n", "");
    let module = {
        let _build = build_lock();
        let built = sandbox
            .cmd()
            .current_dir(&project)
            .args(["build", "--release", "--target-dir"])
            .arg(shared_target_dir())
            .output()
            .expect("build");
        assert!(built.status.success(), "{}", stderr_of(&built));
        PathBuf::from(String::from_utf8_lossy(&built.stdout).trim())
    };
    let users_dir = sandbox.work().join("shipped");
    std::fs::create_dir_all(&users_dir).unwrap();
    let copy = users_dir.join("app.wasm");
    std::fs::copy(&module, &copy).unwrap();
    let ran = sandbox
        .cmd()
        .args(["run", "--runtime", "embedded", "--aot", "--wasm"])
        .arg(&copy)
        .output()
        .expect("run --wasm --aot");
    assert!(ran.status.success(), "{}", stderr_of(&ran));
    let names: Vec<_> = std::fs::read_dir(&users_dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name())
        .collect();
    assert_eq!(names, ["app.wasm"], "written beside the user's module");
    assert_eq!(sandbox.cached("engine", ".cwasm").len(), 1);
    assert!(
        stderr_of(&ran).contains("(compiled code from the cache)"),
        "{}",
        stderr_of(&ran)
    );
}

#[test]
fn env_dirs_and_args_reach_the_app_on_the_engine() {
    let sandbox = Sandbox::new();
    let main_rs = r#"fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args={}", args.join(","));
    println!("GREETING={}", std::env::var("GREETING").unwrap_or_default());
    println!("HOME_SET={}", std::env::var("HOME").is_ok());
    println!("file={}", std::fs::read_to_string("/data/input.txt").unwrap_or_else(|e| e.to_string()).trim());
    println!("write_denied={}", std::fs::write("/data/out.txt", "x").is_err());
}
"#;
    let project = minimal_project(&sandbox.work(), "envapp", main_rs, "");
    let data = sandbox.work().join("data");
    std::fs::create_dir_all(&data).expect("create data dir");
    std::fs::write(data.join("input.txt"), "from the host\n").expect("write input");
    let dir_arg = format!("/data:{}:readonly", data.display());
    let _build = build_lock();
    let output = run_command(
        &sandbox,
        &project,
        &[
            "--env",
            "GREETING=hi there",
            "--dir",
            &dir_arg,
            "--",
            "one",
            "two words",
        ],
    )
    .output()
    .expect("run envapp");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        stderr_of(&output)
    );
    assert!(stdout.contains("args=one,two words"), "{stdout}");
    assert!(stdout.contains("GREETING=hi there"), "{stdout}");
    // Like WasmEdge, the host environment is not inherited.
    assert!(stdout.contains("HOME_SET=false"), "{stdout}");
    assert!(stdout.contains("file=from the host"), "{stdout}");
    assert!(stdout.contains("write_denied=true"), "{stdout}");
    assert!(
        !data.join("out.txt").exists(),
        "the read-only mapping was written"
    );
}

/// `run --release --runtime embedded` of `tests/guests/reverse-once`, a socket app not made
/// by our templates (built once into the shared target directory), with `extra` arguments.
fn run_reverse_once(sandbox: &Sandbox, extra: &[&str]) -> Command {
    // Before `extra`, which may end with `-- ARGS`.
    let args: Vec<&str> = ["--runtime", "embedded"]
        .iter()
        .chain(extra)
        .copied()
        .collect();
    run_test_guest(sandbox.std_cmd(), "reverse-once", &args)
}

/// Issue 7's minimal input on the engine: a guest that binds 127.0.0.1:$PORT, accepts
/// once, reads to EOF and writes the bytes back reversed. `run` must not connect to it.
#[test]
fn an_app_that_accepts_once_serves_the_users_client_on_the_engine() {
    let sandbox = Sandbox::new();
    let port = free_port();
    let mut app = {
        let _build = build_lock();
        let mut app = RunningApp::spawn(run_reverse_once(&sandbox, &["--port", &port.to_string()]));
        app.wait_for_stdout("bound", START_TIMEOUT);
        app
    };
    // A user connects a moment after the app is up: time enough for any probe to get there first.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        send_and_read_back(&format!("127.0.0.1:{port}"), "hello"),
        "olleh"
    );
    let code = app.wait_exit(IO_TIMEOUT);
    let stderr = app.stderr();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        !stderr.contains("Listening") && !stderr.contains("warning"),
        "nothing to add when the app listens on --port:\n{stderr}"
    );
}

/// `--message-format json` on the engine: the runtime chosen, the artifact, the address the
/// guest listens on and its exit code as messages on stdout, the app's own stdout lines
/// between them unchanged, and stderr as without it.
#[test]
fn run_messages_as_json_on_the_engine() {
    let sandbox = Sandbox::new();
    let port = free_port();
    let mut app = {
        let _build = build_lock();
        let mut app = RunningApp::spawn(run_reverse_once(
            &sandbox,
            &["--message-format", "json", "--port", &port.to_string()],
        ));
        app.wait_for_stdout("\"reason\":\"listening\"", START_TIMEOUT);
        app
    };
    assert_eq!(
        send_and_read_back(&format!("127.0.0.1:{port}"), "hello"),
        "olleh"
    );
    let code = app.wait_exit(IO_TIMEOUT);
    let (stdout, stderr) = (app.stdout(), app.stderr());
    assert_eq!(code, Some(0), "{stderr}");
    let messages = json_messages(&stdout);
    let reasons: Vec<&str> = messages
        .iter()
        .map(|message| message["reason"].as_str().unwrap())
        .filter(|reason| {
            ![
                "compiler-artifact",
                "build-script-executed",
                "build-finished",
            ]
            .contains(reason)
        })
        .collect();
    assert_eq!(
        reasons,
        ["runtime", "artifact", "listening", "exit"],
        "{stdout}"
    );
    let runtime = with_reason(&messages, "runtime")[0];
    assert_eq!(runtime["name"], "embedded");
    assert_eq!(runtime["why"], "requested");
    assert!(runtime["version"]
        .as_str()
        .unwrap()
        .starts_with("wasmtime "));
    let listening = with_reason(&messages, "listening")[0];
    assert_eq!(listening["addr"], format!("127.0.0.1:{port}"));
    assert_eq!(listening["url"], format!("http://127.0.0.1:{port}/"));
    assert_eq!(with_reason(&messages, "exit")[0]["code"], 0);
    // The app's own line passes through as it printed it.
    assert!(
        stdout.lines().any(|line| line.starts_with("bound")),
        "{stdout}"
    );
    assert!(
        !stderr.contains("Listening") && !stderr.contains("{\"reason\""),
        "stderr is as without --message-format:\n{stderr}"
    );
}

/// Started as `nohup` starts it (SIGHUP ignored), with `--port 0` on 127.0.0.2 and `-v`:
/// run prints the URL the guest's `sock_listen` bound and what the engine was given; a
/// SIGHUP leaves the app serving; SIGTERM still stops it.
#[test]
fn port_0_verbose_and_an_ignored_sighup_on_the_engine() {
    let sandbox = Sandbox::new();
    let mut command = run_reverse_once(
        &sandbox,
        &[
            "-v",
            "--port",
            "0",
            "--env",
            "HOST=127.0.0.2",
            "--env",
            "COUNT=2",
            "--",
            "extra",
        ],
    );
    ignore_in_child(&mut command, libc::SIGHUP);
    let mut app = {
        let _build = build_lock();
        let mut app = RunningApp::spawn(command);
        app.wait_for_stderr("Listening", START_TIMEOUT);
        app
    };
    let stderr = app.stderr();
    let address = listening_address(&stderr).expect("a Listening line");
    assert!(
        address.starts_with("127.0.0.2:") && !address.ends_with(":0"),
        "{stderr}"
    );
    for shown in [
        "engine args: [\"reverse-once.wasm\", \"extra\"]",
        "engine env: [\"HOST=127.0.0.2\", \"COUNT=2\", \"PORT=0\"]",
        "engine dirs: []",
    ] {
        assert!(stderr.contains(shown), "no {shown:?} in:\n{stderr}");
    }

    app.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    assert!(app.is_running(), "SIGHUP ended run:\n{}", app.stderr());
    assert_eq!(send_and_read_back(&address, "hello"), "olleh");
    app.signal(libc::SIGTERM);
    let code = app.wait_exit(IO_TIMEOUT);
    assert_eq!(
        code,
        Some(143),
        "SIGTERM ends run with 128 + 15, as for a WasmEdge child"
    );
}
