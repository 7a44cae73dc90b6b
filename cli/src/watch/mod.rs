//! `cargo wasock watch`: the dev loop. The app runs as `run` runs it; the package's sources
//! are watched; a change rebuilds, and the app is restarted only when the build succeeded
//! (on a failed build the old app keeps serving and cargo's errors are shown).
//!
//! - **Files**: `notify` (inotify on Linux) through `notify-debouncer-full`, which also
//!   reports each event's kind: notify 8 watches `IN_OPEN`, so every `cargo build` reading
//!   the sources produces access events, and a debouncer that only lists paths (`-mini`)
//!   would rebuild for ever. Only creations, writes, metadata changes (`touch`), renames and
//!   removals count. Directories are watched recursively; single files (`Cargo.toml`,
//!   `Cargo.lock`, `build.rs`) through their parent directory, because editors save by
//!   renaming a new file over the old one, which ends a watch on the file itself.
//! - **What is ignored**: the target directory (cargo's own and `<package>/target`), paths
//!   the `.gitignore` files from the package up to its repository's root list (the `ignore`
//!   crate's gitignore matcher), `--ignore GLOB`s (gitignore syntax, relative to the
//!   package) and editors' scratch files (`*.swp`, `*~`, `.#*`, `4913`).
//! - **The app is a child process on both runtimes**: WasmEdge as `run` starts it, the
//!   embedded engine as `cargo-wasock run --runtime embedded --wasm MODULE` (this binary).
//!   The engine runs a guest on the calling thread and cannot be interrupted from outside
//!   (`run` ends its whole process on Ctrl-C, see [`crate::run::launch::end_process_on_stop_signals`]),
//!   so a process of its own is what lets an engine-run app be stopped with every socket,
//!   thread and page it had freed by the kernel, and leaves the watcher's process as it was.
//! - **Engine code first**: for the embedded engine a new module is compiled into the
//!   engine's cache (as `--aot` does) before the old app is stopped, so the old app serves
//!   while Cranelift works and the new child loads native code at once.
//! - **Restart**: SIGINT (what Ctrl-C gives `run`'s app), up to [`STOP_GRACE`], then SIGKILL;
//!   the child is reaped; then every address it was seen listening on (observed as `run`
//!   observes it, [`crate::run::readiness`]) must be gone from the kernel's LISTEN table before
//!   the new app starts. Nobody connects to the app.
//! - **One thread owns the app and the builds**: file changes and stop signals arrive on one
//!   channel. Changes that arrive while a build runs are coalesced: that build finishes,
//!   then one more build takes them all.

mod child;
mod cycle;
mod sources;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::SignalsInfo;
use signal_hook::low_level::siginfo::Cause;

use crate::project::metadata;
use crate::run::app::ExitMessage;
use crate::run::flags::RunFlags;
use crate::run::launch;
use crate::ui::errors::usage_error;
use crate::ui::printer::Printer;

use self::cycle::Session;
use self::sources::{start_watching, Event, Sources};

/// How often the idle loop looks whether the app ended by itself.
const APP_POLL: Duration = Duration::from_millis(200);

/// What `watch` adds to `run`'s flags.
pub struct WatchOptions {
    /// Clear the screen before each cycle (on a terminal only).
    pub clear: bool,
    /// `--watch PATH`: more files or directories.
    pub extra: Vec<PathBuf>,
    /// `--ignore GLOB`: gitignore-style patterns, relative to the package's directory.
    pub ignore: Vec<String>,
}

/// Run the app and rebuild/restart it on every change until a stop signal; the exit code
/// of the app stopped last (128 + the signal when none was running).
pub fn watch(flags: RunFlags, options: WatchOptions, printer: &Printer) -> anyhow::Result<i32> {
    if flags.wasm.is_some() || flags.js.is_some() {
        return Err(usage_error(
            "`watch` rebuilds a cargo project; it does not take `--wasm` or `--js`",
            "run it in the project's directory (or pass `--manifest-path`), or use `cargo wasock run`",
        ));
    }
    let (runtime, values) = flags.prepare(printer)?;
    let project = metadata::load(
        flags.cargo.manifest_path.as_deref(),
        flags.cargo.package.as_deref(),
        &flags.cargo.resolve_flags(),
    )?;
    let sources = Arc::new(Sources::of_project(
        &project,
        &options.extra,
        &options.ignore,
    )?);

    let (events, receiver) = mpsc::channel();
    crate::build::cargo::builds_in_own_process_group();
    // Registered before anything starts, so a Ctrl-C is never lost; being caught (not
    // ignored) here also gives our children their default actions back at exec.
    let mut signals = SignalsInfo::<WithOrigin>::new(launch::stop_signals())
        .context("could not install signal handlers")?;
    let signal_handle = signals.handle();
    let signal_thread = {
        let events = events.clone();
        std::thread::spawn(move || {
            for origin in signals.forever() {
                // A build in progress ends now, not when it is done, and none starts after.
                crate::build::cargo::stop_running_build();
                let event = Event::Stop {
                    signal: origin.signal,
                    // A Ctrl-C at the terminal already reached the app (same process group).
                    delivered: origin.cause == Cause::Kernel,
                };
                if events.send(event).is_err() {
                    return;
                }
            }
        })
    };
    let mut debouncer = start_watching(&sources, events.clone())?;
    drop(events);

    let mut session = Session {
        runtime,
        flags,
        values,
        sources: Arc::clone(&sources),
        clear: options.clear,
        printer: printer.clone(),
        app: None,
        locks_after_build: Vec::new(),
        started_before: false,
    };
    printer.status(
        "Watching",
        format!("{} (Ctrl-C stops)", sources.describe_watched()),
    );
    session.cycle(BTreeSet::new());

    let mut changed: BTreeSet<PathBuf> = BTreeSet::new();
    let mut stop: Option<(i32, bool)> = None;
    let code = loop {
        let mut absorb = |event: Event| match event {
            Event::Changed(paths) => changed.extend(paths),
            Event::WatchFailed(message) => printer.warn(format!("watching files: {message}")),
            Event::Stop { signal, delivered } => {
                stop.get_or_insert((signal, delivered));
            }
        };
        match receiver.recv_timeout(APP_POLL) {
            Ok(event) => absorb(event),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break session.stop_all(libc::SIGTERM, false),
        }
        // Everything queued meanwhile (e.g. during a build) goes into one cycle.
        while let Ok(event) = receiver.try_recv() {
            absorb(event);
        }
        if let Some((signal, delivered)) = stop {
            break session.stop_all(signal, delivered);
        }
        session.notice_app_exit();
        if !changed.is_empty() {
            sources.watch_new_dirs(&changed, &mut debouncer, printer);
            session.cycle(std::mem::take(&mut changed));
        }
    };
    debouncer.stop();
    signal_handle.close();
    let _ = signal_thread.join();
    printer.message("exit", &ExitMessage { code });
    Ok(code)
}
