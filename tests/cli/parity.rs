//! The same module on the embedded engine and on the real WasmEdge 0.17.1, compared: exit
//! codes and output, what real clients see of the templates' servers and client, `run`'s
//! readiness for a WasmEdge child (observed in `/proc`) beside the engine's, and `build
//! --aot`'s WasmEdge output run with `--run-mode=aot`. WasmEdge is found through
//! `$WASMEDGE_DIR`, else `../shared/wasmedge` beside the repository; where it is absent the
//! WasmEdge half is skipped with a note (`support::runtimes`).
//!
//! Each module is built once per test run, in release as a user serves an app, and the same
//! file runs on each runtime. Servers listen on their own ports, and the programs that must
//! tell addresses apart use 127.0.0.2 and 127.0.0.3.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::*;

/// Building, or a debug-built engine compiling a module, can take minutes on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(300);
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// `build --release` of a minimal project (in a sandbox of its own) into the shared target
/// directory; the module's path.
fn build_release(project: &Path) -> PathBuf {
    let sandbox = Sandbox::new();
    let _build = build_lock();
    let built = sandbox
        .cmd()
        .current_dir(project)
        .args(["build", "--release", "--target-dir"])
        .arg(shared_target_dir())
        .output()
        .expect("run build");
    assert!(built.status.success(), "{}", stderr_of(&built));
    PathBuf::from(stdout_of(&built).trim())
}

/// A project below the test target directory, written once per test process (a fixed path:
/// cargo's fingerprint of a path package leaves its directory out, so one name, one place).
fn fixed_project(name: &str, main_rs: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parity");
    let project = dir.join(name);
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"
    );
    std::fs::create_dir_all(project.join("src")).expect("create the project");
    // Rewritten only when different, so an unchanged project stays fresh for cargo.
    for (path, text) in [("Cargo.toml", manifest.as_str()), ("src/main.rs", main_rs)] {
        let path = project.join(path);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            std::fs::write(&path, text).expect("write the project");
        }
    }
    project
}

/// Prints what it was given and what it can reach, to stdout and stderr, then exits with
/// `$CODE`; with `$WRITE` set it also tries to write into `/data`. Errors are printed as
/// their kind (and errno, for the write): what WASI gave is part of the output compared.
const EXITS_MAIN: &str = r#"use std::io::Write as _;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args={args:?}");
    println!("GREETING={:?}", std::env::var("GREETING"));
    println!("HOME={:?}", std::env::var("HOME"));
    println!("vars={}", std::env::vars().count());
    println!("read={:?}", std::fs::read_to_string("/data/input.txt"));
    println!("missing={:?}", std::fs::read_to_string("/data/missing.txt").map_err(|e| e.kind()));
    if std::env::var_os("WRITE").is_some() {
        let written = std::fs::write("/data/out.txt", "x");
        println!("write={:?}", written.map_err(|e| (e.kind(), e.raw_os_error())));
    }
    println!("outside={:?}", std::fs::read_to_string("/etc/hostname").map_err(|e| e.kind()));
    eprintln!("to stderr, then exit {}", std::env::var("CODE").unwrap_or_default());
    std::io::stdout().flush().expect("flush");
    std::process::exit(std::env::var("CODE").map_or(0, |code| code.parse().expect("a code")));
}
"#;

fn exits_module() -> &'static Path {
    static MODULE: OnceLock<PathBuf> = OnceLock::new();
    MODULE.get_or_init(|| build_release(&fixed_project("parity-exits", EXITS_MAIN)))
}

#[test]
fn exit_codes_output_args_env_and_dirs_are_the_same_on_both_runtimes() {
    const TEST: &str = "exit_codes_output_args_env_and_dirs_are_the_same_on_both_runtimes";
    let sandbox = Sandbox::new();
    let data = sandbox.work().join("data");
    std::fs::create_dir_all(&data).expect("create data");
    std::fs::write(data.join("input.txt"), "from the host\n").expect("write input");
    let dir = format!("/data:{}:readonly", data.display());
    for code in ["0", "3", "126", "255"] {
        let ran = sandbox.run_module_on_each(
            TEST,
            exits_module(),
            &[
                "--env",
                "GREETING=hi there",
                "--env",
                &format!("CODE={code}"),
                "--dir",
                &dir,
                "--",
                "one",
                "two words",
            ],
        );
        assert_eq!(ran.code, Some(code.parse().unwrap()), "{ran:?}");
        assert!(
            ran.stdout
                .contains("args=[\"one\", \"two words\"]\nGREETING=Ok(\"hi there\")\n"),
            "{ran:?}"
        );
        // Nothing of the host's environment is inherited.
        assert!(
            ran.stdout.contains("HOME=Err(NotPresent)\nvars=2\n"),
            "{ran:?}"
        );
        assert!(
            ran.stdout.contains("read=Ok(\"from the host\\n\")"),
            "{ran:?}"
        );
        assert_eq!(ran.stderr, format!("to stderr, then exit {code}\n"));
    }
}

/// A write into a `--dir …:readonly` mapping fails on both with the same errno: WasmEdge
/// 0.17.1's `NOTCAPABLE` (76), which the engine gives too (wasmtime-wasi's preview1 says
/// `PERM`, 63; `engine/src/host/readonly.rs`).
#[test]
fn a_write_into_a_read_only_dir_fails_with_the_same_errno_on_both_runtimes() {
    const TEST: &str = "a_write_into_a_read_only_dir_fails_with_the_same_errno_on_both_runtimes";
    let sandbox = Sandbox::new();
    let data = sandbox.work().join("data");
    std::fs::create_dir_all(&data).expect("create data");
    let dir = format!("/data:{}:readonly", data.display());
    let ran =
        sandbox.run_module_on_each(TEST, exits_module(), &["--env", "WRITE=1", "--dir", &dir]);
    assert!(ran.stdout.contains("write=Err(("), "{ran:?}");
    assert!(
        !data.join("out.txt").exists(),
        "the read-only dir was written"
    );
}

/// A release build's index out of bounds: Rust's panic message, then the trap.
const PANICS_MAIN: &str = r#"fn main() {
    let numbers = vec![1u8, 2, 3];
    let at = std::env::args().count() + 4;
    println!("before the panic");
    println!("{}", numbers[at]);
}
"#;

/// Known difference (issue 19): WasmEdge 0.17.1 exits 134 after the trap that ends a
/// panicking guest, the engine 1. WasmEdge also reports the trap on stdout (its log lines,
/// `[time] [error] execution failed: unreachable, …`), the engine on stderr (the wasm
/// backtrace): those lines are left out of what is compared.
#[test]
fn a_panicking_guest_exits_with_the_same_code_on_both_runtimes() {
    const TEST: &str = "a_panicking_guest_exits_with_the_same_code_on_both_runtimes";
    let module = build_release(&fixed_project("parity-panics", PANICS_MAIN));
    let sandbox = Sandbox::new();
    let seen = same_on_each(TEST, |runtime| {
        let ran = sandbox.run_module_on(runtime, &module, &[]);
        assert!(
            ran.stderr.contains("index out of bounds"),
            "{runtime}: {ran:?}"
        );
        let stdout: String = ran
            .stdout
            .lines()
            .filter(|line| !(line.starts_with('[') && line.contains("] [error] ")))
            .map(|line| format!("{line}\n"))
            .collect();
        (ran.code, stdout)
    });
    assert_eq!(seen.1, "before the panic\n");
}

/// `run --release --runtime R` of `tests/guests/reverse-once` (a socket app not made by our
/// templates: bind `$HOST:$PORT`, print `bound`, serve `$COUNT` connections, each read to
/// EOF and written back reversed), built once into the shared target directory.
fn run_reverse_once(sandbox: &Sandbox, runtime: Runtime, extra: &[&str]) -> std::process::Command {
    // Before `extra`, which may end with `-- ARGS`.
    let args: Vec<&str> = ["--runtime", runtime.flag()]
        .iter()
        .chain(extra)
        .copied()
        .collect();
    run_test_guest(sandbox.std_cmd_on(runtime), "reverse-once", &args)
}

/// `run`'s readiness for a real WasmEdge child, learned from `/proc` (the child's socket
/// inodes in its LISTEN entries), beside the engine's (`sock_listen`): with `--port 0` on
/// 127.0.0.2, `-v` and `--message-format json`, both say the address the OS picked, as a
/// `Listening` line and a `listening` message, without connecting (the app serves two
/// connections, and both are the test's). What clients and `run` see must be the same.
#[test]
fn run_observes_where_a_wasmedge_child_listens_as_on_the_engine() {
    const TEST: &str = "run_observes_where_a_wasmedge_child_listens_as_on_the_engine";
    let sandbox = Sandbox::new();
    let seen = same_on_each(TEST, |runtime| {
        let mut app = {
            let _build = build_lock();
            let mut app = RunningApp::spawn(run_reverse_once(
                &sandbox,
                runtime,
                &[
                    "-v",
                    "--message-format",
                    "json",
                    "--port",
                    "0",
                    "--env",
                    "HOST=127.0.0.2",
                    "--env",
                    "COUNT=2",
                ],
            ));
            app.wait_for_stderr("Listening", START_TIMEOUT);
            app
        };
        let stderr = app.stderr();
        let address = listening_address(&stderr).expect("a Listening line");
        assert!(
            address.starts_with("127.0.0.2:") && !address.ends_with(":0"),
            "{runtime}: {stderr}"
        );
        app.wait_for_stdout("\"reason\":\"listening\"", IO_TIMEOUT);
        let answers = [
            send_and_read_back(&address, "hello"),
            send_and_read_back(&address, "wasmedge"),
        ];
        let code = app.wait_exit(IO_TIMEOUT);
        let (stdout, stderr) = (app.stdout(), app.stderr());
        let messages = json_messages(&stdout);
        let reasons: Vec<String> = messages
            .iter()
            .map(|message| message["reason"].as_str().unwrap().to_owned())
            .filter(|reason| {
                ![
                    "compiler-artifact",
                    "build-script-executed",
                    "build-finished",
                ]
                .contains(&reason.as_str())
            })
            .collect();
        let listening = with_reason(&messages, "listening");
        assert_eq!(listening.len(), 1, "{runtime}: {stdout}");
        assert_eq!(listening[0]["addr"], address, "{runtime}: {stdout}");
        assert_eq!(
            listening[0]["url"],
            format!("http://{address}/"),
            "{runtime}: {stdout}"
        );
        let runtime_message = with_reason(&messages, "runtime")[0];
        let expected_name = match runtime {
            Runtime::Engine => "embedded",
            Runtime::WasmEdge => "wasmedge",
        };
        assert_eq!(runtime_message["name"], expected_name, "{stdout}");
        assert!(
            !stderr.contains("warning"),
            "{runtime}: nothing to warn about:\n{stderr}"
        );
        // The app's own lines, without run's messages.
        let app_lines: Vec<String> = stdout
            .lines()
            .filter(|line| !line.starts_with("{\"reason\":"))
            .map(str::to_owned)
            .collect();
        (
            code,
            answers,
            reasons,
            app_lines,
            with_reason(&messages, "exit")[0].clone(),
        )
    });
    assert_eq!(seen.0, Some(0));
    assert_eq!(seen.1, ["olleh", "egdemsaw"]);
    assert_eq!(seen.2, ["runtime", "artifact", "listening", "exit"]);
    assert_eq!(seen.3, ["bound"]);
}

/// The template apps, each built once per test run (release) and shared by the tests.
fn template(name: &'static str) -> &'static BuiltApp {
    static SERVER: OnceLock<BuiltApp> = OnceLock::new();
    static CLIENT: OnceLock<BuiltApp> = OnceLock::new();
    static POLL: OnceLock<BuiltApp> = OnceLock::new();
    let cell = match name {
        "server" => &SERVER,
        "client" => &CLIENT,
        "poll" => &POLL,
        other => panic!("no template app {other}"),
    };
    cell.get_or_init(|| build_template(&format!("parity-{name}"), name))
}

/// `run --runtime R --wasm MODULE --port PORT ARGS...`, waited for until the app's own
/// `listening on` line says it serves.
fn start_server(
    sandbox: &Sandbox,
    runtime: Runtime,
    module: &Path,
    port: u16,
    extra: &[&str],
) -> RunningApp {
    let mut command = sandbox.std_cmd_on(runtime);
    command
        .args(["run", "--runtime", runtime.flag(), "--wasm"])
        .arg(module)
        .args(["--port", &port.to_string()])
        .args(extra);
    let mut app = RunningApp::spawn(command);
    app.wait_for_stdout("listening on http://", START_TIMEOUT);
    app
}

/// Ctrl-C (SIGINT to `run` alone): whether `run` ended with the app and the port is closed
/// after it. How it ended differs (see `ctrl_c_ends_run_the_same_way_on_both_runtimes`).
fn stop_with_ctrl_c(mut app: RunningApp, port: u16) -> bool {
    app.signal(libc::SIGINT);
    app.wait_exit(Duration::from_secs(30));
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_err()
}

/// curl's view of a request: `-i` (status line and headers, then the body) and its exit code.
fn curl(args: &[&str]) -> (Option<i32>, String) {
    let output = std::process::Command::new("curl")
        .args(["--silent", "--show-error", "--include", "--max-time", "30"])
        .args(args)
        .output()
        .expect("run curl");
    (
        output.status.code(),
        format!("{}{}", stdout_of(&output), stderr_of(&output)),
    )
}

/// Everything a connection gets for the bytes of `request`, read until the server closes
/// it or `complete` says the answer is whole.
fn exchange(port: u16, request: &[u8], complete: impl Fn(&str) -> bool) -> String {
    let mut stream = connect(port, IO_TIMEOUT);
    stream.write_all(request).expect("send the request");
    let mut seen = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let deadline = Instant::now() + IO_TIMEOUT;
    while !complete(&String::from_utf8_lossy(&seen)) {
        assert!(Instant::now() < deadline, "timed out; got {seen:?}");
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => seen.extend_from_slice(&chunk[..read]),
            Err(error) => panic!("read failed ({error}); got {seen:?}"),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn post(body: &str, close: bool) -> String {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n{connection}\r\n{body}",
        body.len()
    )
}

/// `text` with `port` written as `PORT`, so answers from servers on different ports compare.
fn without_port(text: &str, port: u16) -> String {
    text.replace(&port.to_string(), "PORT")
}

/// The `server` template on each runtime, asked by curl, by a raw keep-alive connection with
/// a pipelined pair and a malformed request, and by the `client` template's module run on
/// the same runtime (its output, its error for a refused connection on 127.0.0.3, its usage
/// error); a second server given a port already taken (its error); then Ctrl-C. Everything
/// seen must be the same on both runtimes.
#[test]
fn server_and_client_templates_are_seen_the_same_on_both_runtimes() {
    const TEST: &str = "server_and_client_templates_are_seen_the_same_on_both_runtimes";
    let (server, client) = (template("server"), template("client"));
    let sandbox = Sandbox::new();
    let seen = same_on_each(TEST, |runtime| {
        let port = free_port();
        let app = start_server(&sandbox, runtime, &server.wasm, port, &[]);
        let url = format!("http://127.0.0.1:{port}/");
        let curled = curl(&["-d", "name=WasmEdge", &url]);
        let pipelined = exchange(
            port,
            format!("{}{}", post("first", false), post("second", true)).as_bytes(),
            |_| false,
        );
        let malformed = exchange(port, b"NOT HTTP AT ALL\r\n\r\n", |_| false);
        let fetched = sandbox.run_module_on(
            runtime,
            &client.wasm,
            &["--", &url, "--data", "from the client"],
        );
        let closed_port = free_port();
        let refused = sandbox.run_module_on(
            runtime,
            &client.wasm,
            &["--", &format!("http://127.0.0.3:{closed_port}/")],
        );
        let refused = Ran {
            stdout: without_port(&refused.stdout, closed_port),
            stderr: without_port(&refused.stderr, closed_port),
            ..refused
        };
        let usage = sandbox.run_module_on(runtime, &client.wasm, &["--", "--no-such-flag"]);
        // A port taken by someone else, passed verbatim through `PORT` (`run` checks only
        // `--port`): the app's own error.
        let taken = std::net::TcpListener::bind("0.0.0.0:0").expect("take a port");
        let taken_port = taken.local_addr().expect("its address").port();
        let busy = sandbox.run_module_on(
            runtime,
            &server.wasm,
            &["--env", &format!("PORT={taken_port}")],
        );
        drop(taken);
        let busy = Ran {
            stderr: without_port(&busy.stderr, taken_port),
            ..busy
        };
        let announced = app.stdout();
        let stopped = stop_with_ctrl_c(app, port);
        (
            without_port(&announced, port),
            curled,
            pipelined,
            malformed,
            Ran {
                stdout: without_port(&fetched.stdout, port),
                ..fetched
            },
            refused,
            usage,
            busy,
            stopped,
        )
    });
    let (announced, curled, pipelined, _, fetched, refused, usage, busy, stopped) = seen;
    assert_eq!(announced, "listening on http://127.0.0.1:PORT/\n");
    assert_eq!(curled.0, Some(0));
    assert!(
        curled.1.ends_with("\r\n\r\necho: name=WasmEdge"),
        "{curled:?}"
    );
    assert!(
        pipelined.contains("echo: first") && pipelined.ends_with("echo: second"),
        "{pipelined}"
    );
    assert_eq!(fetched.code, Some(0), "{fetched:?}");
    assert!(
        fetched.stdout.contains("echo: from the client"),
        "{fetched:?}"
    );
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(refused.stderr.starts_with("error: "), "{refused:?}");
    assert_eq!(usage.code, Some(2), "{usage:?}");
    assert_eq!(busy.code, Some(1), "{busy:?}");
    assert!(busy.stderr.contains("PORT"), "{busy:?}");
    assert!(stopped, "the port stayed open after Ctrl-C");
}

/// The `poll` template on each runtime: keep-alive, 50 pipelined requests in one write, and
/// 1,000 connections open at once, each with a request in flight; every answer, as the
/// clients saw it, must be the same on both runtimes.
#[test]
fn poll_template_serves_many_connections_the_same_on_both_runtimes() {
    const TEST: &str = "poll_template_serves_many_connections_the_same_on_both_runtimes";
    const CONNECTIONS: usize = 1000;
    let poll = template("poll");
    let sandbox = Sandbox::new();
    let seen = same_on_each(TEST, |runtime| {
        let port = free_port();
        let app = start_server(&sandbox, runtime, &poll.wasm, port, &[]);
        let mut keep_alive = connect(port, IO_TIMEOUT);
        let mut rounds = Vec::new();
        for round in 0..3 {
            keep_alive
                .write_all(post(&format!("round={round}"), false).as_bytes())
                .expect("write");
            rounds.push(read_answer(&mut keep_alive));
        }
        let batch: String = (0..50).map(|i| post(&format!("seq={i}"), false)).collect();
        let mut pipelined = connect(port, IO_TIMEOUT);
        pipelined
            .write_all(batch.as_bytes())
            .expect("write the batch");
        let batch_answers: Vec<String> = (0..50).map(|_| read_answer(&mut pipelined)).collect();

        let mut streams: Vec<TcpStream> = (0..CONNECTIONS)
            .map(|_| connect(port, IO_TIMEOUT))
            .collect();
        for (i, stream) in streams.iter_mut().enumerate() {
            stream
                .write_all(post(&format!("conn={i}"), false).as_bytes())
                .expect("write on a connection");
        }
        let distinct: BTreeSet<String> = streams
            .iter_mut()
            .enumerate()
            .map(|(i, stream)| read_answer(stream).replace(&format!("conn={i}"), "conn=N"))
            .collect();
        drop(streams);
        let stopped = stop_with_ctrl_c(app, port);
        (rounds, batch_answers, distinct, stopped)
    });
    let (rounds, batch, distinct, stopped) = seen;
    assert!(rounds[2].ends_with("echo: round=2"), "{rounds:?}");
    assert!(batch[49].ends_with("echo: seq=49"), "{batch:?}");
    assert!(stopped, "the port stayed open after Ctrl-C");
    // Every connection got the same answer apart from its own number (its length aside).
    assert!(
        distinct.len() <= 3
            && distinct
                .iter()
                .all(|answer| answer.ends_with("echo: conn=N")),
        "{distinct:?}"
    );
}

/// One HTTP/1.1 answer with a `content-length` from `stream`: head and body, as received.
fn read_answer(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let text = String::from_utf8_lossy(&seen);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length: usize = text[..head_end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or_else(|| panic!("no content-length in {text:?}"));
            if seen.len() >= head_end + 4 + length {
                return text.into_owned();
            }
        }
        assert!(Instant::now() < deadline, "timed out; got {text:?}");
        match stream.read(&mut byte) {
            Ok(0) => panic!("closed early; got {text:?}"),
            Ok(_) => seen.push(byte[0]),
            Err(error) => panic!("read failed ({error}); got {text:?}"),
        }
    }
}

/// `build --release --aot` with the real WasmEdge: `wasmedge compile`'s output beside the
/// module with its record, and a second `--aot` compiles nothing; `run` without `--aot`
/// then runs that output with `--run-mode=aot`; a prebuilt module's `run --wasm --aot`
/// compiles into the user's cache instead. The AOT code answers as the engine does.
#[test]
fn wasmedge_aot_output_runs_with_run_mode_aot_and_answers_as_the_engine() {
    const TEST: &str = "wasmedge_aot_output_runs_with_run_mode_aot_and_answers_as_the_engine";
    let sandbox = Sandbox::new();
    let created = sandbox
        .cmd()
        .args(["new", "parity-aot", "--template", "poll"])
        .output()
        .expect("run new");
    assert!(created.status.success(), "{}", stderr_of(&created));
    let project = sandbox.work().join("parity-aot");
    let in_project = |runtime: Runtime, args: &[&str]| {
        let mut command = sandbox.std_cmd_on(runtime);
        command
            .current_dir(&project)
            .args(args)
            .arg("--target-dir")
            .arg(shared_target_dir());
        command
    };
    let answers = |port: u16| {
        (
            curl(&["-d", "aot=1", &format!("http://127.0.0.1:{port}/")]),
            exchange(
                port,
                format!("{}{}", post("first", false), post("second", true)).as_bytes(),
                |_| false,
            ),
        )
    };
    let seen = same_on_each(TEST, |runtime| {
        let _build = build_lock();
        if runtime == Runtime::WasmEdge {
            // An earlier test run's output of the same module would be current: compile anew.
            let release = shared_target_dir().join("wasm32-wasip1/release");
            for stale in [
                "parity-aot.aot.wasm",
                "parity-aot.aot.wasm.wasock-cache.json",
            ] {
                let _ = std::fs::remove_file(release.join(stale));
            }
            let built = in_project(runtime, &["build", "--release", "--aot"])
                .output()
                .expect("run build --aot");
            let stderr = stderr_of(&built);
            assert!(built.status.success(), "{stderr}");
            assert!(
                stderr.contains("with WasmEdge 0.17.1 (AOT)"),
                "not compiled by WasmEdge:\n{stderr}"
            );
            let module = PathBuf::from(stdout_of(&built).trim());
            let aot = module.with_file_name("parity-aot.aot.wasm");
            assert!(is_wasm_module(&aot), "no AOT output at {}", aot.display());
            assert!(aot
                .with_file_name("parity-aot.aot.wasm.wasock-cache.json")
                .is_file());
            let again = in_project(runtime, &["build", "--release", "--aot"])
                .output()
                .expect("run build --aot again");
            let stderr = stderr_of(&again);
            assert!(again.status.success(), "{stderr}");
            assert!(
                stderr.contains("unchanged since the last compile")
                    && !stderr.contains("Compiling"),
                "an unchanged module was compiled again:\n{stderr}"
            );
        }
        let port = free_port();
        let mut command = in_project(
            runtime,
            &[
                "run",
                "--release",
                "-v",
                "--runtime",
                runtime.flag(),
                "--port",
                &port.to_string(),
            ],
        );
        command.stdin(std::process::Stdio::null());
        let mut app = RunningApp::spawn(command);
        app.wait_for_stdout("listening on http://", START_TIMEOUT);
        if runtime == Runtime::WasmEdge {
            let stderr = app.stderr();
            let running = stderr
                .lines()
                .find(|line| line.contains("running `") && line.contains("bin/wasmedge "))
                .unwrap_or_else(|| panic!("no command line shown:\n{stderr}"));
            assert!(
                running.contains("--run-mode=aot") && running.contains("parity-aot.aot.wasm"),
                "{stderr}"
            );
            assert!(stderr.contains("up to date, used"), "{stderr}");
        }
        let seen = answers(port);
        let stopped = stop_with_ctrl_c(app, port);
        (seen, stopped)
    });
    assert!(seen.0 .0 .1.ends_with("echo: aot=1"), "{seen:?}");
    assert!(seen.1, "the port stayed open after Ctrl-C");

    // A prebuilt module: compiled into the user's cache, never beside the user's file.
    if real_wasmedge_dir().is_none() {
        return;
    }
    let shipped = sandbox.work().join("shipped");
    std::fs::create_dir_all(&shipped).expect("create shipped/");
    let module = shipped.join("app.wasm");
    std::fs::copy(
        shared_target_dir().join("wasm32-wasip1/release/parity-aot.wasm"),
        &module,
    )
    .expect("copy the module");
    let port = free_port();
    let mut command = sandbox.std_cmd_on(Runtime::WasmEdge);
    command
        .args(["run", "-v", "--runtime", "wasmedge", "--aot", "--wasm"])
        .arg(&module)
        .args(["--port", &port.to_string()]);
    let mut app = RunningApp::spawn(command);
    app.wait_for_stdout("listening on http://", START_TIMEOUT);
    let cached = sandbox.cached("wasmedge", ".aot.wasm");
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(
        app.stderr()
            .contains(&format!("--run-mode=aot {}", cached[0].display())),
        "{}",
        app.stderr()
    );
    assert_eq!(answers(port), seen.0);
    assert_eq!(stop_with_ctrl_c(app, port), seen.1);
    assert_eq!(listing(&shipped), [PathBuf::from("app.wasm")]);
}

/// Ctrl-C to `run` while the app serves: a WasmEdge child dies of the SIGINT that `run`
/// forwards, and `run` then exits with 130 (128 + the signal, as a shell reports it); on
/// the engine, `run` itself ends by SIGINT's default action. A shell's `$?` is 130 for
/// both, but a parent process that waits sees an exit code from one and a signal from the
/// other.
#[test]
fn ctrl_c_ends_run_the_same_way_on_both_runtimes() {
    const TEST: &str = "ctrl_c_ends_run_the_same_way_on_both_runtimes";
    let sandbox = Sandbox::new();
    let server = template("server");
    same_on_each(TEST, |runtime| {
        let port = free_port();
        let mut app = start_server(&sandbox, runtime, &server.wasm, port, &[]);
        app.signal(libc::SIGINT);
        app.wait_exit(Duration::from_secs(30))
    });
}
