//! Starting the app: the free-port check before it, the WasmEdge child process, and the
//! stop signals.
//!
//! A WasmEdge child inherits stdio, gets the stop signals forwarded (see [`stop_signals`]),
//! is killed by the kernel if the CLI dies first (`PR_SET_PDEATHSIG`), and its exit status
//! becomes ours: the code it exited with, or 128 + the signal that ended it, as a shell
//! reports it. Where it listens is observed by [`crate::run::readiness`], never probed.

use std::net::{Ipv4Addr, TcpListener};
#[cfg(target_os = "linux")]
use std::os::unix::process::ExitStatusExt as _;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context as _;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::SignalsInfo;
use signal_hook::low_level::siginfo::Cause;

use crate::run::launch_spec::LaunchSpec;
use crate::run::readiness::{self, Reporter};
use crate::ui::errors::hint;
use crate::ui::printer::Printer;
use crate::util::wasmedge::WasmEdge;

/// `--port N`: fail early, naming the port, when something already listens on it. Port 0
/// (the OS picks) is always free.
pub fn check_port_free(port: u16) -> anyhow::Result<()> {
    if port == 0 {
        return Ok(());
    }
    // Binding the wildcard address conflicts with a listener on any local address.
    match TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => Err(hint(
            format!("port {port} is already in use"),
            format!("stop whatever listens on port {port} (`ss -ltnp 'sport = :{port}'` shows it) or pick another with `--port N`"),
        )),
        Err(error) => Err(error).with_context(|| format!("could not check whether port {port} is free")),
    }
}

/// Whether `signal` was ignored (`SIG_IGN`) when we started, as `nohup` leaves SIGHUP.
fn inherited_as_ignored(signal: libc::c_int) -> bool {
    // SAFETY: with a null new action, sigaction(2) only reads the current disposition
    // into `current`, a zeroed plain C struct.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

/// The signals `run` handles, decided before any handler is installed. SIGINT and SIGTERM
/// always: a script's background job starts with SIGINT ignored, and `kill -INT` must
/// still stop it. SIGHUP and SIGQUIT only when not inherited as ignored: under `nohup`,
/// closing the terminal must leave `run` and the app running (an ignored signal stays
/// ignored across exec, so a WasmEdge child ignores it too).
pub fn stop_signals() -> Vec<libc::c_int> {
    let mut signals = vec![SIGINT, SIGTERM];
    signals.extend(
        [SIGHUP, SIGQUIT]
            .into_iter()
            .filter(|&signal| !inherited_as_ignored(signal)),
    );
    signals
}

/// For the embedded engine, which runs the guest on our own thread and cannot be
/// interrupted from outside: a stop signal ends the whole process with exit code
/// 128 + the signal, which is what `run` exits with when a WasmEdge child dies of the
/// signal it forwarded (the app's fate, reported the same way on both runtimes; a parent
/// that waits sees the same status). Which signals: see [`stop_signals`].
#[cfg_attr(not(feature = "embedded"), allow(dead_code))]
pub fn end_process_on_stop_signals() -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(stop_signals())
        .context("could not install signal handlers")?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            // The guest's stdout may be buffered in std's handle: flush what it wrote.
            let _ = std::io::Write::flush(&mut std::io::stdout());
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

/// Run `spec` on WasmEdge as our child (`aot`: `spec.module` is WasmEdge's AOT output);
/// the shell-style exit code.
pub fn run_on_wasmedge(
    found: &WasmEdge,
    spec: &LaunchSpec,
    aot: bool,
    claimed_port: Option<u16>,
    printer: &Printer,
) -> anyhow::Result<i32> {
    let (command, shown) = wasmedge_command(found, spec, aot, printer);
    let code = run_child(command, &shown, Reporter::new(claimed_port, printer))?;
    // WasmEdge says it only in its own log (on the app's stdout, which `run` leaves alone):
    // an app that aborted with a memory limit set most likely reached it.
    if let (Some(limit), 134) = (spec.sandbox.memory_limit, code) {
        printer.warn(format!(
            "{}, most likely: WasmEdge ended it as an allocation failure ends an app",
            crate::run::sandbox::memory_limit_line(limit)
        ));
    }
    Ok(code)
}

/// The WasmEdge command line for `spec` (said with a `Running` status line, and shown
/// with `-v`), and its text for messages; shared by `run` and `watch`.
pub fn wasmedge_command(
    found: &WasmEdge,
    spec: &LaunchSpec,
    aot: bool,
    printer: &Printer,
) -> (Command, String) {
    let run_mode_aot = aot && found.needs_run_mode_aot();
    let mode = if run_mode_aot {
        ", AOT"
    } else if aot {
        ", AOT (default run mode)"
    } else {
        ""
    };
    printer.status(
        "Running",
        format!(
            "{} on WasmEdge {}{mode} ({})",
            spec.program_name(),
            found.version,
            found.path.display()
        ),
    );
    let arguments = crate::run::launch_spec::wasmedge_arguments(spec, run_mode_aot);
    let shown = format!(
        "{} {}",
        found.path.display(),
        arguments
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    printer.verbose(format!("running `{shown}`"));
    let mut command = Command::new(&found.path);
    command.args(&arguments);
    (command, shown)
}

/// Run `command` as our child until it ends, its listening sockets observed by `reporter`
/// when there is one (an app: for `--port`, `-v` and JSON; not a tool such as cargo, whose
/// sockets are nobody's concern); returns the shell-style exit code.
pub fn run_child(
    mut command: Command,
    shown: &str,
    reporter: Option<Reporter>,
) -> anyhow::Result<i32> {
    // Registered before the spawn so a Ctrl-C in between is not lost (and does not kill
    // us while the child lives on). Being caught rather than ignored here also means exec
    // gives the child their default action back, even when we started with SIGINT ignored.
    let mut signals = SignalsInfo::<WithOrigin>::new(stop_signals())
        .context("could not install signal handlers")?;
    crate::util::process::die_with_parent(&mut command);
    let mut child = command.spawn().map_err(|error| {
        hint(
            format!("could not start `{shown}`: {error}"),
            "check that the program exists and is executable",
        )
    })?;
    let pid = child.id() as libc::pid_t;
    let handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for origin in signals.forever() {
            // A Ctrl-C or Ctrl-\ at the terminal (sent by the kernel) already reached the child, which
            // shares our foreground process group; a second copy could cut its shutdown short.
            if origin.cause == Cause::Kernel {
                continue;
            }
            // SAFETY: kill(2) on our own child's pid; it cannot be reused before we reap it.
            unsafe {
                libc::kill(pid, origin.signal);
            }
        }
    });
    let watch = reporter.map(|reporter| {
        let (listeners, reporting) = reporter.start();
        let stop = reporting.done_flag();
        (
            readiness::watch_process(child.id(), listeners, Arc::clone(&stop)),
            stop,
            reporting,
        )
    });
    let status = child
        .wait()
        .with_context(|| format!("could not wait for `{shown}`"));
    if let Some((poller, stop, reporting)) = watch {
        stop.store(true, Ordering::Relaxed);
        poller.thread().unpark();
        let _ = poller.join();
        drop(reporting);
    }
    handle.close();
    let _ = forwarder.join();
    let status = status?;
    Ok(exit_code(status))
}

pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    }
}
