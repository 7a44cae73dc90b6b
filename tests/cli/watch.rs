//! `cargo wasock watch` end to end on the embedded engine and on the real WasmEdge (where
//! installed): a real `poll` project, real cargo rebuilds after real file edits, the app
//! asked over loopback with ureq until its answer changes (generous deadlines, nothing
//! timed), then stopped with SIGINT.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{
    build_lock, free_port, json_messages, new_project_in, real_wasmedge_for, shared_target_dir, stderr_of,
    with_reason, RunningApp, Runtime, Sandbox,
};

/// A first build of a template app and its first compile by a debug-built engine can take
/// minutes on a loaded machine; each later cycle recompiles one crate.
const DEADLINE: Duration = Duration::from_secs(300);

/// The `poll` template's answer to a POST of `body`, or None while nothing answers.
fn answer(port: u16, body: &str) -> Option<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut response = agent
        .post(&format!("http://127.0.0.1:{port}/"))
        .send(body)
        .ok()?;
    response.body_mut().read_to_string().ok()
}

/// Ask until the answer is `expected`; fails with watch's stderr after [`DEADLINE`].
fn wait_for_answer(app: &mut RunningApp, port: u16, expected: &str) {
    let started = Instant::now();
    loop {
        let got = answer(port, "ping");
        if got.as_deref() == Some(expected) {
            return;
        }
        assert!(app.is_running(), "watch ended early:\n{}", app.stderr());
        assert!(
            started.elapsed() < DEADLINE,
            "still answered {got:?}, not {expected:?}:\n{}",
            app.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How many threads process `pid` has (`Threads:` of /proc/PID/status).
fn threads_of(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
        .expect("a Threads: line")
}

/// Replace `from` with `to` in `file`, as an editor saving it would.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("read the source");
    assert!(text.contains(from), "{from:?} not in {}", file.display());
    std::fs::write(file, text.replace(from, to)).expect("write the source");
}

/// Processes whose command line mentions `needle` (the app's module), other than us.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

#[test]
fn an_edit_is_served_a_broken_build_keeps_the_old_app_and_sigint_leaves_nothing() {
    let sandbox = Sandbox::new();
    let project = new_project_in(&sandbox, &sandbox.work(), "watchme", "poll");
    let main_rs = project.join("src/main.rs");
    let port = free_port();
    // A secret for the app: it must reach the app on the engine child without showing on
    // any command line (other users can read those).
    let secret = "s3=cret-8817";
    std::fs::write(
        project.join("secrets.env"),
        format!("WATCH_SECRET={secret}\n"),
    )
    .expect("write the env file");

    // The whole test builds, again and again: other tests' builds wait.
    let _build = build_lock();
    let mut command = sandbox.std_cmd();
    command
        .current_dir(&project)
        .args([
            "watch",
            "--runtime",
            "embedded",
            "--port",
            &port.to_string(),
        ])
        .args(["--message-format", "json", "--env-file", "secrets.env"])
        .arg("--target-dir")
        .arg(shared_target_dir());
    // Left over in watch's own environment, these must not reach the app (they would
    // continue the numbered list watch hands its engine child, and win).
    for index in 0..16 {
        command.env(
            format!("CARGO_WASOCK_APP_ENV_{index}"),
            "WATCH_SECRET=stale",
        );
    }
    let mut app = RunningApp::spawn(command);
    wait_for_answer(&mut app, port, "echo: ping");
    app.wait_for_stderr("first build · built in", DEADLINE);
    let listening = format!("{{\"reason\":\"listening\",\"url\":\"http://127.0.0.1:{port}/\"");
    app.wait_for_stdout_count(&listening, 1, DEADLINE);
    // With an app running and observed: what a later cycle must come back to.
    let threads = threads_of(app.id());

    edit(&main_rs, r#"b"echo: ""#, r#"b"watched: ""#);
    wait_for_answer(&mut app, port, "watched: ping");
    app.wait_for_stderr("src/main.rs changed · rebuilt in", DEADLINE);
    assert!(app.stderr().contains("restarted"), "{}", app.stderr());

    // A syntax error: cargo's error is shown and the old app keeps answering.
    edit(&main_rs, r#"b"watched: ""#, r#"b"broken: "XX"#);
    app.wait_for_stderr("build failed · old app keeps serving", DEADLINE);
    let stderr = app.stderr();
    assert!(
        stderr.contains("invalid suffix `XX`"),
        "rustc's error is not shown:\n{stderr}"
    );
    assert_eq!(answer(port, "ping").as_deref(), Some("watched: ping"));

    edit(
        &main_rs,
        r#"b"broken: "XX"#,
        r#"format!("fixed {}: ", std::env::var("WATCH_SECRET").unwrap_or_default()).into_bytes()"#,
    );
    wait_for_answer(&mut app, port, &format!("fixed {secret}: ping"));
    let showing = processes_mentioning(secret);
    assert!(
        showing.is_empty(),
        "the secret is on a command line: {showing:?}"
    );

    // cargo creating Cargo.lock on the first build is not a change of the user's.
    assert!(
        !app.stderr().contains("Cargo.lock changed"),
        "cargo's own lock file write started a cycle:\n{}",
        app.stderr()
    );

    // The listeners are observed by polling the kernel's tables: give the last one its look.
    app.wait_for_stdout_count(&listening, 3, DEADLINE);
    // Two restarts later, no thread of an old app's observers is left in watch.
    assert_eq!(threads_of(app.id()), threads, "{}", app.stderr());

    // SIGINT sent to watch alone (not from a terminal): the app is stopped by it too.
    app.interrupt();
    let code = app.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(130), "{}", app.stderr());
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_err(),
        "port {port} still open after watch ended"
    );
    let left = processes_mentioning("watchme.wasm");
    assert!(left.is_empty(), "processes left behind: {left:?}");

    // `--message-format json`: a `rebuild` per cycle, a `listening` per app, the last `exit`.
    let stdout = app.stdout();
    let messages = json_messages(&stdout);
    let rebuilds = with_reason(&messages, "rebuild");
    let outcomes: Vec<bool> = rebuilds
        .iter()
        .map(|rebuild| rebuild["ok"].as_bool().unwrap())
        .collect();
    assert_eq!(outcomes, [true, true, false, true], "{stdout}");
    assert_eq!(rebuilds[0]["changed"], serde_json::json!([]));
    assert_eq!(rebuilds[1]["changed"], serde_json::json!(["src/main.rs"]));
    assert!(rebuilds[1]["duration_ms"].is_u64());
    let listening = with_reason(&messages, "listening");
    assert_eq!(listening.len(), 3, "one per app started:\n{stdout}");
    assert!(listening
        .iter()
        .all(|message| message["addr"] == format!("0.0.0.0:{port}")));
    assert_eq!(with_reason(&messages, "runtime")[0]["name"], "embedded");
    assert_eq!(with_reason(&messages, "artifact").len(), 3);
    assert_eq!(
        messages.last().unwrap(),
        &serde_json::json!({"reason": "exit", "code": 130})
    );
}

/// A stop signal sent to `watch` alone (`kill`, not a terminal's Ctrl-C) during a build ends
/// the build at once, with every process cargo started: here a build script waiting for a
/// ten-minute `sleep` that ignores SIGINT. `watch` exits as the signal says and leaves
/// nothing running.
#[test]
fn a_stop_signal_ends_a_build_in_progress_with_what_cargo_started() {
    let sandbox = Sandbox::new();
    let project =
        crate::support::minimal_project(&sandbox.work(), "watchslowbuild", "fn main() {}\n", "");
    std::fs::write(
        project.join("build.rs"),
        r#"fn main() {
    let _ = std::process::Command::new("sh")
        .args(["-c", "trap '' INT; exec sleep 6021"])
        .status();
}
"#,
    )
    .expect("write build.rs");
    let build_scripts = || -> Vec<String> {
        let mut found: Vec<String> = processes_mentioning("watchslowbuild-")
            .into_iter()
            .filter(|process| process.contains("build-script-build"))
            .collect();
        found.extend(processes_mentioning("sleep 6021"));
        found
    };
    let _build = build_lock();
    let mut command = sandbox.std_cmd();
    command
        .current_dir(&project)
        .args(["watch", "--target-dir"])
        .arg(shared_target_dir());
    let mut app = RunningApp::spawn(command);
    app.wait_until("the build script's sleep", DEADLINE, || {
        !processes_mentioning("sleep 6021").is_empty()
    });

    app.signal(libc::SIGTERM);
    let code = app.wait_exit(Duration::from_secs(60));
    assert_eq!(code, Some(128 + libc::SIGTERM), "{}", app.stderr());
    app.wait_until(
        "the build script and its sleep to end",
        Duration::from_secs(10),
        || build_scripts().is_empty(),
    );
}

/// On WasmEdge (the recording stand-in, which then sleeps as an app would serve): the same
/// command line as `run` gives it, again after an edit, once the first one was stopped; a
/// source directory made after watching began is watched; the stop signal ends the last
/// app and leaves no process behind.
#[test]
fn on_wasmedge_each_build_restarts_the_child_with_runs_command_line() {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let project = crate::support::minimal_project(
        &sandbox.work(),
        "watch-we",
        "fn main() { println!(\"one\"); }\n",
        "",
    );
    let port = free_port();
    let _build = build_lock();
    let mut command = sandbox.std_cmd();
    command
        .current_dir(&project)
        .args(["watch", "--port", &port.to_string(), "--target-dir"])
        .arg(shared_target_dir())
        .args(["--", "an-arg"])
        // The stand-in's shell becomes a long sleep (named so it can be found afterwards).
        .env("FAKE_WASMEDGE_THEN", "exec sleep 6017");
    let mut app = RunningApp::spawn(command);
    app.wait_for_stderr("first build · built in", DEADLINE);
    let runs = || {
        fake.work_invocations()
            .into_iter()
            .filter(|args| args.iter().any(|arg| arg.ends_with("watch-we.wasm")))
            .collect::<Vec<_>>()
    };
    app.wait_until("the first start", DEADLINE, || runs().len() == 1);
    let sleepers = || processes_mentioning("sleep 6017");
    app.wait_until("the first child's sleep", DEADLINE, || {
        sleepers().len() == 1
    });
    let first = sleepers().remove(0);

    edit(&project.join("src/main.rs"), "\"one\"", "\"two\"");
    app.wait_for_stderr("src/main.rs changed · rebuilt in", DEADLINE);
    app.wait_until("the restart", DEADLINE, || runs().len() == 2);
    let runs = runs();
    assert_eq!(
        runs[0],
        [
            "--env".to_owned(),
            format!("PORT={port}"),
            runs[0][2].clone(),
            "an-arg".to_owned()
        ],
    );
    assert!(runs[0][2].ends_with("debug/watch-we.wasm"), "{runs:?}");
    assert_eq!(runs[0], runs[1]);
    // The first child was stopped (and reaped) before the second started: one at a time.
    app.wait_until("the second child's sleep", DEADLINE, || {
        sleepers().iter().any(|sleeper| *sleeper != first)
    });
    assert_eq!(sleepers().len(), 1, "{:?}", sleepers());

    // `tests/` did not exist when watching began: made now, it is a change, and from then
    // on what is written inside it is one too.
    std::fs::create_dir(project.join("tests")).expect("make tests/");
    app.wait_for_stderr("tests changed · rebuilt in", DEADLINE);
    std::fs::write(project.join("tests/later.rs"), "#[test]\nfn later() {}\n")
        .expect("write tests/later.rs");
    app.wait_for_stderr("tests/later.rs changed · rebuilt in", DEADLINE);

    app.signal(libc::SIGTERM);
    let code = app.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(128 + libc::SIGTERM), "{}", app.stderr());
    assert!(processes_mentioning("sleep 6017").is_empty());
}

/// On the real WasmEdge: a `poll` app served by a WasmEdge child, an edit served after the
/// rebuild (the first child stopped, a new one started), each child's listener observed in
/// `/proc` (a `listening` message per app, as on the engine), and SIGINT leaving no process
/// and no listener behind.
#[test]
fn on_the_real_wasmedge_an_edit_is_served_and_each_child_is_observed() {
    const TEST: &str = "on_the_real_wasmedge_an_edit_is_served_and_each_child_is_observed";
    if real_wasmedge_for(TEST).is_none() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = new_project_in(&sandbox, &sandbox.work(), "watchreal", "poll");
    let port = free_port();
    let _build = build_lock();
    let mut command = sandbox.std_cmd_on(Runtime::WasmEdge);
    command
        .current_dir(&project)
        .args([
            "watch",
            "--runtime",
            "wasmedge",
            "--port",
            &port.to_string(),
        ])
        .args(["--message-format", "json", "--target-dir"])
        .arg(shared_target_dir());
    let mut app = RunningApp::spawn(command);
    wait_for_answer(&mut app, port, "echo: ping");
    let listening = format!("{{\"reason\":\"listening\",\"url\":\"http://127.0.0.1:{port}/\"");
    app.wait_for_stdout_count(&listening, 1, DEADLINE);
    assert!(
        app.stderr().contains("on WasmEdge 0.17.1"),
        "{}",
        app.stderr()
    );

    edit(
        &project.join("src/main.rs"),
        r#"b"echo: ""#,
        r#"b"watched: ""#,
    );
    wait_for_answer(&mut app, port, "watched: ping");
    app.wait_for_stderr("src/main.rs changed · rebuilt in", DEADLINE);
    app.wait_for_stdout_count(&listening, 2, DEADLINE);
    assert_eq!(
        processes_mentioning("watchreal.wasm").len(),
        1,
        "one WasmEdge child at a time"
    );

    app.interrupt();
    let code = app.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(130), "{}", app.stderr());
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_err(),
        "port {port} still open after watch ended"
    );
    let left = processes_mentioning("watchreal.wasm");
    assert!(left.is_empty(), "processes left behind: {left:?}");
    let stdout = app.stdout();
    let messages = json_messages(&stdout);
    assert_eq!(with_reason(&messages, "runtime")[0]["name"], "wasmedge");
    let listening = with_reason(&messages, "listening");
    assert_eq!(listening.len(), 2, "one per app started:\n{stdout}");
    assert!(listening
        .iter()
        .all(|message| message["addr"] == format!("0.0.0.0:{port}")));
    assert_eq!(
        messages.last().unwrap(),
        &serde_json::json!({"reason": "exit", "code": 130})
    );
}

#[test]
fn watch_refuses_a_prebuilt_module() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .cmd()
        .args(["watch", "--wasm", "app.wasm"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(
            "error: `watch` rebuilds a cargo project; it does not take `--wasm` or `--js`"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("help: "), "{stderr}");
}

/// `watch` hands the sandbox to its engine child (which runs `--wasm` and reads no
/// metadata): a connect the flags do not allow is refused in the app and said once.
#[test]
fn the_child_keeps_the_sandbox_of_the_flags() {
    let sandbox = Sandbox::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/guests/policy-checks/Cargo.toml");
    let refused = format!("tcp=127.0.0.2:{port}");
    let _build = build_lock();
    let mut command = sandbox.std_cmd();
    command
        .args([
            "watch",
            "--runtime",
            "embedded",
            "--release",
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(shared_target_dir())
        .args([
            "--allow-connect",
            &format!("127.0.0.1:{port}"),
            "--memory-limit",
            "16MiB",
        ])
        .args([
            "--",
            &refused,
            &refused,
            &format!("tcp=127.0.0.1:{port}"),
            "alloc=64",
        ]);
    let mut app = RunningApp::spawn(command);
    app.wait_for_stderr("(--memory-limit)", DEADLINE);
    app.signal(libc::SIGTERM);
    app.wait_exit(Duration::from_secs(30));
    let stderr = app.stderr();
    let line = format!(
        "blocked: the app tried to connect to 127.0.0.2:{port}, which allow-connect does not list"
    );
    assert_eq!(stderr.matches(&line).count(), 1, "{stderr}");
    assert!(
        stderr.contains("the app reached its memory limit of 16 MiB (--memory-limit)"),
        "{stderr}"
    );
    let denied = format!("tcp 127.0.0.2:{port}: error 2 PermissionDenied");
    assert_eq!(app.stdout().matches(&denied).count(), 2, "{}", app.stdout());
    assert!(app.stdout().contains(&format!("tcp 127.0.0.1:{port}: ok")));
}

/// The `policy-checks` guest as a package of its own (`watch-policy`, so its build never
/// replaces the one `policy.rs` shares), with `extra_manifest` (its metadata) appended.
fn policy_checks_package(sandbox: &Sandbox, extra_manifest: &str) -> std::path::PathBuf {
    let guest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/guests/policy-checks");
    let manifest = std::fs::read_to_string(guest.join("Cargo.toml"))
        .expect("read policy-checks' Cargo.toml")
        .replace("name = \"policy-checks\"", "name = \"watch-policy\"")
        .replace(
            "path = \"../../../runtime-lib\"",
            &format!(
                "path = {:?}",
                guest.join("../../../runtime-lib").display().to_string()
            ),
        );
    let project = sandbox.work().join("watch-policy");
    std::fs::create_dir_all(project.join("src")).expect("make the package");
    std::fs::write(
        project.join("Cargo.toml"),
        format!("{manifest}\n{extra_manifest}"),
    )
    .expect("write Cargo.toml");
    std::fs::copy(guest.join("src/main.rs"), project.join("src/main.rs")).expect("copy main.rs");
    std::fs::copy(guest.join("Cargo.lock"), project.join("Cargo.lock")).expect("copy Cargo.lock");
    project
}

/// A package whose metadata states `allow-connect`, watched with `--runtime auto` while a
/// WasmEdge is on PATH (the recording stand-in): the app runs on the engine, as `run`
/// would run it, `-v` says why, and the policy holds (the refused connect said once, as a
/// line and as a `blocked` message, the allowed one made); WasmEdge never runs it.
#[test]
fn a_package_policy_takes_the_engine_over_a_found_wasmedge() {
    let sandbox = Sandbox::new();
    let wasmedge = sandbox.fake_wasmedge("0.17.1");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let project = policy_checks_package(
        &sandbox,
        &format!("[package.metadata.wasock]\nallow-connect = [\"127.0.0.1:{port}\"]\n"),
    );
    let refused = format!("tcp=127.0.0.2:{port}");
    let _build = build_lock();
    let mut command = sandbox.std_cmd();
    command
        .current_dir(&project)
        .args(["-v", "watch", "--release", "--message-format", "json"])
        .arg("--target-dir")
        .arg(shared_target_dir())
        .args(["--", &refused, &refused, &format!("tcp=127.0.0.1:{port}")]);
    let mut app = RunningApp::spawn(command);
    app.wait_for_stderr("the app exited with code 0", DEADLINE);
    app.signal(libc::SIGTERM);
    app.wait_exit(Duration::from_secs(30));
    let stderr = app.stderr();
    assert!(
        stderr.contains("the app runs on the embedded engine: allow-connect (from [package.metadata.wasock]) is enforced by the engine only"),
        "{stderr}"
    );
    assert!(!stderr.contains("WasmEdge cannot enforce"), "{stderr}");
    let line = format!(
        "blocked: the app tried to connect to 127.0.0.2:{port}, which allow-connect does not list"
    );
    assert_eq!(stderr.matches(&line).count(), 1, "{stderr}");
    let denied = format!("tcp 127.0.0.2:{port}: error 2 PermissionDenied");
    assert_eq!(app.stdout().matches(&denied).count(), 2, "{}", app.stdout());
    assert!(app.stdout().contains(&format!("tcp 127.0.0.1:{port}: ok")));
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_ok(), "the allowed connect arrived");
    // `--message-format json`: the engine child's `blocked` message, once, as `run` says it;
    // the runtime as the flags found it, then as the package's policy chose it.
    let messages = json_messages(&app.stdout());
    let blocked = with_reason(&messages, "blocked");
    assert_eq!(blocked.len(), 1, "{}", app.stdout());
    assert_eq!(blocked[0]["destination"], format!("127.0.0.2:{port}"));
    assert_eq!(blocked[0]["direction"], "connect");
    assert_eq!(blocked[0]["list"], "allow-connect");
    let runtimes: Vec<_> = with_reason(&messages, "runtime")
        .iter()
        .map(|message| (message["name"].clone(), message["why"].clone()))
        .collect();
    assert_eq!(
        runtimes,
        [
            ("wasmedge".into(), "WasmEdge found".into()),
            (
                "embedded".into(),
                "its sandbox policy needs the engine".into()
            )
        ],
        "{}",
        app.stdout()
    );
    assert_eq!(with_reason(&messages, "exit").len(), 1, "{}", app.stdout());
    let ran_module = |args: &Vec<String>| args.iter().any(|arg| arg.ends_with(".wasm"));
    assert!(
        !wasmedge.work_invocations().iter().any(ran_module),
        "{:?}",
        wasmedge.work_invocations()
    );
}

/// The package's `instances = 2` with a WasmEdge on PATH (the stand-in): like a policy, it
/// takes the engine, which starts both instances, as `run` would.
#[test]
fn package_instances_take_the_engine_over_a_found_wasmedge() {
    let sandbox = Sandbox::new();
    let wasmedge = sandbox.fake_wasmedge("0.17.1");
    let project = crate::support::minimal_project(
        &sandbox.work(),
        "watch-instances",
        "fn main() { println!(\"instance {}\", std::env::var(\"WASOCK_INSTANCE\").unwrap()); }\n",
        "[package.metadata.wasock]\ninstances = 2\n",
    );
    let _build = build_lock();
    let mut command = sandbox.std_cmd();
    command
        .current_dir(&project)
        .args(["-v", "watch", "--target-dir"])
        .arg(shared_target_dir());
    let mut app = RunningApp::spawn(command);
    app.wait_for_stderr("the app exited with code 0", DEADLINE);
    app.signal(libc::SIGTERM);
    app.wait_exit(Duration::from_secs(30));
    let stderr = app.stderr();
    assert!(
        stderr.contains(
            "2 instances run on the embedded engine: WasmEdge runs one instance per process"
        ),
        "{stderr}"
    );
    let mut lines: Vec<_> = app.stdout().lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(lines, ["instance 0", "instance 1"], "{stderr}");
    let ran_module = |args: &Vec<String>| args.iter().any(|arg| arg.ends_with(".wasm"));
    assert!(!wasmedge.work_invocations().iter().any(ran_module));
}
