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
//!   (`run` ends its whole process on Ctrl-C, see [`crate::launch::end_process_on_stop_signals`]),
//!   so a process of its own is what lets an engine-run app be stopped with every socket,
//!   thread and page it had freed by the kernel, and leaves the watcher's process as it was.
//! - **Engine code first**: for the embedded engine a new module is compiled into the
//!   engine's cache (as `--aot` does) before the old app is stopped, so the old app serves
//!   while Cranelift works and the new child loads native code at once.
//! - **Restart**: SIGINT (what Ctrl-C gives `run`'s app), up to [`STOP_GRACE`], then SIGKILL;
//!   the child is reaped; then every address it was seen listening on (observed as `run`
//!   observes it, [`crate::readiness`]) must be gone from the kernel's LISTEN table before
//!   the new app starts. Nobody connects to the app.
//! - **One thread owns the app and the builds**: file changes and stop signals arrive on one
//!   channel. Changes that arrive while a build runs are coalesced: that build finishes,
//!   then one more build takes them all.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::DebounceEventResult;
use serde::Serialize;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::SignalsInfo;
use signal_hook::low_level::siginfo::Cause;

use crate::app::build_app;
use crate::commands::run::RunFlags;
use crate::environment;
use crate::errors::{self, hint, usage_error};
use crate::launch;
use crate::launch_spec::LaunchSpec;
use crate::metadata::{self, Project};
use crate::printer::{Printer, Verbosity};
use crate::readiness::{self, Reporter, Reporting};
use crate::run_app::{self, ExitMessage, FlagValues};
use crate::runtime::Chosen;

/// How long the file system must be quiet before a change starts a cycle: an editor's save
/// (write, rename, chmod) is one change.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// How long a stopped app may take to end after SIGINT before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long to wait for a stopped app's listening addresses to leave the kernel's table
/// (they go when its last descriptor closes; another process may hold the same address).
pub const PORT_RELEASE_WAIT: Duration = Duration::from_secs(10);

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

/// `--message-format json`'s `rebuild`: one per cycle (with `artifact`, `listening` and
/// cargo's messages between them as in `run`).
#[derive(Serialize)]
struct Rebuild {
    /// The changed paths (relative to the package when inside it); empty for the first build.
    changed: Vec<String>,
    /// Whether the build succeeded (and so the app was restarted).
    ok: bool,
    /// How long the build took, in milliseconds.
    duration_ms: u128,
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
    crate::cargo_build::builds_in_own_process_group();
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
                crate::cargo_build::stop_running_build();
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

enum Event {
    Changed(BTreeSet<PathBuf>),
    WatchFailed(String),
    /// `delivered`: the signal came from the terminal and already reached the app.
    Stop {
        signal: i32,
        delivered: bool,
    },
}

/// The file watcher with its debouncing.
type Debouncer = notify_debouncer_full::Debouncer<
    notify::RecommendedWatcher,
    notify_debouncer_full::RecommendedCache,
>;

/// The debounced watcher over `sources`, sending relevant changes on `events`.
fn start_watching(sources: &Arc<Sources>, events: Sender<Event>) -> anyhow::Result<Debouncer> {
    let filter = Arc::clone(sources);
    let handler = move |result: DebounceEventResult| {
        let event = match result {
            Ok(batch) => {
                let paths: BTreeSet<PathBuf> = batch
                    .iter()
                    .filter(|event| is_change(&event.kind))
                    .flat_map(|event| event.paths.iter())
                    .filter(|path| filter.is_relevant(path))
                    .cloned()
                    .collect();
                if paths.is_empty() {
                    return;
                }
                Event::Changed(paths)
            }
            Err(failures) => Event::WatchFailed(
                failures
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        };
        let _ = events.send(event);
    };
    let mut debouncer =
        notify_debouncer_full::new_debouncer(DEBOUNCE, None, handler).map_err(|error| {
            hint(
                format!("could not watch files: {error}"),
                "check the inotify limits (`sysctl fs.inotify.max_user_instances`)",
            )
        })?;
    for (path, mode) in sources.watch_roots() {
        debouncer.watch(&path, mode).map_err(|error| {
            hint(
                format!("could not watch `{}`: {error}", path.display()),
                "check that it exists and is readable; raise `fs.inotify.max_user_watches` if the limit was reached",
            )
        })?;
    }
    Ok(debouncer)
}

/// Whether an event of this kind changes a file: not the reads cargo and editors make.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// What is watched and what is ignored; see the module docs.
pub struct Sources {
    /// The package's directory; paths are shown relative to it.
    root: PathBuf,
    /// Watched recursively.
    dirs: Vec<PathBuf>,
    /// Watched through their parent directory.
    files: Vec<PathBuf>,
    /// Files named with `--watch`: watched even when a `.gitignore` lists them.
    explicit_files: Vec<PathBuf>,
    /// Target directories: never a source.
    target_dirs: Vec<PathBuf>,
    gitignores: Vec<Gitignore>,
    /// `--ignore` patterns, rooted at `root`.
    user_ignores: Gitignore,
}

/// The package's own inputs, as cargo sees them, relative to its directory.
const PACKAGE_DIRS: [&str; 4] = ["src", "tests", "benches", "examples"];
const PACKAGE_FILES: [&str; 3] = ["Cargo.toml", "Cargo.lock", "build.rs"];

impl Sources {
    /// The sources of the package `project` is about (else its workspace's root), its path
    /// dependencies (the vendored `wasock`), and `extra`; `ignores` in gitignore syntax.
    pub fn of_project(
        project: &Project,
        extra: &[PathBuf],
        ignores: &[String],
    ) -> anyhow::Result<Sources> {
        let workspace_root = project.metadata.workspace_root.clone().into_std_path_buf();
        let root = project
            .package
            .as_ref()
            .and_then(|package| package.manifest_path.parent())
            .map(|dir| dir.to_path_buf().into_std_path_buf())
            .unwrap_or_else(|| workspace_root.clone());
        let mut dirs: Vec<PathBuf> = PACKAGE_DIRS.iter().map(|dir| root.join(dir)).collect();
        let mut files: Vec<PathBuf> = PACKAGE_FILES.iter().map(|file| root.join(file)).collect();
        // A member of a workspace: the lock file and manifest at the workspace's root.
        files.push(workspace_root.join("Cargo.lock"));
        files.push(workspace_root.join("Cargo.toml"));
        let mut target_dirs = vec![
            project
                .metadata
                .target_directory
                .clone()
                .into_std_path_buf(),
            root.join("target"),
        ];
        if let Some(package) = &project.package {
            for dependency in &package.dependencies {
                if let Some(path) = &dependency.path {
                    let path = path.clone().into_std_path_buf();
                    target_dirs.push(path.join("target"));
                    dirs.push(path);
                }
            }
        }
        let mut explicit_files = Vec::new();
        for path in extra {
            let absolute = std::path::absolute(path)
                .with_context(|| format!("could not resolve `{}`", path.display()))?;
            if absolute.is_dir() {
                dirs.push(absolute);
            } else if absolute.is_file() {
                explicit_files.push(absolute.clone());
                files.push(absolute);
            } else {
                return Err(usage_error(
                    format!("`--watch {}`: no such file or directory", path.display()),
                    "pass an existing file or directory (relative to the current directory)",
                ));
            }
        }
        dirs.sort();
        dirs.dedup();
        files.sort();
        files.dedup();

        let mut user = GitignoreBuilder::new(&root);
        for glob in ignores {
            user.add_line(None, glob).map_err(|error| {
                usage_error(
                    format!("`--ignore {glob}` is not a valid pattern: {error}"),
                    "use gitignore syntax, e.g. `--ignore 'src/generated/**'` or `--ignore '*.log'`",
                )
            })?;
        }
        let user_ignores = user
            .build()
            .context("could not build the `--ignore` patterns")?;
        Ok(Sources {
            gitignores: gitignores_above(&root),
            root,
            dirs,
            files,
            explicit_files,
            target_dirs,
            user_ignores,
        })
    }

    /// The existing directories and files' parents to hand the watcher, once each.
    fn watch_roots(&self) -> Vec<(PathBuf, RecursiveMode)> {
        let mut roots: Vec<(PathBuf, RecursiveMode)> = self
            .dirs
            .iter()
            .filter(|dir| dir.is_dir())
            .map(|dir| (dir.clone(), RecursiveMode::Recursive))
            .collect();
        let mut parents: Vec<PathBuf> = self
            .files
            .iter()
            .filter_map(|file| file.parent().map(Path::to_path_buf))
            .filter(|parent| parent.is_dir())
            .collect();
        parents.sort();
        parents.dedup();
        roots.extend(
            parents
                .into_iter()
                .map(|parent| (parent, RecursiveMode::NonRecursive)),
        );
        roots
    }

    /// A source directory that appeared after watching began (`tests/` made later, `src/`
    /// replaced by a checkout) is watched from now on; the change that announced it is a
    /// change like any other. Watching one already watched changes nothing.
    fn watch_new_dirs(
        &self,
        changed: &BTreeSet<PathBuf>,
        debouncer: &mut Debouncer,
        printer: &Printer,
    ) {
        for dir in self.dirs.iter().filter(|dir| changed.contains(*dir)) {
            if !dir.is_dir() {
                continue;
            }
            match debouncer.watch(dir, RecursiveMode::Recursive) {
                Ok(()) => printer.verbose(format!("watching `{}`", dir.display())),
                Err(error) => {
                    printer.warn(format!("could not watch `{}`: {error}", dir.display()));
                    printer.help("restart `cargo wasock watch` to watch it");
                }
            }
        }
    }

    /// Whether a change to `path` should start a cycle.
    pub fn is_relevant(&self, path: &Path) -> bool {
        if self.target_dirs.iter().any(|dir| path.starts_with(dir)) {
            return false;
        }
        if path
            .file_name()
            .is_some_and(|name| is_scratch_file(&name.to_string_lossy()))
        {
            return false;
        }
        let watched = self.files.iter().any(|file| file == path)
            || self.dirs.iter().any(|dir| path.starts_with(dir));
        if !watched {
            return false;
        }
        let is_dir = path.is_dir();
        if path.starts_with(&self.root)
            && self
                .user_ignores
                .matched_path_or_any_parents(path, is_dir)
                .is_ignore()
        {
            return false;
        }
        if self.explicit_files.iter().any(|file| file == path) {
            return true;
        }
        !self.gitignores.iter().any(|gitignore| {
            path.starts_with(gitignore.path())
                && gitignore
                    .matched_path_or_any_parents(path, is_dir)
                    .is_ignore()
        })
    }

    /// `path` as the user knows it: relative to the package's directory when inside it.
    pub fn show(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// The `Cargo.lock` files watched (the package's, the workspace's).
    fn lock_files(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.files
            .iter()
            .filter(|file| file.file_name().is_some_and(|name| name == "Cargo.lock"))
            .cloned()
    }

    /// `src/, Cargo.toml, vendor/wasock-0.1.0/` for the first status line.
    fn describe_watched(&self) -> String {
        let dirs = self
            .dirs
            .iter()
            .filter(|dir| dir.is_dir())
            .map(|dir| format!("{}/", self.show(dir)));
        let files = self
            .files
            .iter()
            .filter(|file| file.is_file())
            .map(|file| self.show(file));
        dirs.chain(files).collect::<Vec<_>>().join(", ")
    }

    /// `src/main.rs changed`, `src/a.rs, src/b.rs and 3 more changed`.
    fn describe_changes(&self, paths: &BTreeSet<PathBuf>) -> String {
        let mut shown: Vec<String> = paths.iter().take(2).map(|path| self.show(path)).collect();
        if paths.len() > 2 {
            shown.push(format!("{} more", paths.len() - 2));
        }
        format!("{} changed", shown.join(", "))
    }
}

/// Editors' temporary files: vim's swap files and its `4913` write probe, backups (`~`),
/// Emacs's lock and auto-save files.
fn is_scratch_file(name: &str) -> bool {
    name == "4913"
        || name.ends_with('~')
        || [".swp", ".swo", ".swx"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
}

/// The `.gitignore` files in `dir` and its parents, up to the repository's root (the
/// first directory with a `.git`); each matcher is rooted where its file is.
fn gitignores_above(dir: &Path) -> Vec<Gitignore> {
    let mut found = Vec::new();
    for ancestor in dir.ancestors() {
        let file = ancestor.join(".gitignore");
        if file.is_file() {
            let mut builder = GitignoreBuilder::new(ancestor);
            // A line that does not parse is skipped, as git skips it.
            let _ = builder.add(&file);
            if let Ok(gitignore) = builder.build() {
                found.push(gitignore);
            }
        }
        if ancestor.join(".git").exists() {
            break;
        }
    }
    found
}

/// The watcher's state between events: the running app, if any.
struct Session {
    runtime: Chosen,
    flags: RunFlags,
    values: FlagValues,
    sources: Arc<Sources>,
    /// `--clear`: clear the screen before each cycle.
    clear: bool,
    printer: Printer,
    app: Option<RunningApp>,
    /// The lock files as the last build left them: cargo writes `Cargo.lock` itself (the
    /// first build creates it), and that is not a change of the user's.
    locks_after_build: Vec<(PathBuf, Option<Vec<u8>>)>,
    /// Whether an app was started before (the `Running` line is said once).
    started_before: bool,
}

impl Session {
    /// One cycle: build; when it succeeds, stop the old app and start the new one; one
    /// status line either way.
    fn cycle(&mut self, changed: BTreeSet<PathBuf>) {
        if !changed.is_empty() && self.only_cargos_own_lock_writes(&changed) {
            return;
        }
        if self.clear && self.printer.is_terminal() {
            let _ = console::Term::stderr().clear_screen();
        }
        let what = if changed.is_empty() {
            "first build".to_owned()
        } else {
            self.sources.describe_changes(&changed)
        };
        let began = Instant::now();
        let built = self.build();
        let took = began.elapsed();
        self.locks_after_build = self
            .sources
            .lock_files()
            .map(|path| {
                let content = std::fs::read(&path).ok();
                (path, content)
            })
            .collect();
        // A stop came during the build: no app is started.
        if crate::cargo_build::stop_requested() {
            return;
        }
        self.printer.message(
            "rebuild",
            &Rebuild {
                changed: changed.iter().map(|path| self.sources.show(path)).collect(),
                ok: built.is_ok(),
                duration_ms: took.as_millis(),
            },
        );
        let seconds = took.as_secs_f64();
        let spec = match built {
            Ok(spec) => spec,
            Err(error) => {
                errors::report(&error, &self.printer);
                let after = if self.app.is_some() {
                    "old app keeps serving"
                } else {
                    "waiting for a change"
                };
                self.printer
                    .status("Watching", format!("{what} · build failed · {after}"));
                return;
            }
        };
        let restarted = self.app.is_some();
        if let Some(app) = self.app.take() {
            app.stop(libc::SIGINT, false, &self.printer);
        }
        match self.start(spec) {
            Ok(app) => {
                self.app = Some(app);
                self.started_before = true;
                let (built, done) = if restarted {
                    ("rebuilt", "restarted")
                } else {
                    ("built", "started")
                };
                self.printer.status(
                    "Watching",
                    format!("{what} · {built} in {seconds:.1}s · {done}"),
                );
            }
            Err(error) => {
                errors::report(&error, &self.printer);
                self.printer.status(
                    "Watching",
                    format!("{what} · built in {seconds:.1}s · the app did not start · waiting for a change"),
                );
            }
        }
    }

    /// Whether every changed path is a lock file whose content is what the last build left.
    fn only_cargos_own_lock_writes(&self, changed: &BTreeSet<PathBuf>) -> bool {
        changed.iter().all(|path| {
            self.locks_after_build
                .iter()
                .any(|(lock, content)| lock == path && std::fs::read(path).ok() == *content)
        })
    }

    /// Build as `run` does and describe the launch (env and dirs from the package's
    /// metadata, which the change may have edited, under the flags).
    fn build(&self) -> anyhow::Result<(LaunchSpec, bool)> {
        let aot_by = run_app::aot_by(&self.runtime, self.flags.aot)?;
        let built = build_app(&self.flags.cargo, aot_by, &self.printer)?;
        let defaults = built.project.defaults()?;
        let (env, dirs) = self
            .values
            .for_app(&defaults, self.flags.port, &self.printer)?;
        let (module, aot) = match &self.runtime {
            Chosen::WasmEdge(found) => {
                run_app::wasmedge_module(found, built.module.path, built.aot, false, &self.printer)?
            }
            Chosen::Embedded(_) => {
                // With `--aot` the build already compiled it into the engine's cache.
                if built.aot.is_none() {
                    precompile_for_engine(&built.module.path, &self.printer);
                }
                (built.module.path, false)
            }
        };
        let spec = LaunchSpec {
            module,
            args: self.flags.args.clone(),
            env,
            dirs,
        };
        Ok((spec, aot))
    }

    fn start(&self, (spec, aot): (LaunchSpec, bool)) -> anyhow::Result<RunningApp> {
        if let Some(port) = self.flags.port {
            launch::check_port_free(port)?;
        }
        let (mut command, shown) = match &self.runtime {
            Chosen::WasmEdge(found) => launch::wasmedge_command(found, &spec, aot, &self.printer),
            Chosen::Embedded(why) => {
                engine_command(&spec, why, !self.started_before, &self.printer)?
            }
        };
        launch::die_with_parent(&mut command);
        let child = command.spawn().map_err(|error| {
            hint(
                format!("could not start `{shown}`: {error}"),
                "check that the program exists and is executable",
            )
        })?;
        Ok(RunningApp::observe(child, self.flags.port, &self.printer))
    }

    /// Say so when the app ended by itself; the watcher keeps waiting for a change.
    fn notice_app_exit(&mut self) {
        let Some(app) = &mut self.app else { return };
        let Ok(Some(status)) = app.child.try_wait() else {
            return;
        };
        let code = launch::exit_code(status);
        if let Some(app) = self.app.take() {
            app.finish_observing();
        }
        self.printer.status(
            "Watching",
            format!("the app exited with code {code} · waiting for a change"),
        );
    }

    /// A stop signal: stop the app; its exit code, else the shell's 128 + the signal.
    fn stop_all(&mut self, signal: i32, delivered: bool) -> i32 {
        match self.app.take() {
            Some(app) => app.stop(signal, delivered, &self.printer),
            None => 128 + signal,
        }
    }
}

/// Compile a new module into the engine's cache while the old app still serves, so the new
/// one starts from native code at once and the port is closed only for the restart itself.
/// A module that does not compile is left to the child, which reports it as `run` does.
#[cfg_attr(not(feature = "embedded"), allow(unused_variables))]
fn precompile_for_engine(module: &Path, printer: &Printer) {
    #[cfg(feature = "embedded")]
    {
        let cache = crate::user_cache::ensure("engine").and_then(|_| crate::user_cache::engine());
        match cache.map(|cache| cache.precompile(module)) {
            Ok(Ok(precompiled)) => printer.verbose(format!(
                "engine code for the new module: {} ({})",
                precompiled.path.display(),
                if precompiled.reused {
                    "cached"
                } else {
                    "compiled"
                }
            )),
            Ok(Err(error)) => printer.verbose(format!("not precompiled: {error}")),
            Err(error) => printer.verbose(format!("not precompiled: {error:#}")),
        }
    }
}

/// The embedded engine in a child process: this binary's `run --wasm` with everything
/// resolved (absolute `--dir`s; the whole environment in the child's own environment, see
/// [`environment::pass_to_child`], so no value shows on its command line), quiet unless `-v`.
#[cfg_attr(not(feature = "embedded"), allow(unused_variables))]
fn engine_command(
    spec: &LaunchSpec,
    why: &str,
    first: bool,
    printer: &Printer,
) -> anyhow::Result<(Command, String)> {
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
    arguments.extend(spec.dirs.iter().map(|dir| format!("--dir={dir}")));
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
    Ok((command, shown))
}

/// The app's child process and the observers of its listening sockets.
struct RunningApp {
    child: Child,
    /// Every address it was seen listening on.
    seen: Arc<Mutex<Vec<SocketAddr>>>,
    stop_polling: Arc<AtomicBool>,
    poller: JoinHandle<()>,
    forwarder: JoinHandle<()>,
    reporting: Option<Reporting>,
}

impl RunningApp {
    /// Observe `child`'s listeners as `run` does (the kernel's tables, never a connection),
    /// telling `run`'s reporter (for `--port` and `-v`) and remembering them.
    fn observe(child: Child, claimed_port: Option<u16>, printer: &Printer) -> RunningApp {
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
        RunningApp {
            child,
            seen,
            stop_polling,
            poller,
            forwarder,
            reporting,
        }
    }

    /// End the observer threads (the child is gone or going); the addresses seen.
    fn finish_observing(self) -> Vec<SocketAddr> {
        self.stop_polling.store(true, Ordering::Relaxed);
        self.poller.thread().unpark();
        let _ = self.poller.join();
        // The poller's sender is gone, so the forwarder ends, and with it the reporter.
        let _ = self.forwarder.join();
        drop(self.reporting);
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stop the app: `signal` (unless it was `delivered` already), [`STOP_GRACE`], then
    /// SIGKILL; reap it; wait until its listening addresses are free. Its exit code.
    fn stop(mut self, signal: i32, delivered: bool, printer: &Printer) -> i32 {
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

    #[test]
    fn reads_by_cargo_do_not_count_as_changes() {
        use notify::event::{CreateKind, DataChange, MetadataKind, ModifyKind};
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::Any
        ))));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
    }

    #[test]
    fn editor_scratch_files_are_not_sources() {
        for name in ["4913", "main.rs~", ".main.rs.swp", ".#main.rs", "#main.rs#"] {
            assert!(is_scratch_file(name), "{name}");
        }
        for name in ["main.rs", "Cargo.toml", "lib.rs.in"] {
            assert!(!is_scratch_file(name), "{name}");
        }
    }

    fn sources_in(root: &Path, ignores: &[&str]) -> Sources {
        let mut user = GitignoreBuilder::new(root);
        for glob in ignores {
            user.add_line(None, glob).unwrap();
        }
        Sources {
            root: root.to_path_buf(),
            dirs: vec![root.join("src"), root.join("vendor/wasock-0.1.0")],
            files: vec![root.join("Cargo.toml")],
            explicit_files: Vec::new(),
            target_dirs: vec![root.join("target")],
            gitignores: gitignores_above(root),
            user_ignores: user.build().unwrap(),
        }
    }

    #[test]
    fn gitignore_target_and_ignore_globs_are_respected() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join(".gitignore"), "/target\nsrc/generated.rs\n").unwrap();
        let sources = sources_in(root, &["*.log"]);
        assert!(sources.is_relevant(&root.join("src/main.rs")));
        assert!(sources.is_relevant(&root.join("Cargo.toml")));
        assert!(sources.is_relevant(&root.join("vendor/wasock-0.1.0/src/lib.rs")));
        assert!(!sources.is_relevant(&root.join("src/generated.rs")));
        assert!(!sources.is_relevant(&root.join("src/debug.log")));
        assert!(!sources.is_relevant(&root.join("target/debug/app.wasm")));
        assert!(!sources.is_relevant(&root.join("README.md")));
        assert!(!sources.is_relevant(&root.join("src/.main.rs.swp")));
        assert_eq!(
            sources.describe_changes(&[root.join("src/a.rs")].into_iter().collect()),
            "src/a.rs changed"
        );
    }
}
