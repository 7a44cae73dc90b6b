//! The real WasmEdge 0.17.1 beside the engine: the engine's tests run the same built
//! module on both and compare.
//!
//! WasmEdge is found as `$WASMEDGE_DIR/bin/wasmedge`, else `../shared/wasmedge/bin/wasmedge`
//! beside the repository (where the project's machines keep it). A machine without it (a
//! user's) runs only the engine's half of each test: [`run`] prints a `note:` saying which
//! half was skipped and returns `None`, and the test passes on the engine's half.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::super::GuestSpec;
use super::repo_root;

/// Which runtime a guest runs on, as the guests that must tell the two apart are told it:
/// in the variable [`RUNTIME_VARIABLE`]. Only where WasmEdge 0.17.1 is known to differ
/// (ARCHITECTURE.md, "Deliberate differences") does a guest look at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Engine,
    WasmEdge,
}

pub const RUNTIME_VARIABLE: &str = "WASOCK_GUEST_RUNTIME";

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Engine => "engine",
            Runtime::WasmEdge => "wasmedge",
        }
    }
}

/// `spec` with the runtime it is for in its environment.
pub fn told(spec: &GuestSpec, runtime: Runtime) -> GuestSpec {
    let mut spec = spec.clone();
    spec.env
        .push((RUNTIME_VARIABLE.to_owned(), runtime.name().to_owned()));
    spec
}

/// WasmEdge's binary, or where it was looked for.
pub fn wasmedge() -> Result<PathBuf, String> {
    let mut looked = Vec::new();
    if let Some(dir) = std::env::var_os("WASMEDGE_DIR") {
        let path = PathBuf::from(dir).join("bin/wasmedge");
        if path.is_file() {
            return Ok(path);
        }
        looked.push(path);
    }
    let shared = repo_root().join("../shared/wasmedge/bin/wasmedge");
    if shared.is_file() {
        return Ok(shared);
    }
    looked.push(shared);
    Err(looked
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", "))
}

/// How a WasmEdge process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it.
    Signal(i32),
    /// It was still running when its time was up, and was killed.
    StillRunning,
}

/// What a guest did on WasmEdge: how the process ended and what it wrote. WasmEdge's own
/// log (`[error] execution failed: …` after a trap) goes to its stdout, beside the guest's.
pub struct Outcome {
    pub ended: Ended,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// The guest's stdout without WasmEdge's log lines.
    pub fn guest_stdout(&self) -> String {
        self.stdout
            .lines()
            .filter(|line| !is_log_line(line))
            .map(|line| format!("{line}\n"))
            .collect()
    }
}

/// A line of WasmEdge's log (spdlog: `[2026-01-01 00:00:00.000] [error] …`).
fn is_log_line(line: &str) -> bool {
    line.starts_with('[') && (line.contains("] [error] ") || line.contains("] [warning] "))
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WasmEdge: {:?}\n--- WasmEdge stdout ---\n{}--- WasmEdge stderr ---\n{}",
            self.ended, self.stdout, self.stderr
        )
    }
}

/// Limits on one WasmEdge run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long it may run before it is killed ([`Ended::StillRunning`]).
    pub time: Duration,
    /// Its `RLIMIT_DATA`, for a guest that makes WasmEdge allocate without bound.
    pub data_bytes: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time: Duration::from_secs(120),
            data_bytes: None,
        }
    }
}

/// Run `spec` on WasmEdge (`wasmedge [--dir G:H[:readonly]]… [--env K=V]… MODULE ARGS…`,
/// the command line `cargo wasock run` gives it), stdin empty, stdout and stderr captured
/// through pipes. `None`, after a note on stderr, when this machine has no WasmEdge.
pub fn run(spec: &GuestSpec) -> Option<Outcome> {
    run_with(spec, Limits::default())
}

/// [`run`] within `limits`.
pub fn run_with(spec: &GuestSpec, limits: Limits) -> Option<Outcome> {
    let binary = match wasmedge() {
        Ok(binary) => binary,
        Err(looked) => {
            // Once per test (libtest runs each on a thread of its own, named after it).
            thread_local!(static NOTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
            if !NOTED.replace(true) {
                let test = std::thread::current()
                    .name()
                    .unwrap_or("this test")
                    .to_owned();
                eprintln!(
                    "note: WasmEdge not found ({looked}); the WasmEdge half of {test} was skipped"
                );
            }
            return None;
        }
    };
    let mut command = Command::new(binary);
    for dir in &spec.preopens {
        let mode = if dir.readonly { ":readonly" } else { "" };
        command
            .arg("--dir")
            .arg(format!("{}:{}{mode}", dir.guest, dir.host.display()));
    }
    for (key, value) in &spec.env {
        command.arg("--env").arg(format!("{key}={value}"));
    }
    command
        .arg(&spec.module)
        .args(&spec.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(bytes) = limits.data_bytes {
        // SAFETY: setrlimit is async-signal-safe, and the closure touches nothing else.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(libc::RLIMIT_DATA, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("could not start WasmEdge: {error}"));
    let drain = |mut stream: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + limits.time;
    let ended = loop {
        if let Some(status) = child.try_wait().expect("wait for WasmEdge") {
            break match (status.code(), status.signal()) {
                (Some(code), _) => Ended::Exited(code),
                (None, Some(signal)) => Ended::Signal(signal),
                (None, None) => unreachable!("an exit status has a code or a signal"),
            };
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break Ended::StillRunning;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Some(Outcome {
        ended,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    })
}
