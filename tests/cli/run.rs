//! `run` on WasmEdge (a recording stand-in): exact command lines, env sources, ports, exit
//! codes, signals, and refusals.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::support::*;

const HELLO: &str = "fn main() { println!(\"hello\"); }\n";

/// A module file for `--wasm` runs: the stand-in never reads it.
fn prebuilt_module(sandbox: &Sandbox) -> PathBuf {
    let path = sandbox.work().join("prebuilt.wasm");
    fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    path
}

/// A sandbox with the stand-in `wasmedge` 0.17.1 on PATH and a module for `--wasm` runs.
fn sandbox_with_module() -> (Sandbox, FakeWasmEdge, PathBuf) {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let module = prebuilt_module(&sandbox);
    (sandbox, fake, module)
}

/// A sandbox with the stand-in `wasmedge` (reporting `version`) on PATH and a minimal
/// project `name` whose manifest ends with `manifest_extra`.
fn sandbox_with_project(
    version: &str,
    name: &str,
    manifest_extra: &str,
) -> (Sandbox, FakeWasmEdge, PathBuf) {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge(version);
    let project = minimal_project(&sandbox.work(), name, HELLO, manifest_extra);
    (sandbox, fake, project)
}

/// `run --wasm MODULE`; more arguments may follow.
fn run_wasm(sandbox: &Sandbox, module: &Path) -> std::process::Command {
    let mut command = sandbox.std_cmd();
    command.args(["run", "--wasm"]).arg(module);
    command
}

/// `run` in `project`, building into the shared target directory; more arguments may follow.
fn run_project(sandbox: &Sandbox, project: &Path) -> assert_cmd::Command {
    let mut command = sandbox.cmd();
    command
        .current_dir(project)
        .args(["run", "--target-dir"])
        .arg(shared_target_dir());
    command
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[test]
fn run_passes_dirs_env_run_mode_and_args_in_order_on_wasmedge_0_17() {
    let (sandbox, fake, project) = sandbox_with_project(
        "0.17.1",
        "run-cmdline",
        "[package.metadata.wasock]\nport = 1234\nenv = { SHARED = \"meta\", FROM_META = \"m\" }\ndirs = [\"/meta:metadir\"]\n",
    );
    fs::create_dir_all(project.join("metadir")).unwrap();
    let data = sandbox.work().join("data");
    let config = sandbox.work().join("config");
    fs::create_dir_all(&data).unwrap();
    fs::create_dir_all(&config).unwrap();
    fs::write(
        project.join("app.env"),
        "# comment\nB=2\nSHARED=file\nQUOTED=\"a b\"\n",
    )
    .unwrap();
    let port = free_port();

    let _lock = build_lock();
    let output = run_project(&sandbox, &project)
        .env("HOSTVAR", "from-host")
        .args([
            "--aot",
            "--env",
            "A=1",
            "--env",
            "SHARED=flag",
            "--env",
            "HOSTVAR",
            "--env-file",
            "app.env",
        ])
        .arg("--dir")
        .arg(format!("/data:{}", data.display()))
        .arg("--dir")
        .arg(format!("/config:{}:readonly", config.display()))
        .args(["--port", &port.to_string(), "--", "--flag", "two words"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    let aot = printed_path(
        &stderr
            .lines()
            .filter(|line| line.trim_start().starts_with("Built"))
            .collect::<Vec<_>>()
            .join("\n"),
        "Built",
    )
    .with_file_name("run-cmdline.aot.wasm");

    let work = fake.work_invocations();
    assert_eq!(work.len(), 2, "{work:?}");
    assert_eq!(work[0][0], "compile");
    let mut expected = strings(&["--dir"]);
    expected.push(format!("/meta:{}", project.join("metadir").display()));
    expected.extend(strings(&["--dir"]));
    expected.push(format!("/data:{}", data.display()));
    expected.extend(strings(&["--dir"]));
    expected.push(format!("/config:{}:readonly", config.display()));
    for pair in [
        "FROM_META=m",
        "SHARED=flag",
        &format!("PORT={port}"),
        "B=2",
        "QUOTED=a b",
        "A=1",
        "HOSTVAR=from-host",
    ] {
        expected.extend(strings(&["--env", pair]));
    }
    expected.push("--run-mode=aot".to_owned());
    expected.push(aot.display().to_string());
    expected.extend(strings(&["--flag", "two words"]));
    assert_eq!(work[1], expected);
    assert_eq!(
        fake.version_queries(),
        1,
        "wasmedge --version must be read once per run"
    );
    assert!(
        stderr.contains("on WasmEdge 0.17.1"),
        "the runtime is not named:\n{stderr}"
    );
}

/// `cargo metadata` is cached between runs (issue 7 §8); an edit to the manifest (here of
/// the same length, so only its time tells) must be seen by the next run.
#[test]
fn manifest_edits_reach_the_next_run_through_the_metadata_cache() {
    let (sandbox, fake, project) = sandbox_with_project(
        "0.17.1",
        "cached-metadata",
        "[package.metadata.wasock]\nenv = { GREETING = \"first\" }\n",
    );
    let _lock = build_lock();
    let greeting = |expected: &str| {
        let run = fake.work_invocations().pop().unwrap();
        assert!(
            run.windows(2)
                .any(|pair| pair == ["--env".to_owned(), format!("GREETING={expected}")]),
            "{run:?}"
        );
    };
    // Twice: a manifest written just before a run is not vouched for by that run.
    for _ in 0..2 {
        let first = run_project(&sandbox, &project).output().unwrap();
        assert!(first.status.success(), "{}", stderr_of(&first));
        greeting("first");
    }
    let entries = fs::read_dir(sandbox.home().join(".cache/cargo-wasock/metadata"))
        .map(|dir| dir.count())
        .unwrap_or(0);
    assert_eq!(entries, 1, "the answer was not cached");

    let manifest = project.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, text.replace("\"first\"", "\"later\"")).unwrap();
    let second = run_project(&sandbox, &project).output().unwrap();
    assert!(second.status.success(), "{}", stderr_of(&second));
    greeting("later");
}

#[test]
fn run_on_wasmedge_0_16_does_not_pass_run_mode() {
    let (sandbox, fake, project) = sandbox_with_project("0.16.1", "run-old-wasmedge", "");
    let _lock = build_lock();
    let output = run_project(&sandbox, &project)
        .arg("--aot")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let run = fake.work_invocations().pop().unwrap();
    assert_eq!(run.len(), 1, "only the module is expected: {run:?}");
    assert!(run[0].ends_with("run-old-wasmedge.aot.wasm"), "{run:?}");
}

/// `build --aot` once; then plain `run` uses the AOT module while it is up to date, and
/// the plain module once the app changed.
#[test]
fn run_uses_an_up_to_date_aot_module_without_being_asked() {
    let (sandbox, fake, project) = sandbox_with_project("0.17.1", "run-reuses-aot", "");
    let _lock = build_lock();
    let built = sandbox
        .cmd()
        .current_dir(&project)
        .args(["build", "--aot", "--target-dir"])
        .arg(shared_target_dir())
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", stderr_of(&built));
    let module = PathBuf::from(stdout_of(&built).trim());
    let aot = module.with_file_name("run-reuses-aot.aot.wasm");
    fake.clear();

    let ran = run_project(&sandbox, &project).output().unwrap();
    assert!(ran.status.success(), "{}", stderr_of(&ran));
    assert_eq!(
        fake.work_invocations(),
        vec![vec!["--run-mode=aot".to_owned(), aot.display().to_string()]],
        "{}",
        stderr_of(&ran)
    );
    assert!(
        stderr_of(&ran).contains("up to date, used"),
        "{}",
        stderr_of(&ran)
    );

    fs::write(
        project.join("src/main.rs"),
        "fn main() { println!(\"changed\"); }\n",
    )
    .unwrap();
    fake.clear();
    let stale = run_project(&sandbox, &project).output().unwrap();
    let stderr = stderr_of(&stale);
    assert!(stale.status.success(), "{stderr}");
    assert_eq!(
        fake.work_invocations(),
        vec![vec![module.display().to_string()]],
        "a stale AOT module was run:\n{stderr}"
    );
    assert!(
        stderr.contains("note: WasmEdge runs this module in its interpreter; `--aot` compiles it ahead of time once"),
        "{stderr}"
    );
}

/// `run --wasm FILE --aot` on WasmEdge compiles into the user's cache, not beside FILE,
/// and a later `run --wasm FILE` uses that output.
#[test]
fn wasmedge_aot_of_a_prebuilt_module_goes_to_the_cache_and_is_reused() {
    let (sandbox, fake, module) = sandbox_with_module();
    let compiled = run_wasm(&sandbox, &module).arg("--aot").output().unwrap();
    assert!(compiled.status.success(), "{}", stderr_of(&compiled));
    let outputs = sandbox.cached("wasmedge", ".aot.wasm");
    assert_eq!(outputs.len(), 1, "{}", stderr_of(&compiled));
    let work = fake.work_invocations();
    assert_eq!(
        work[0],
        vec![
            "compile".to_owned(),
            module.display().to_string(),
            outputs[0].display().to_string()
        ]
    );
    assert_eq!(
        listing(&sandbox.work()),
        [PathBuf::from("prebuilt.wasm")],
        "written beside the user's module"
    );

    fake.clear();
    let reused = run_wasm(&sandbox, &module).output().unwrap();
    assert!(reused.status.success(), "{}", stderr_of(&reused));
    assert_eq!(
        fake.work_invocations(),
        vec![vec![
            "--run-mode=aot".to_owned(),
            outputs[0].display().to_string()
        ]]
    );
}

/// A text file (or anything else) given as `--wasm` is named as not a module before
/// any runtime parses it.
#[test]
fn a_file_that_is_not_wasm_is_refused_as_such() {
    let sandbox = Sandbox::new();
    let text = sandbox.work().join("notes.txt");
    fs::write(&text, "hello\n").unwrap();
    for runtime in ["embedded", "auto"] {
        let output = sandbox
            .cmd()
            .args(["run", "--runtime", runtime, "--wasm"])
            .arg(&text)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            stderr_of(&output),
            format!(
                "error: `{}` is not a wasm module (it does not start with the bytes `\\0asm`)\n\
                 help: pass the `.wasm` file cargo built, e.g. target/wasm32-wasip1/release/NAME.wasm, or drop `--wasm` to build the project\n",
                text.display()
            )
        );
    }
}

#[test]
fn run_without_aot_passes_the_plain_module_and_no_run_mode() {
    let (sandbox, fake, module) = sandbox_with_module();
    let output = run_wasm(&sandbox, &module)
        .args(["--", "x"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(
        fake.work_invocations(),
        vec![vec![module.display().to_string(), "x".to_owned()]]
    );
}

#[test]
fn the_apps_exit_code_is_runs_exit_code() {
    let (sandbox, _, module) = sandbox_with_module();
    // WasmEdge 0.17.1 exits with the guest's code over the whole range, 126-255 included.
    for code in [0, 1, 7, 125, 126, 200, 255] {
        let exited = run_wasm(&sandbox, &module)
            .env("FAKE_WASMEDGE_EXIT", code.to_string())
            .output()
            .unwrap();
        assert_eq!(exited.status.code(), Some(code), "{}", stderr_of(&exited));
    }
    let killed = run_wasm(&sandbox, &module)
        .env("FAKE_WASMEDGE_THEN", "kill -TERM $$")
        .output()
        .unwrap();
    assert_eq!(
        killed.status.code(),
        Some(128 + 15),
        "{}",
        stderr_of(&killed)
    );
}

#[test]
fn sigterm_reaches_the_app_and_its_code_is_returned() {
    let (sandbox, fake, module) = sandbox_with_module();
    let marker = sandbox.root.path().join("got-term");
    let app = format!(
        "trap 'touch {}; exit 42' TERM; touch {0}.ready; while :; do sleep 0.05; done",
        marker.display()
    );
    let mut command = run_wasm(&sandbox, &module);
    command.env("FAKE_WASMEDGE_THEN", app);
    let mut cli = RunningApp::spawn(command);
    let ready = marker.with_file_name("got-term.ready");
    cli.wait_until("the app to start", Duration::from_secs(20), || {
        ready.exists()
    });
    cli.signal(libc::SIGTERM);
    let code = cli.wait_exit(Duration::from_secs(20));
    assert_eq!(code, Some(42), "{}", cli.stderr());
    assert!(marker.exists(), "the app never saw SIGTERM");
    assert_eq!(fake.work_invocations().len(), 1);
}

#[test]
fn sigint_is_forwarded_even_when_run_started_with_it_ignored() {
    let (sandbox, _fake, module) = sandbox_with_module();
    let marker = sandbox.root.path().join("got-int");
    // bash cannot trap a signal that was ignored when it started: the trap only fires if
    // the app got SIGINT's default disposition back (run catches it before spawning, and
    // exec resets caught signals to their default).
    let app = format!(
        "trap 'touch {}; exit 42' INT; touch {0}.ready; while :; do sleep 0.05; done",
        marker.display()
    );
    let mut command = run_wasm(&sandbox, &module);
    command.env("FAKE_WASMEDGE_THEN", app);
    ignore_sigint_in_child(&mut command);
    let mut cli = RunningApp::spawn(command);
    let ready = marker.with_file_name("got-int.ready");
    cli.wait_until("the app to start", Duration::from_secs(20), || {
        ready.exists()
    });
    cli.signal(libc::SIGINT);
    let code = cli.wait_exit(Duration::from_secs(20));
    assert_eq!(code, Some(42), "{}", cli.stderr());
    assert!(marker.exists(), "the app never saw SIGINT");
}

/// The stand-in plays a server in python: listen on each `HOST:PORT` of `listen` (port 0:
/// any), print `bound PORT...`, serve `count` connections on the first listener (read to
/// EOF, write the bytes back reversed, close), then linger `linger` seconds and exit 0.
fn python_server(sandbox: &Sandbox, listen: &[&str], count: usize, linger: f32) -> String {
    let script = sandbox.root.path().join("server.py");
    fs::write(
        &script,
        r#"import socket, sys, time
listeners = []
for address in sys.argv[1].split(","):
    host, port = address.rsplit(":", 1)
    listener = socket.socket()
    listener.bind((host, int(port)))
    listener.listen()
    listeners.append(listener)
print("bound", *[l.getsockname()[1] for l in listeners], flush=True)
for _ in range(int(sys.argv[2])):
    connection, _ = listeners[0].accept()
    data = b""
    while True:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    connection.sendall(data[::-1])
    connection.close()
time.sleep(float(sys.argv[3]))
"#,
    )
    .unwrap();
    format!(
        "exec python3 {} {} {count} {linger}",
        script.display(),
        listen.join(",")
    )
}

/// The ports the python server printed it is bound to.
fn bound_ports(stdout: &str) -> Vec<u16> {
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("bound "))
        .unwrap_or_else(|| panic!("no `bound` line in {stdout:?}"));
    line.split_whitespace()
        .map(|port| port.parse().unwrap())
        .collect()
}

/// Issue 7's minimal input: an app that accepts one connection. `run` must not connect to
/// it (a readiness probe would be served instead of the user's client), and with `--port N`
/// honoured it has nothing to add to the app's own output.
#[test]
fn an_app_that_accepts_once_serves_the_users_client_not_run() {
    let (sandbox, _, module) = sandbox_with_module();
    let port = free_port();
    let mut command = run_wasm(&sandbox, &module);
    command
        .env(
            "FAKE_WASMEDGE_THEN",
            python_server(&sandbox, &[&format!("127.0.0.1:{port}")], 1, 0.0),
        )
        .args(["--port", &port.to_string()]);
    let mut cli = RunningApp::spawn(command);
    cli.wait_for_stdout("bound", Duration::from_secs(30));
    // A user connects a moment after the app is up: time enough for any probe to get there first.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        send_and_read_back(&format!("127.0.0.1:{port}"), "hello"),
        "olleh"
    );
    let code = cli.wait_exit(Duration::from_secs(30));
    let stderr = cli.stderr();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        !stderr.contains("Listening") && !stderr.contains("warning"),
        "nothing to add when the app listens on --port:\n{stderr}"
    );
}

/// `--port 0`: the OS picks, and run prints the URL it observed in the kernel's table.
#[test]
fn port_0_lets_the_os_pick_and_run_prints_the_observed_url() {
    let (sandbox, fake, module) = sandbox_with_module();
    let mut command = run_wasm(&sandbox, &module);
    command
        .env(
            "FAKE_WASMEDGE_THEN",
            python_server(&sandbox, &["127.0.0.2:0"], 1, 0.0),
        )
        .args(["--port", "0"]);
    let mut cli = RunningApp::spawn(command);
    cli.wait_for_stderr("Listening", Duration::from_secs(30));
    let address = listening_address(&cli.stderr()).unwrap();
    cli.wait_for_stdout("bound", Duration::from_secs(30));
    let picked = bound_ports(&cli.stdout())[0];
    assert_eq!(address, format!("127.0.0.2:{picked}"));
    assert_eq!(send_and_read_back(&address, "hello"), "olleh");
    assert_eq!(
        cli.wait_exit(Duration::from_secs(30)),
        Some(0),
        "{}",
        cli.stderr()
    );
    let run = fake.work_invocations().pop().unwrap();
    assert!(
        run.windows(2).any(|pair| pair == ["--env", "PORT=0"]),
        "{run:?}"
    );
}

/// `-v` prints every listener the app opens; `--port N` honoured, so no warning.
#[test]
fn verbose_prints_every_observed_listener() {
    let (sandbox, _, module) = sandbox_with_module();
    let port = free_port();
    let mut command = run_wasm(&sandbox, &module);
    command.arg("-v").args(["--port", &port.to_string()]).env(
        "FAKE_WASMEDGE_THEN",
        python_server(
            &sandbox,
            &[&format!("127.0.0.1:{port}"), "127.0.0.2:0"],
            0,
            1.5,
        ),
    );
    let mut cli = RunningApp::spawn(command);
    let code = cli.wait_exit(Duration::from_secs(30));
    let stderr = cli.stderr();
    assert_eq!(code, Some(0), "{stderr}");
    let other = bound_ports(&cli.stdout())[1];
    for url in [
        format!("Listening http://127.0.0.1:{port}/"),
        format!("Listening http://127.0.0.2:{other}/"),
    ] {
        assert!(stderr.contains(&url), "no {url:?} in:\n{stderr}");
    }
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// `--port N` is a claim; an app that listens elsewhere gets a warning naming both.
#[test]
fn an_app_listening_elsewhere_than_port_is_warned_about() {
    let (sandbox, _, module) = sandbox_with_module();
    let port = free_port();
    let mut command = run_wasm(&sandbox, &module);
    command.args(["--port", &port.to_string()]).env(
        "FAKE_WASMEDGE_THEN",
        python_server(&sandbox, &["127.0.0.2:0"], 1, 0.0),
    );
    let mut cli = RunningApp::spawn(command);
    cli.wait_for_stderr("warning", Duration::from_secs(30));
    let other = bound_ports(&cli.stdout())[0];
    let stderr = cli.stderr();
    assert!(
        stderr.contains(&format!(
            "warning: `--port {port}` was given, but the app listens on http://127.0.0.2:{other}/ and not on port {port}"
        )),
        "{stderr}"
    );
    assert_eq!(
        send_and_read_back(&format!("127.0.0.2:{other}"), "hello"),
        "olleh"
    );
    assert_eq!(cli.wait_exit(Duration::from_secs(30)), Some(0));
}

/// `PORT` from `--env` or `--env-file` is the app's data (a client's PORT may name the
/// busy server it talks to): passed through, not checked, noted under `-v`.
#[test]
fn port_from_env_or_env_file_passes_through_even_when_busy() {
    let (sandbox, fake, module) = sandbox_with_module();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let env_file = sandbox.work().join("client.env");
    fs::write(&env_file, format!("PORT={port}\n")).unwrap();
    let from_env = run_wasm(&sandbox, &module)
        .arg("-v")
        .args(["--env", &format!("PORT={port}")])
        .output()
        .unwrap();
    let stderr = stderr_of(&from_env);
    assert!(from_env.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("PORT={port} is passed to the app as given")),
        "{stderr}"
    );
    let from_file = run_wasm(&sandbox, &module)
        .arg("--env-file")
        .arg(&env_file)
        .output()
        .unwrap();
    assert!(from_file.status.success(), "{}", stderr_of(&from_file));
    let runs = fake.work_invocations();
    assert_eq!(runs.len(), 2);
    for run in runs {
        assert!(
            run.windows(2)
                .any(|pair| pair == ["--env".to_owned(), format!("PORT={port}")]),
            "{run:?}"
        );
    }
}

/// Env file values are literal: no `$` expansion (which lost `$word123` and leaked the
/// host's HOME), quotes removed, comments and `export` as documented.
#[test]
fn env_file_values_arrive_literally() {
    let (sandbox, fake, module) = sandbox_with_module();
    let env_file = sandbox.work().join("app.env");
    fs::write(
        &env_file,
        "# secrets\nPASSWORD=pa$word123\nexport X=\"k$HOME\"\n\nY='${HOME}'\nHASH=a#b\n",
    )
    .unwrap();
    let output = run_wasm(&sandbox, &module)
        .arg("--env-file")
        .arg(&env_file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let mut expected = Vec::new();
    for pair in ["PASSWORD=pa$word123", "X=k$HOME", "Y=${HOME}", "HASH=a#b"] {
        expected.extend(strings(&["--env", pair]));
    }
    expected.push(module.display().to_string());
    assert_eq!(fake.work_invocations(), vec![expected]);
}

#[test]
fn a_bad_env_file_is_refused_naming_its_line() {
    let (sandbox, fake, module) = sandbox_with_module();
    fs::write(sandbox.work().join("bad.env"), "A=1\n# fine\nnot a pair\n").unwrap();
    let module_arg = module.display().to_string();
    assert_refused_writing_nothing(
        &sandbox,
        &sandbox.work(),
        &["run", "--wasm", &module_arg, "--env-file", "bad.env"],
        &[
            "error: could not parse the env file `bad.env`: line 3: expected KEY=VALUE, found `not a pair`",
            "help: each line is KEY=VALUE",
        ],
    );
    assert!(fake.work_invocations().is_empty());
}

/// `nohup cargo wasock run`: a SIGHUP inherited as ignored stays ignored by run and by the
/// app (the terminal's hangup reaches both), and SIGTERM still stops the app.
#[test]
fn sighup_inherited_as_ignored_stays_ignored() {
    let (sandbox, _, module) = sandbox_with_module();
    let ready = sandbox.root.path().join("ready");
    let app = format!(
        "trap 'exit 42' TERM; echo $$ > {ready}.tmp; mv {ready}.tmp {ready}; while :; do sleep 0.05; done",
        ready = ready.display()
    );
    let mut command = run_wasm(&sandbox, &module);
    command.env("FAKE_WASMEDGE_THEN", app);
    ignore_in_child(&mut command, libc::SIGHUP);
    let mut cli = RunningApp::spawn(command);
    cli.wait_until("the app to start", Duration::from_secs(20), || {
        ready.exists()
    });
    let app_pid: libc::pid_t = fs::read_to_string(&ready).unwrap().trim().parse().unwrap();
    cli.signal(libc::SIGHUP);
    // SAFETY: kill(2) on the stand-in's pid, alive until run's child is reaped.
    assert_eq!(unsafe { libc::kill(app_pid, libc::SIGHUP) }, 0);
    std::thread::sleep(Duration::from_millis(500));
    assert!(cli.is_running(), "SIGHUP ended run:\n{}", cli.stderr());
    cli.signal(libc::SIGTERM);
    assert_eq!(
        cli.wait_exit(Duration::from_secs(20)),
        Some(42),
        "{}",
        cli.stderr()
    );
}

#[test]
fn a_port_in_use_is_refused_before_launch() {
    let (sandbox, fake, module) = sandbox_with_module();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let module_arg = module.display().to_string();
    assert_refused_writing_nothing(
        &sandbox,
        &sandbox.work(),
        &["run", "--wasm", &module_arg, "--port", &port],
        &[
            &format!("error: port {port} is already in use"),
            &format!("help: stop whatever listens on port {port}"),
        ],
    );
    assert!(
        fake.work_invocations().is_empty(),
        "the app was launched anyway"
    );
}

#[test]
fn malformed_env_flags_are_refused() {
    let (sandbox, fake, project) = sandbox_with_project("0.17.1", "bad-env", "");
    for (flag, message) in [
        ("=value", "the variable name is empty"),
        ("MY VAR=1", "contains whitespace"),
    ] {
        let output = assert_refused_writing_nothing(
            &sandbox,
            &project,
            &["run", "--env", flag],
            &["invalid value", "--env", message],
        );
        assert_eq!(output.status.code(), Some(2));
    }
    assert_refused_writing_nothing(
        &sandbox,
        &project,
        &["run", "--env", "WASOCK_TEST_SURELY_UNSET"],
        &["`--env WASOCK_TEST_SURELY_UNSET` copies the host's WASOCK_TEST_SURELY_UNSET, which is not set", "help: set"],
    );
    assert!(fake.work_invocations().is_empty());
}

#[test]
fn missing_wasmedge_with_runtime_wasmedge_is_refused() {
    let sandbox = Sandbox::new();
    let module = prebuilt_module(&sandbox);
    let module_arg = module.display().to_string();
    assert_refused_writing_nothing(
        &sandbox,
        &sandbox.work(),
        &["run", "--runtime", "wasmedge", "--wasm", &module_arg],
        &["`--runtime wasmedge` was requested but wasmedge was not found on PATH, $WASMEDGE_DIR/bin and ~/.wasmedge/bin", "help: install WasmEdge"],
    );
}

#[test]
fn bad_launch_inputs_are_refused() {
    let (sandbox, fake, module) = sandbox_with_module();
    let module_arg = module.display().to_string();
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["run", "--wasm", "missing.wasm"],
            &["the module `missing.wasm` does not exist"],
        ),
        (
            &["run", "--wasm", &module_arg, "--dir", "/data:nowhere"],
            &["of `--dir /data:", "does not exist", "help: create it"],
        ),
        (
            &["run", "--wasm", &module_arg, "--dir", "/data"],
            &["invalid directory mapping `/data`"],
        ),
        (
            &["run", "--wasm", &module_arg, "--env-file", "absent.env"],
            &["could not read the env file `absent.env`", "help:"],
        ),
    ];
    for (args, expected) in cases {
        assert_refused_writing_nothing(&sandbox, &sandbox.work(), args, expected);
    }
    assert!(fake.work_invocations().is_empty());
}

#[test]
fn verbose_shows_the_wasmedge_command_line() {
    let (sandbox, _, module) = sandbox_with_module();
    let output = sandbox
        .cmd()
        .args(["-v", "run", "--env", "A=1", "--wasm"])
        .arg(&module)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    let expected = format!(
        "running `{} --env A=1 {}`",
        sandbox.bin().join("wasmedge").display(),
        module.display()
    );
    assert!(
        stderr.contains(&expected),
        "expected {expected:?} in:\n{stderr}"
    );
}

/// Ctrl-C at a terminal reaches the app once (the terminal signals the whole foreground
/// group, so `run` must not forward a second copy), and `run` returns the app's code.
#[test]
fn ctrl_c_at_a_terminal_reaches_the_app_exactly_once() {
    use std::io::Write as _;

    let (sandbox, _, module) = sandbox_with_module();
    let marker = sandbox.root.path().join("interrupts");
    let ready = sandbox.root.path().join("ready");
    let app = format!(
        "trap 'echo int >> {marker}' INT; touch {ready}; i=0; while [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; exit 5",
        marker = marker.display(),
        ready = ready.display()
    );
    // `script` gives the CLI a pseudo-terminal; bytes written to its stdin are typed there.
    let cli = format!(
        "exec {} run --wasm {}",
        cli_path().display(),
        module.display()
    );
    let mut script = sandbox.on_terminal(&sandbox.work(), &cli);
    script.env("FAKE_WASMEDGE_THEN", &app).stdin(Stdio::piped());
    let mut child = RunningApp::spawn(script);
    child.wait_until("the app to start", Duration::from_secs(20), || {
        ready.exists()
    });
    child.stdin().write_all(b"\x03").unwrap();
    let code = child.wait_exit(Duration::from_secs(20));
    assert_eq!(code, Some(5));
    assert_eq!(
        fs::read_to_string(&marker).unwrap_or_default(),
        "int\n",
        "the app did not get exactly one SIGINT"
    );
}

#[cfg(not(feature = "embedded"))]
#[test]
fn without_the_engine_embedded_and_engine_aot_are_refused() {
    let sandbox = Sandbox::new();
    let module = prebuilt_module(&sandbox);
    let module_arg = module.display().to_string();
    let work = sandbox.work();
    assert_refused_writing_nothing(
        &sandbox,
        &work,
        &["run", "--runtime", "embedded", "--wasm", &module_arg],
        &[
            "this cargo-wasock was built without the embedded engine",
            "help: install WasmEdge",
        ],
    );
    assert_refused_writing_nothing(
        &sandbox,
        &work,
        &["run", "--wasm", &module_arg],
        &["wasmedge was not found on PATH", "has no embedded engine"],
    );
    let project = minimal_project(&work, "aot-nowhere", HELLO, "");
    assert_refused_writing_nothing(
        &sandbox,
        &project,
        &["build", "--aot"],
        &[
            "`--aot` needs WasmEdge, which was not found",
            "help: install WasmEdge",
        ],
    );
}
