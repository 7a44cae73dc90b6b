//! Shared test fixtures: a sandbox per test (its own HOME, a bin folder of stand-in tools
//! first on PATH), a recording stand-in `wasmedge`, small cargo projects, and one cargo
//! target directory that every project build shares so dependencies compile once.

use std::fs;
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// The path of the binary under test.
pub fn cli_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("cargo-wasock")
}

/// One target directory for all project builds in this test run.
pub fn shared_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasock-apps")
}

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Builds share a target directory; take turns so one test does not time out waiting on
/// cargo's lock while another compiles, and so AOT outputs of a test are not raced.
pub fn build_lock() -> MutexGuard<'static, ()> {
    BUILD_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn real_home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
}

/// A temporary world for one test.
pub struct Sandbox {
    pub root: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("create a temp dir");
        for dir in ["home", "bin", "work"] {
            fs::create_dir_all(root.path().join(dir)).expect("create sandbox folder");
        }
        Sandbox { root }
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// Stand-in tools put here come first on PATH.
    pub fn bin(&self) -> PathBuf {
        self.root.path().join("bin")
    }

    /// Where the test's projects and files live.
    pub fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// The compile cache of `cargo-wasock` run in this sandbox (below its HOME).
    pub fn cache_dir(&self) -> PathBuf {
        self.home().join(".cache/cargo-wasock")
    }

    /// The files in the cache folder `sub` (`engine`, `wasmedge`) whose names end in `suffix`.
    pub fn cached(&self, sub: &str, suffix: &str) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = fs::read_dir(self.cache_dir().join(sub))
            .map(|listing| {
                listing
                    .flatten()
                    .map(|entry| entry.path())
                    .filter(|path| path.to_string_lossy().ends_with(suffix))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }

    /// `cargo-wasock` with the sandbox's PATH and HOME (cargo and rustup keep their real
    /// homes), WasmEdge discoverable only through the sandbox, and `work/` as cwd.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The same as [`Sandbox::cmd`], for tests that spawn and signal the process.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut command = std::process::Command::new(cli_path());
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut entries = vec![self.bin()];
        entries.extend(std::env::split_paths(&path).filter(|dir| !dir.join("wasmedge").exists()));
        command
            .current_dir(self.work())
            .env("PATH", std::env::join_paths(entries).expect("valid PATH"))
            .env("HOME", self.home())
            .env(
                "CARGO_HOME",
                std::env::var_os("CARGO_HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| real_home().join(".cargo")),
            )
            .env(
                "RUSTUP_HOME",
                std::env::var_os("RUSTUP_HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| real_home().join(".rustup")),
            )
            .env_remove("WASMEDGE_DIR")
            // Caches go below the sandbox's HOME.
            .env_remove("XDG_CACHE_HOME")
            .env_remove("CARGO_WASOCK_CACHE_DIR")
            .env_remove("RUSTC")
            .env_remove("CARGO_TARGET_DIR")
            .env("NO_COLOR", "1");
        command
    }

    /// `script` running `line` (a shell command line; start it with `exec` so the shell leaves
    /// the terminal to the command) on a pseudo-terminal, in `cwd`, with
    /// this sandbox's environment; bytes written to its stdin are typed at that terminal.
    pub fn on_terminal(&self, cwd: &Path, line: &str) -> std::process::Command {
        let sandboxed = self.std_cmd();
        let mut script = std::process::Command::new("script");
        script.args(["-qfec", line, "/dev/null"]).current_dir(cwd);
        // `script` runs the line with $SHELL; pin it so the process tree is the same everywhere.
        script.env("SHELL", "/bin/sh");
        for (key, value) in sandboxed.get_envs() {
            match value {
                Some(value) => script.env(key, value),
                None => script.env_remove(key),
            };
        }
        script
    }

    /// Install the recording stand-in `wasmedge` (reporting `version`) into `dir`.
    pub fn fake_wasmedge_in(&self, dir: &Path, version: &str) -> FakeWasmEdge {
        fs::create_dir_all(dir).expect("create fake wasmedge dir");
        let log = self.root.path().join("wasmedge.log");
        let script = format!(
            r#"#!/bin/sh
# Stand-in for WasmEdge: records every invocation (arguments separated by 0x1f, one
# invocation per line), answers --version, and "compiles" by copying plus a marker. The
# line is written with one append, so invocations running at once never interleave.
line="$(printf '%s\037' "$@")"
printf '%s\n' "$line" >> '{log}'
if [ "$1" = "--version" ]; then echo "wasmedge version {version}"; exit 0; fi
if [ "$1" = "compile" ]; then cat "$2" > "$3" && printf 'aot-by-{version}' >> "$3"; exit $?; fi
if [ -n "$FAKE_WASMEDGE_THEN" ]; then eval "$FAKE_WASMEDGE_THEN"; fi
exit "${{FAKE_WASMEDGE_EXIT:-0}}"
"#,
            log = log.display()
        );
        let path = dir.join("wasmedge");
        fs::write(&path, script).expect("write fake wasmedge");
        make_executable(&path);
        FakeWasmEdge { log, path }
    }

    /// The stand-in `wasmedge` on the sandbox's PATH.
    pub fn fake_wasmedge(&self, version: &str) -> FakeWasmEdge {
        self.fake_wasmedge_in(&self.bin(), version)
    }
}

pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod +x");
}

pub struct FakeWasmEdge {
    pub log: PathBuf,
    pub path: PathBuf,
}

impl FakeWasmEdge {
    /// Every recorded invocation's arguments, oldest first.
    pub fn invocations(&self) -> Vec<Vec<String>> {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|line| {
                line.split('\x1f')
                    .filter(|arg| !arg.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    }

    /// Invocations other than `--version`.
    pub fn work_invocations(&self) -> Vec<Vec<String>> {
        self.invocations()
            .into_iter()
            .filter(|args| args.first().map(String::as_str) != Some("--version"))
            .collect()
    }

    pub fn version_queries(&self) -> usize {
        self.invocations()
            .iter()
            .filter(|args| args.first().map(String::as_str) == Some("--version"))
            .count()
    }

    pub fn clear(&self) {
        let _ = fs::remove_file(&self.log);
    }
}

/// A dependency-free app package (quick to build); `extra` is appended to its manifest.
pub fn minimal_project(dir: &Path, name: &str, main_rs: &str, extra_manifest: &str) -> PathBuf {
    let project = dir.join(name);
    fs::create_dir_all(project.join("src")).expect("create project");
    fs::write(
        project.join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n{extra_manifest}"),
    )
    .expect("write Cargo.toml");
    fs::write(project.join("src/main.rs"), main_rs).expect("write main.rs");
    project
}

/// Every path below `dir`, relative and sorted, to prove a refusal wrote nothing.
pub fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    fn walk(base: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            found.push(path.strip_prefix(base).expect("below base").to_path_buf());
            if path.is_dir() {
                walk(base, &path, found);
            }
        }
    }
    walk(dir, dir, &mut found);
    found.sort();
    found
}

/// Run `args` in `cwd` and assert it is refused: a failure, each of `expected` in its stderr,
/// and nothing written below the sandbox's `work/`. The output, for further checks.
pub fn assert_refused_writing_nothing(
    sandbox: &Sandbox,
    cwd: &Path,
    args: &[&str],
    expected: &[&str],
) -> Output {
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

/// True when the file starts with the wasm magic number.
pub fn is_wasm_module(path: &Path) -> bool {
    fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"\0asm"))
}

pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The path printed on a `Built <path> (<size>)` status line.
pub fn printed_path(stderr: &str, verb: &str) -> PathBuf {
    let line = stderr
        .lines()
        .find(|line| line.trim_start().starts_with(&format!("{verb} ")))
        .unwrap_or_else(|| panic!("no `{verb}` line in:\n{stderr}"));
    let rest = line.trim_start()[verb.len()..].trim();
    let path = rest.rsplit_once(" (").map_or(rest, |(path, _)| path);
    PathBuf::from(path)
}

/// Start `command` with SIGINT ignored, as a non-interactive shell starts its background
/// jobs (`cargo wasock run &` in a script): `run` must still stop on SIGINT.
pub fn ignore_sigint_in_child(command: &mut std::process::Command) {
    ignore_in_child(command, libc::SIGINT);
}

/// Start `command` with `signal` ignored (as `nohup` ignores SIGHUP).
pub fn ignore_in_child(command: &mut std::process::Command, signal: libc::c_int) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: signal(2) only changes a disposition in the forked child before exec.
    unsafe {
        command.pre_exec(move || {
            libc::signal(signal, libc::SIG_IGN);
            Ok(())
        });
    }
}

/// The app side of issue 7's minimal input: connect to `address`, send `text`, close the
/// sending side and read the answer to its end.
pub fn send_and_read_back(address: &str, text: &str) -> String {
    use std::io::Write as _;
    let mut stream = std::net::TcpStream::connect(address)
        .unwrap_or_else(|error| panic!("connect to {address}: {error}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    stream.write_all(text.as_bytes()).expect("send");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("shut down the sending side");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    answer
}

/// `HOST:PORT` of the first `Listening http://HOST:PORT/` status line in `stderr`.
pub fn listening_address(stderr: &str) -> Option<String> {
    stderr.lines().find_map(|line| {
        let url = line.trim_start().strip_prefix("Listening http://")?;
        Some(url.trim_end().trim_end_matches('/').to_owned())
    })
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("local addr")
        .port()
}

/// One output pipe of a [`RunningApp`], read to its end by a background thread.
struct Collected {
    text: Arc<Mutex<String>>,
    reader: JoinHandle<()>,
}

impl Collected {
    fn start(mut pipe: impl Read + Send + 'static) -> Self {
        let text = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&text);
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(read) = pipe.read(&mut chunk) {
                if read == 0 {
                    break;
                }
                sink.lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push_str(&String::from_utf8_lossy(&chunk[..read]));
            }
        });
        Collected { text, reader }
    }

    fn text(&self) -> String {
        self.text
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The pipe has reached its end: all the child (and its children) wrote is in `text`.
    fn closed(&self) -> bool {
        self.reader.is_finished()
    }
}

/// A spawned child (a `cargo wasock` run, or `script` running one) whose stdout and stderr
/// are collected in the background and which is killed on drop, so a failing test leaves
/// nothing behind.
pub struct RunningApp {
    child: Child,
    stdout: Collected,
    stderr: Collected,
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RunningApp {
    /// Spawn `command` with stdout and stderr piped; stdin stays as `command` sets it.
    pub fn spawn(mut command: std::process::Command) -> Self {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn the child under test");
        let stdout = Collected::start(child.stdout.take().expect("stdout piped"));
        let stderr = Collected::start(child.stderr.take().expect("stderr piped"));
        RunningApp {
            child,
            stdout,
            stderr,
        }
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Wait until stdout contains `needle` (failing if the child exits first).
    pub fn wait_for_stdout(&mut self, needle: &str, timeout: Duration) {
        let text = Arc::clone(&self.stdout.text);
        self.wait_until(&format!("{needle:?} on stdout"), timeout, || {
            text.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .contains(needle)
        });
    }

    /// Wait until stdout contains `needle` `count` times (failing if the child exits first).
    pub fn wait_for_stdout_count(&mut self, needle: &str, count: usize, timeout: Duration) {
        let text = Arc::clone(&self.stdout.text);
        self.wait_until(&format!("{count} × {needle:?} on stdout"), timeout, || {
            text.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .matches(needle)
                .count()
                >= count
        });
    }

    /// Wait until stderr contains `needle` (failing if the child exits first).
    pub fn wait_for_stderr(&mut self, needle: &str, timeout: Duration) {
        let text = Arc::clone(&self.stderr.text);
        self.wait_until(&format!("{needle:?} on stderr"), timeout, || {
            text.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .contains(needle)
        });
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the child is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// The child's stdin; the command must have been given `Stdio::piped()` for it.
    pub fn stdin(&mut self) -> &mut ChildStdin {
        self.child.stdin.as_mut().expect("stdin piped")
    }

    /// Send `signal` to the child with kill(2).
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: plain kill(2) on our own child's pid.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(sent, 0, "could not send signal {signal}");
    }

    /// Poll `done` until it holds, failing after `timeout` or as soon as the child exits
    /// without it holding.
    pub fn wait_until(&mut self, what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
        let started = Instant::now();
        while !done() {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // It may have come true just before the exit.
                assert!(
                    done(),
                    "the app exited with {status} before {what}:\n{}",
                    self.stderr()
                );
                return;
            }
            assert!(
                started.elapsed() < timeout,
                "timed out waiting for {what}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for the child to end and for its output pipes to close, so the collected output
    /// is complete; its exit code (None when killed by a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                started.elapsed() < timeout,
                "run did not exit:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let exited = Instant::now();
        while !(self.stdout.closed() && self.stderr.closed()) {
            assert!(
                exited.elapsed() < timeout,
                "the output stayed open after the exit:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        status.code()
    }
}

/// What only the embedded engine's tests use (their module needs the feature too).
#[cfg(feature = "embedded")]
impl RunningApp {
    /// Ctrl-C as a signal to the child alone.
    pub fn interrupt(&self) {
        self.signal(libc::SIGINT);
    }

    /// Wait until `port` on loopback accepts connections.
    pub fn wait_for_port(&mut self, port: u16, timeout: Duration) {
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        self.wait_until(&format!("port {port} to open"), timeout, || {
            std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
        });
    }
}

/// The `--message-format json` messages in `stdout`: every line starting with `{"reason":`
/// parsed (a line that does not parse fails the test); other lines are the app's own.
pub fn json_messages(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|line| line.starts_with("{\"reason\":"))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

/// The messages of `reason` among `messages`.
pub fn with_reason<'a>(
    messages: &'a [serde_json::Value],
    reason: &str,
) -> Vec<&'a serde_json::Value> {
    messages
        .iter()
        .filter(|message| message["reason"] == reason)
        .collect()
}

/// A connection to the app on 127.0.0.1:`port`; reads fail after `read_timeout` instead of
/// hanging the test.
pub fn connect(port: u16, read_timeout: Duration) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the app");
    stream
        .set_read_timeout(Some(read_timeout))
        .expect("read timeout");
    stream
}

/// The real WasmEdge's install folder (with `bin/wasmedge`), for the tests that run an app on
/// both runtimes: `$WASMEDGE_DIR` when it holds one, else `../shared/wasmedge` beside the
/// repository (CI keeps a copy of `shared/` there). None on a machine without it, such as a
/// user's: those tests then run on the engine alone, as they do with
/// `WASOCK_TEST_WITHOUT_WASMEDGE` set (to see that path, or what WasmEdge adds in time).
pub fn real_wasmedge_dir() -> Option<PathBuf> {
    if std::env::var_os("WASOCK_TEST_WITHOUT_WASMEDGE").is_some() {
        return None;
    }
    let from_env = std::env::var_os("WASMEDGE_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from);
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/wasmedge");
    from_env
        .into_iter()
        .chain([beside])
        .find(|dir| dir.join("bin/wasmedge").is_file())
        .map(|dir| dir.canonicalize().unwrap_or(dir))
}

/// One of the two runtimes an app can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// The embedded engine (`--runtime embedded`).
    Engine,
    /// The real WasmEdge found by [`real_wasmedge_dir`] (`--runtime wasmedge`).
    WasmEdge,
}

impl Runtime {
    /// The value of `--runtime`.
    pub fn flag(self) -> &'static str {
        match self {
            Runtime::Engine => "embedded",
            Runtime::WasmEdge => "wasmedge",
        }
    }
}

impl std::fmt::Display for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Runtime::Engine => "the engine",
            Runtime::WasmEdge => "WasmEdge",
        })
    }
}

/// The runtimes `test` runs its app on: the engine, then WasmEdge where it is installed.
/// Without WasmEdge a note says its half was skipped: its absence is never a failure. Each
/// runtime is named on stderr as its turn comes, so a failure's output says which one failed.
pub fn runtimes(test: &str) -> impl Iterator<Item = Runtime> {
    let found = if real_wasmedge_for(test).is_some() {
        vec![Runtime::Engine, Runtime::WasmEdge]
    } else {
        vec![Runtime::Engine]
    };
    let test = test.to_owned();
    found
        .into_iter()
        .inspect(move |runtime| eprintln!("{test}: on {runtime}"))
}

/// For a test of WasmEdge alone: the real WasmEdge's folder, or None after a note that the
/// test (its WasmEdge half: the engine's side is tested elsewhere) was skipped.
pub fn real_wasmedge_for(test: &str) -> Option<PathBuf> {
    static NOTED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let found = real_wasmedge_dir();
    let mut noted = NOTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if found.is_none() && !noted.iter().any(|name| name == test) {
        noted.push(test.to_owned());
        // Past libtest's capture (which takes only the print macros), so a passing run
        // says it too; once per test.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "note: WasmEdge not found; the WasmEdge half of {test} was skipped"
        );
    }
    found
}

/// Run `check` once per runtime of [`runtimes`] and require the same answer from each
/// (what a client saw, an exit code, output); the engine's answer, for further checks.
/// A difference fails with both answers.
pub fn same_on_each<T: PartialEq + std::fmt::Debug>(
    test: &str,
    mut check: impl FnMut(Runtime) -> T,
) -> T {
    let mut answers: Vec<(Runtime, T)> = runtimes(test)
        .into_iter()
        .map(|runtime| (runtime, check(runtime)))
        .collect();
    let (first_runtime, first) = answers.remove(0);
    for (runtime, answer) in &answers {
        assert_eq!(
            &first, answer,
            "{test}: {first_runtime} (left) and {runtime} (right) differ"
        );
    }
    first
}

/// What a run to its end gave: its exit code (None: killed by a signal) and its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn of(output: &Output) -> Ran {
        Ran {
            code: output.status.code(),
            stdout: stdout_of(output),
            stderr: stderr_of(output),
        }
    }
}

impl Sandbox {
    /// [`Sandbox::std_cmd`] for a command that runs the app on `runtime`: for WasmEdge,
    /// the real one is found through `WASMEDGE_DIR` (the stand-in tests stay without it).
    /// The caller adds `--runtime` (`runtime.flag()`) after the subcommand.
    pub fn std_cmd_on(&self, runtime: Runtime) -> std::process::Command {
        let mut command = self.std_cmd();
        if runtime == Runtime::WasmEdge {
            let dir = real_wasmedge_dir().expect("WasmEdge is installed for its half");
            command.env("WASMEDGE_DIR", dir);
        }
        command
    }

    /// `cargo-wasock --quiet run --runtime R --wasm MODULE ARGS...` on `runtime`, run to its
    /// end: with `--quiet`, stderr holds only what the app (or the runtime) wrote.
    pub fn run_module_on(&self, runtime: Runtime, module: &Path, args: &[&str]) -> Ran {
        let output = self
            .std_cmd_on(runtime)
            .args(["--quiet", "run", "--runtime", runtime.flag(), "--wasm"])
            .arg(module)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run cargo-wasock");
        Ran::of(&output)
    }

    /// [`Sandbox::run_module_on`] on each runtime, the exit code, stdout and stderr the
    /// same on each; what the engine's run gave.
    pub fn run_module_on_each(&self, test: &str, module: &Path, args: &[&str]) -> Ran {
        same_on_each(test, |runtime| self.run_module_on(runtime, module, args))
    }
}

/// `new NAME --template TEMPLATE` run in `dir`; the project's path.
pub fn new_project_in(sandbox: &Sandbox, dir: &Path, name: &str, template: &str) -> PathBuf {
    let created = sandbox
        .cmd()
        .current_dir(dir)
        .args(["new", name, "--template", template])
        .output()
        .expect("run new");
    assert!(
        created.status.success(),
        "new --template {template} failed:\n{}",
        stderr_of(&created)
    );
    dir.join(name)
}

/// A generated project and the module `build` made of it.
pub struct BuiltApp {
    pub project: PathBuf,
    pub wasm: PathBuf,
}

/// `new NAME --template TEMPLATE`, then `build --release`, in a fixed folder below the test
/// target dir (re-created each run, so the project is always the current template) into
/// the shared target dir. A test keeps the result in a `OnceLock`, so a module is built
/// once per test run and the same file runs on every runtime.
///
/// Release: the axum module is 21 MB in debug and 0.9 MB in release; the engine compiled
/// them in 9.3 s and 3.5 s, at every start, while building either took about as long
/// (measured on 2 busy cores); WasmEdge's interpreter runs release code much faster too.
pub fn build_template(name: &str, template: &str) -> BuiltApp {
    build_template_with(name, template, &[])
}

/// [`build_template`] with more `build` arguments (`--features tls`).
pub fn build_template_with(name: &str, template: &str, build_args: &[&str]) -> BuiltApp {
    let projects = Path::new(env!("CARGO_TARGET_TMPDIR")).join("template-apps");
    let project = projects.join(name);
    if project.exists() {
        std::fs::remove_dir_all(&project).expect("remove the previous run's project");
    }
    std::fs::create_dir_all(&projects).expect("create the projects folder");
    let sandbox = Sandbox::new();
    new_project_in(&sandbox, &projects, name, template);
    let _build = build_lock();
    let built = sandbox
        .cmd()
        .current_dir(&project)
        .args(["build", "--release", "--target-dir"])
        .arg(shared_target_dir())
        .args(build_args)
        .output()
        .expect("run build");
    let stderr = stderr_of(&built);
    assert!(
        built.status.success(),
        "build of {template} failed:\n{stderr}"
    );
    assert!(
        !stderr.contains("warning"),
        "build of {template} has warnings:\n{stderr}"
    );
    BuiltApp {
        wasm: printed_path(&stderr, "Built"),
        project,
    }
}

/// `command` (a `run`'s `Command`) given `run --release --manifest-path` of the guest crate
/// `tests/guests/NAME`, built once into the shared target directory, then `extra`.
pub fn run_test_guest(
    mut command: std::process::Command,
    name: &str,
    extra: &[&str],
) -> std::process::Command {
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/guests/{name}/Cargo.toml"));
    command
        .args(["run", "--release", "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(shared_target_dir())
        .args(extra);
    command
}
