//! `run` on WasmEdge (a recording stand-in): exact command lines, env sources, ports, exit
//! codes, signals, and refusals.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const HELLO: &str = "fn main() { println!(\"hello\"); }\n";

/// A module file for `--wasm` runs: the stand-in never reads it.
fn prebuilt_module(sandbox: &Sandbox) -> PathBuf {
    let path = sandbox.work().join("prebuilt.wasm");
    fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    path
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[test]
fn run_passes_dirs_env_run_mode_and_args_in_order_on_wasmedge_0_17() {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let project = minimal_project(
        &sandbox.work(),
        "run-cmdline",
        HELLO,
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
    let output = sandbox
        .cmd()
        .current_dir(&project)
        .env("HOSTVAR", "from-host")
        .args([
            "run",
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
        .args(["--port", &port.to_string(), "--target-dir"])
        .arg(shared_target_dir())
        .args(["--", "--flag", "two words"])
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
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.16.1");
    let project = minimal_project(&sandbox.work(), "run-old-wasmedge", HELLO, "");
    let _lock = build_lock();
    let output = sandbox
        .cmd()
        .current_dir(&project)
        .args(["run", "--aot", "--target-dir"])
        .arg(shared_target_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let run = fake.work_invocations().pop().unwrap();
    assert_eq!(run.len(), 1, "only the module is expected: {run:?}");
    assert!(run[0].ends_with("run-old-wasmedge.aot.wasm"), "{run:?}");
}

#[test]
fn run_without_aot_passes_the_plain_module_and_no_run_mode() {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let module = prebuilt_module(&sandbox);
    let output = sandbox
        .cmd()
        .args(["run", "--wasm"])
        .arg(&module)
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
    let sandbox = Sandbox::new();
    sandbox.fake_wasmedge("0.17.1");
    let module = prebuilt_module(&sandbox);
    let exited = sandbox
        .cmd()
        .env("FAKE_WASMEDGE_EXIT", "7")
        .args(["run", "--wasm"])
        .arg(&module)
        .output()
        .unwrap();
    assert_eq!(exited.status.code(), Some(7), "{}", stderr_of(&exited));
    let killed = sandbox
        .cmd()
        .env("FAKE_WASMEDGE_THEN", "kill -TERM $$")
        .args(["run", "--wasm"])
        .arg(&module)
        .output()
        .unwrap();
    assert_eq!(
        killed.status.code(),
        Some(128 + 15),
        "{}",
        stderr_of(&killed)
    );
}

/// Kills the child on drop so a failed test leaves nothing running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_cli(
    sandbox: &Sandbox,
    envs: &[(&str, String)],
    args: &[&str],
    module: &Path,
) -> KillOnDrop {
    let mut command = sandbox.std_cmd();
    command
        .args(["run", "--wasm"])
        .arg(module)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    KillOnDrop(command.spawn().unwrap())
}

fn wait_exit(child: &mut KillOnDrop, timeout: Duration) -> (Option<i32>, String) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return (status.code(), stderr);
        }
        assert!(started.elapsed() < timeout, "run did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_reaches_the_app_and_its_code_is_returned() {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let module = prebuilt_module(&sandbox);
    let marker = sandbox.root.path().join("got-term");
    let app = format!(
        "trap 'touch {}; exit 42' TERM; touch {0}.ready; while :; do sleep 0.05; done",
        marker.display()
    );
    let mut cli = spawn_cli(&sandbox, &[("FAKE_WASMEDGE_THEN", app)], &[], &module);
    let ready = marker.with_file_name("got-term.ready");
    wait_for("the app to start", Duration::from_secs(20), || {
        ready.exists()
    });
    let signalled = std::process::Command::new("kill")
        .args(["-TERM", &cli.0.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let (code, stderr) = wait_exit(&mut cli, Duration::from_secs(20));
    assert_eq!(code, Some(42), "{stderr}");
    assert!(marker.exists(), "the app never saw SIGTERM");
    assert_eq!(fake.work_invocations().len(), 1);
}

#[test]
fn run_waits_for_the_port_and_prints_the_url() {
    let sandbox = Sandbox::new();
    sandbox.fake_wasmedge("0.17.1");
    let module = prebuilt_module(&sandbox);
    let port = free_port();
    // The stand-in plays a server: listen on the port, give run time to see it, then exit.
    let app = format!(
        "exec python3 -c 'import socket, time; s = socket.socket(); s.bind((\"127.0.0.1\", {port})); s.listen(); time.sleep(1.0)'"
    );
    let mut cli = spawn_cli(
        &sandbox,
        &[("FAKE_WASMEDGE_THEN", app)],
        &["--port", &port.to_string()],
        &module,
    );
    let (code, stderr) = wait_exit(&mut cli, Duration::from_secs(30));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("Listening http://127.0.0.1:{port}/")),
        "{stderr}"
    );
}

fn assert_run_refused(
    sandbox: &Sandbox,
    cwd: &Path,
    args: &[&str],
    expected: &[&str],
) -> std::process::Output {
    let before = listing(&sandbox.work());
    let output = sandbox.cmd().current_dir(cwd).args(args).output().unwrap();
    let stderr = stderr_of(&output);
    assert!(!output.status.success(), "{args:?} was accepted:\n{stderr}");
    for text in expected {
        assert!(
            stderr.contains(text),
            "{args:?}: expected {text:?} in:\n{stderr}"
        );
    }
    assert_eq!(listing(&sandbox.work()), before, "{args:?} wrote something");
    output
}

#[test]
fn a_port_in_use_is_refused_before_launch() {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let module = prebuilt_module(&sandbox);
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let module_arg = module.display().to_string();
    assert_run_refused(
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
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let project = minimal_project(&sandbox.work(), "bad-env", HELLO, "");
    for (flag, message) in [
        ("=value", "the variable name is empty"),
        ("MY VAR=1", "contains whitespace"),
    ] {
        let output = assert_run_refused(
            &sandbox,
            &project,
            &["run", "--env", flag],
            &["invalid value", "--env", message],
        );
        assert_eq!(output.status.code(), Some(2));
    }
    assert_run_refused(
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
    assert_run_refused(
        &sandbox,
        &sandbox.work(),
        &["run", "--runtime", "wasmedge", "--wasm", &module_arg],
        &["`--runtime wasmedge` was requested but wasmedge was not found on PATH, $WASMEDGE_DIR/bin and ~/.wasmedge/bin", "help: install WasmEdge"],
    );
}

#[test]
fn bad_launch_inputs_are_refused() {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let module = prebuilt_module(&sandbox);
    let module_arg = module.display().to_string();
    let work = sandbox.work();
    assert_run_refused(
        &sandbox,
        &work,
        &["run", "--wasm", "missing.wasm"],
        &["the module `missing.wasm` does not exist"],
    );
    assert_run_refused(
        &sandbox,
        &work,
        &["run", "--wasm", &module_arg, "--dir", "/data:nowhere"],
        &["of `--dir /data:", "does not exist", "help: create it"],
    );
    assert_run_refused(
        &sandbox,
        &work,
        &["run", "--wasm", &module_arg, "--dir", "/data"],
        &["invalid directory mapping `/data`"],
    );
    assert_run_refused(
        &sandbox,
        &work,
        &["run", "--wasm", &module_arg, "--env-file", "absent.env"],
        &["could not read the env file `absent.env`", "help:"],
    );
    assert!(fake.work_invocations().is_empty());
}

#[test]
fn verbose_shows_the_wasmedge_command_line() {
    let sandbox = Sandbox::new();
    sandbox.fake_wasmedge("0.17.1");
    let module = prebuilt_module(&sandbox);
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

    let sandbox = Sandbox::new();
    sandbox.fake_wasmedge("0.17.1");
    let module = prebuilt_module(&sandbox);
    let marker = sandbox.root.path().join("interrupts");
    let ready = sandbox.root.path().join("ready");
    let app = format!(
        "trap 'echo int >> {marker}' INT; touch {ready}; i=0; while [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; exit 5",
        marker = marker.display(),
        ready = ready.display()
    );
    // `script` gives the CLI a pseudo-terminal; bytes written to its stdin are typed there.
    let cli = format!("exec {} run --wasm {}", cli_path().display(), module.display());
    let mut script = sandbox.on_terminal(&sandbox.work(), &cli);
    script
        .env("FAKE_WASMEDGE_THEN", &app)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = KillOnDrop(script.spawn().expect("`script` (util-linux) runs"));
    wait_for("the app to start", Duration::from_secs(20), || {
        ready.exists()
    });
    child.0.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let (code, _) = wait_exit(&mut child, Duration::from_secs(20));
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
    assert_run_refused(
        &sandbox,
        &work,
        &["run", "--runtime", "embedded", "--wasm", &module_arg],
        &[
            "this cargo-wasock was built without the embedded engine",
            "help: install WasmEdge",
        ],
    );
    assert_run_refused(
        &sandbox,
        &work,
        &["run", "--wasm", &module_arg],
        &["wasmedge was not found on PATH", "has no embedded engine"],
    );
    let project = minimal_project(&work, "aot-nowhere", HELLO, "");
    assert_run_refused(
        &sandbox,
        &project,
        &["build", "--aot"],
        &[
            "`--aot` needs WasmEdge, which was not found",
            "help: install WasmEdge",
        ],
    );
}
