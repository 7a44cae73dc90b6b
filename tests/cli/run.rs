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
    let exited = run_wasm(&sandbox, &module)
        .env("FAKE_WASMEDGE_EXIT", "7")
        .output()
        .unwrap();
    assert_eq!(exited.status.code(), Some(7), "{}", stderr_of(&exited));
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

#[test]
fn run_waits_for_the_port_and_prints_the_url() {
    let (sandbox, _, module) = sandbox_with_module();
    let port = free_port();
    // The stand-in plays a server: listen on the port, give run time to see it, then exit.
    let app = format!(
        "exec python3 -c 'import socket, time; s = socket.socket(); s.bind((\"127.0.0.1\", {port})); s.listen(); time.sleep(1.0)'"
    );
    let mut command = run_wasm(&sandbox, &module);
    command
        .env("FAKE_WASMEDGE_THEN", app)
        .args(["--port", &port.to_string()]);
    let mut cli = RunningApp::spawn(command);
    let code = cli.wait_exit(Duration::from_secs(30));
    let stderr = cli.stderr();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("Listening http://127.0.0.1:{port}/")),
        "{stderr}"
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
