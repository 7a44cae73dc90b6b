//! The app as `watch`'s child process on both runtimes (WasmEdge as `run` starts it, the
//! engine as this binary's `run --wasm`): started, its listeners observed as `run` observes
//! them, stopped (SIGINT, then SIGKILL after [`STOP_GRACE`]) and its addresses waited out.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::os::fd::AsRawFd as _;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::run::environment;
use crate::run::launch;
use crate::run::launch_spec::LaunchSpec;
use crate::run::readiness::{self, Reporter, Reporting};
use crate::ui::errors::hint;
use crate::ui::printer::{Printer, Verbosity};

/// How long a stopped app may take to end after SIGINT before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long to wait for a stopped app's listening addresses to leave the kernel's table
/// (they go when its last descriptor closes; another process may hold the same address).
pub const PORT_RELEASE_WAIT: Duration = Duration::from_secs(10);

/// The embedded engine in a child process: this binary's `run --wasm` with everything
/// resolved (absolute `--dir`s; the whole environment in the child's own environment, see
/// [`environment::pass_to_child`], so no value shows on its command line), quiet unless `-v`.
#[cfg_attr(not(feature = "embedded"), allow(unused_variables))]
pub fn engine_command(
    spec: &LaunchSpec,
    why: &str,
    instances: u32,
    first: bool,
    printer: &Printer,
) -> anyhow::Result<(Command, String, Option<File>)> {
    let program = std::env::current_exe().map_err(|error| {
        hint(
            format!("could not find the cargo-wasock executable to run the app: {error}"),
            "run it as `cargo wasock watch` from an installed cargo-wasock",
        )
    })?;
    let mut arguments: Vec<String> = vec![
        match printer.verbosity() {
            Verbosity::Verbose => "--verbose",
            _ => "--quiet",
        }
        .to_owned(),
        "run".to_owned(),
        "--runtime=embedded".to_owned(),
        format!("--wasm={}", spec.module.display()),
        "--inherit-app-env".to_owned(),
    ];
    // Under `--message-format json` the child's messages come back over a pipe (its stdout
    // is the app's), for its `blocked` messages: only the engine in the child sees those.
    let messages = if printer.json_messages() {
        let (reader, writer) = crate::util::process::pipe().map_err(|error| {
            hint(
                format!("could not make a pipe for the app's messages: {error}"),
                "check the process's descriptor limit (`ulimit -n`)",
            )
        })?;
        arguments.push(format!("--messages-fd={}", writer.as_raw_fd()));
        Some((reader, writer))
    } else {
        None
    };
    if instances > 1 {
        arguments.push(format!("--instances={instances}"));
    }
    arguments.extend(spec.dirs.iter().map(|dir| format!("--dir={dir}")));
    arguments.extend(sandbox_arguments(&spec.sandbox));
    if !spec.args.is_empty() {
        arguments.push("--".to_owned());
        arguments.extend(spec.args.iter().cloned());
    }
    #[cfg(feature = "embedded")]
    if first {
        printer.status(
            "Running",
            format!(
                "{} on the embedded engine ({}; {why}) in a child process",
                spec.program_name(),
                wasock_engine::version()
            ),
        );
    }
    let shown = format!("{} {}", program.display(), arguments.join(" "));
    let names: Vec<&str> = spec.env.iter().map(|(key, _)| key.as_str()).collect();
    printer.verbose(format!(
        "running `{shown}` with the app's variables ({}) in its environment",
        names.join(", ")
    ));
    // The running binary itself, even after `cargo install` replaced (and so unlinked) the
    // file: in the forked child, /proc/self/exe still names the image it was forked from.
    let program = if cfg!(target_os = "linux") {
        PathBuf::from("/proc/self/exe")
    } else {
        program
    };
    let mut command = Command::new(program);
    command.args(&arguments);
    environment::pass_to_child(&mut command, &spec.env);
    let messages = messages.map(|(reader, writer)| {
        crate::util::process::pass_fd(&mut command, writer);
        reader
    });
    Ok((command, shown, messages))
}

/// `run`'s flags for `sandbox`, already merged with the package's metadata (the child runs
/// `--wasm`, which reads none); an empty list has its own hidden flag.
fn sandbox_arguments(sandbox: &crate::run::sandbox::SandboxSettings) -> Vec<String> {
    let mut arguments = Vec::new();
    for (list, flag) in [
        (&sandbox.allow_connect, "allow-connect"),
        (&sandbox.allow_listen, "allow-listen"),
    ] {
        match list {
            Some(entries) if entries.is_empty() => arguments.push(format!("--{flag}-none")),
            Some(entries) => {
                arguments.extend(entries.iter().map(|entry| format!("--{flag}={entry}")))
            }
            None => {}
        }
    }
    if let Some(bytes) = sandbox.memory_limit {
        arguments.push(format!("--memory-limit={bytes}"));
    }
    if let Some(count) = sandbox.max_sockets {
        arguments.push(format!("--max-sockets={count}"));
    }
    arguments
}

/// The app's child process and the observers of its listening sockets.
pub struct RunningApp {
    pub child: Child,
    /// Every address it was seen listening on.
    seen: Arc<Mutex<Vec<SocketAddr>>>,
    stop_polling: Arc<AtomicBool>,
    poller: JoinHandle<()>,
    forwarder: JoinHandle<()>,
    /// Passes on the engine child's `blocked` messages until the child ends.
    messages: Option<JoinHandle<()>>,
    reporting: Option<Reporting>,
}

impl RunningApp {
    /// Observe `child`'s listeners as `run` does (the kernel's tables, never a connection),
    /// telling `run`'s reporter (for `--port` and `-v`) and remembering them; and the
    /// `blocked` messages the engine child writes to `messages` (see [`engine_command`]),
    /// said as `run` says them.
    pub fn observe(
        child: Child,
        claimed_port: Option<u16>,
        messages: Option<File>,
        printer: &Printer,
    ) -> RunningApp {
        let (sender, listeners) = mpsc::channel();
        let stop_polling = Arc::new(AtomicBool::new(false));
        let poller = readiness::watch_process(child.id(), sender, Arc::clone(&stop_polling));
        let (report, reporting) = match Reporter::new(claimed_port, printer) {
            Some(reporter) => {
                let (report, reporting) = reporter.start();
                (Some(report), Some(reporting))
            }
            None => (None, None),
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let forwarder = {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                for address in listeners {
                    seen.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(address);
                    if let Some(report) = &report {
                        let _ = report.send(address);
                    }
                }
            })
        };
        let messages = messages.map(|reader| {
            let printer = printer.clone();
            std::thread::spawn(move || pass_on_blocked(reader, &printer))
        });
        RunningApp {
            child,
            seen,
            stop_polling,
            poller,
            forwarder,
            messages,
            reporting,
        }
    }

    /// End the observer threads (the child is gone or going); the addresses seen.
    pub fn finish_observing(self) -> Vec<SocketAddr> {
        self.stop_polling.store(true, Ordering::Relaxed);
        self.poller.thread().unpark();
        let _ = self.poller.join();
        // The poller's sender is gone, so the forwarder ends, and with it the reporter.
        let _ = self.forwarder.join();
        // The child is gone, so its end of the pipe is closed and the reader ends.
        if let Some(messages) = self.messages {
            let _ = messages.join();
        }
        drop(self.reporting);
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stop the app: `signal` (unless it was `delivered` already), [`STOP_GRACE`], then
    /// SIGKILL; reap it; wait until its listening addresses are free. Its exit code.
    pub fn stop(mut self, signal: i32, delivered: bool, printer: &Printer) -> i32 {
        let pid = self.child.id() as libc::pid_t;
        let mut status = self.child.try_wait().ok().flatten();
        if status.is_none() && !delivered {
            // SAFETY: kill(2) on our own child, not yet reaped, so its pid is not reused.
            unsafe {
                libc::kill(pid, signal);
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        while status.is_none() {
            match self.child.try_wait() {
                Ok(Some(done)) => status = Some(done),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    printer.warn(format!(
                        "the app did not end within {}s of the stop signal; killing it",
                        STOP_GRACE.as_secs()
                    ));
                    let _ = self.child.kill();
                    status = self.child.wait().ok();
                    break;
                }
                Err(_) => break,
            }
        }
        let code = status.map_or(1, launch::exit_code);
        for address in self.finish_observing() {
            wait_until_released(address, printer);
        }
        code
    }
}

/// The engine child's messages, one JSON line each (`run --messages-fd`): its `blocked`
/// ones said again as the parent's own messages; its others (`runtime`, `exit`, ...) the
/// parent says itself. Ends when the child closes its end.
fn pass_on_blocked(reader: File, printer: &Printer) {
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { return };
        let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str(&line) else {
            continue;
        };
        if fields
            .remove("reason")
            .as_ref()
            .and_then(|reason| reason.as_str())
            == Some("blocked")
        {
            printer.message("blocked", &fields);
        }
    }
}

/// Wait until nothing listens on `address` any more (by the kernel's table), at most
/// [`PORT_RELEASE_WAIT`]; a warning if something still does.
fn wait_until_released(address: SocketAddr, printer: &Printer) {
    let deadline = Instant::now() + PORT_RELEASE_WAIT;
    while readiness::is_listening(address) {
        if Instant::now() >= deadline {
            printer.warn(format!(
                "{} is still in use after the app ended (another process listens there?)",
                readiness::url(address)
            ));
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::sandbox::SandboxSettings;

    /// The child runs `--wasm` (no metadata), so it must get the merged sandbox as flags,
    /// an empty list included: dropping it would open what the package closed.
    #[test]
    fn the_child_gets_the_whole_sandbox_as_flags() {
        let sandbox = SandboxSettings {
            allow_connect: Some(Vec::new()),
            allow_listen: Some(vec!["0.0.0.0:8080".into(), "[::1]:*".into()]),
            memory_limit: Some(64 << 20),
            max_sockets: Some(100),
        };
        assert_eq!(
            sandbox_arguments(&sandbox),
            [
                "--allow-connect-none",
                "--allow-listen=0.0.0.0:8080",
                "--allow-listen=[::1]:*",
                "--memory-limit=67108864",
                "--max-sockets=100",
            ]
        );
        assert!(sandbox_arguments(&SandboxSettings::default()).is_empty());
    }
}
