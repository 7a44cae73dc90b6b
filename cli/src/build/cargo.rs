//! Building the app for WASI with cargo: the build started as early as the target allows,
//! cargo's output and progress, and finding the `.wasm` in cargo's JSON messages.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Mutex;

use anyhow::Context as _;
use cargo_metadata::{Message, TargetKind};

use crate::build::target::{
    cargo_program, ensure_wasi_target, probe_wasi_target, rustc_version, WasiTarget,
};
use crate::project::metadata::{Project, ResolveFlags};
use crate::ui::errors::{hint, HintExt as _};
use crate::ui::printer::{Printer, Verbosity};

/// The WASI target of every toolchain since Rust 1.78, tried before the toolchain answers.
const USUAL_TRIPLE: &str = "wasm32-wasip1";

/// The toolchain asked for something other than an installed [`USUAL_TRIPLE`].
#[derive(Debug, thiserror::Error)]
#[error("the toolchain has no installed {USUAL_TRIPLE}")]
struct NotTheUsualTarget;

/// Whether the toolchain surely has [`USUAL_TRIPLE`] ready, known without running anything:
/// run as `cargo wasock`, `$CARGO` is the toolchain's own `<sysroot>/bin/cargo` (the one
/// we build with), and the target's standard library is in `<sysroot>/lib/rustlib`
/// (where `rustup target add` puts it; only Rust 1.78 and later have this target). Not
/// when `$RUSTC` names another compiler.
fn usual_target_ready() -> bool {
    if std::env::var_os("RUSTC").is_some_and(|rustc| !rustc.is_empty()) {
        return false;
    }
    let Some(cargo) = std::env::var_os("CARGO").map(PathBuf::from) else {
        return false;
    };
    let Some(bin) = cargo.parent().filter(|bin| bin.ends_with("bin")) else {
        return false;
    };
    bin.parent().is_some_and(|sysroot| {
        sysroot
            .join("lib")
            .join("rustlib")
            .join(USUAL_TRIPLE)
            .join("lib")
            .is_dir()
    })
}

/// Whether the project in `project_dir` has been resolved before (a `Cargo.lock` there or
/// in a parent directory, where a workspace keeps it).
fn built_before(project_dir: &Path) -> bool {
    std::path::absolute(project_dir)
        .is_ok_and(|dir| dir.ancestors().any(|dir| dir.join("Cargo.lock").is_file()))
}

/// Build the app for the WASI target of the toolchain used in `project_dir`; the module,
/// the project `load_project` reads, and the target.
///
/// On a no-op build the checks around `cargo build` would cost as much as the build itself,
/// so they are avoided or run beside it:
/// - when the target is surely ready ([`usual_target_ready`]), nothing is asked: `cargo
///   build` starts at once, reading the project beside it (the compiler's version is
///   asked only for `-v`);
/// - otherwise a project built before ([`built_before`]) starts `cargo build` for
///   [`USUAL_TRIPLE`] at once and asks the toolchain beside it; should the toolchain want
///   another target or lack this one, cargo's output is dropped and the build goes the
///   careful way;
/// - the careful way: the target check (installing the target), then the build. A project
///   never built goes this way, so a refusal (no target and no rustup) writes nothing, not
///   even a `Cargo.lock`.
pub fn build_for_wasi(
    flags: &CargoFlags,
    project_dir: &Path,
    printer: &Printer,
    load_project: impl Fn() -> anyhow::Result<Project> + Sync,
) -> anyhow::Result<(BuiltModule, Project, WasiTarget)> {
    if usual_target_ready() {
        let verbose = printer.verbosity() == Verbosity::Verbose;
        return build(flags, USUAL_TRIPLE, printer, || {
            std::thread::scope(|scope| {
                let version = verbose.then(|| scope.spawn(rustc_version));
                let project = load_project()?;
                let rustc_version = match version {
                    Some(version) => Some(
                        version
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?
                            .0,
                    ),
                    None => None,
                };
                Ok((
                    project,
                    WasiTarget {
                        triple: USUAL_TRIPLE,
                        rustc_version,
                    },
                ))
            })
        });
    }
    if built_before(project_dir) {
        let speculative = build(flags, USUAL_TRIPLE, printer, || {
            std::thread::scope(|scope| {
                let project = scope.spawn(&load_project);
                let probe = probe_wasi_target(project_dir);
                let project = project
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                match probe {
                    Ok(probe) if probe.installed && probe.target.triple == USUAL_TRIPLE => {
                        Ok((project?, probe.target))
                    }
                    // The careful way says what is wrong, or installs what is missing.
                    _ => Err(NotTheUsualTarget.into()),
                }
            })
        });
        match speculative {
            Err(error) if error.is::<NotTheUsualTarget>() => {}
            built => return built,
        }
    }
    let target = ensure_wasi_target(project_dir, printer)?;
    let (module, project, ()) = build(flags, target.triple, printer, || Ok((load_project()?, ())))?;
    Ok((module, project, target))
}

/// The `cargo build` flags `build` and `run` pass through.
#[derive(Debug, Default, Clone)]
pub struct CargoFlags {
    pub release: bool,
    pub profile: Option<String>,
    pub package: Option<String>,
    pub bin: Option<String>,
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
    pub manifest_path: Option<PathBuf>,
    pub target_dir: Option<PathBuf>,
    pub resolve: ResolveFlags,
    /// Variables set for cargo (and the build scripts it runs), e.g. a C cross compiler.
    pub env: Vec<(String, String)>,
}

impl CargoFlags {
    pub fn as_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.release {
            args.push("--release".to_owned());
        }
        let pairs = [
            ("--profile", &self.profile),
            ("--package", &self.package),
            ("--bin", &self.bin),
        ];
        for (flag, value) in pairs {
            if let Some(value) = value {
                args.extend([flag.to_owned(), value.clone()]);
            }
        }
        if !self.features.is_empty() {
            args.extend(["--features".to_owned(), self.features.join(",")]);
        }
        if self.all_features {
            args.push("--all-features".to_owned());
        }
        if self.no_default_features {
            args.push("--no-default-features".to_owned());
        }
        for (flag, value) in [
            ("--manifest-path", &self.manifest_path),
            ("--target-dir", &self.target_dir),
        ] {
            if let Some(value) = value {
                args.extend([flag.to_owned(), value.display().to_string()]);
            }
        }
        args.extend(self.resolve.as_args());
        args
    }
}

/// The app module cargo produced.
#[derive(Debug, Clone)]
pub struct BuiltModule {
    pub path: PathBuf,
    pub bin: String,
    pub package: String,
}

/// cargo's output while checks run beside the build: held until they have answered, then
/// shown (or, if one failed, dropped: the check's error says what is wrong, with a
/// `help:` line, and cargo's output was about a build that should not have been made).
struct OutputGate {
    printer: Printer,
    state: Mutex<GateState>,
}

enum GateState {
    Holding(Vec<String>),
    Open,
    Dropping,
}

impl OutputGate {
    fn line(&self, line: &str) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &mut *state {
            GateState::Holding(held) => held.push(line.to_owned()),
            GateState::Open => self.printer.raw(line),
            GateState::Dropping => {}
        }
    }

    fn settle(&self, show: bool) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let next = if show {
            GateState::Open
        } else {
            GateState::Dropping
        };
        if let GateState::Holding(held) = std::mem::replace(&mut *state, next) {
            if show {
                for line in held {
                    self.printer.raw(&line);
                }
            }
        }
    }
}

/// A binary cargo built, before its package is known by name.
struct Candidate {
    path: PathBuf,
    bin: String,
    package_id: cargo_metadata::PackageId,
}

/// Whether `cargo build` runs in a process group of its own (see
/// [`builds_in_own_process_group`]).
static OWN_PROCESS_GROUP: AtomicBool = AtomicBool::new(false);

/// The process group of the `cargo build` running now, when it has its own; 0 otherwise.
static RUNNING_BUILD_GROUP: AtomicI32 = AtomicI32::new(0);

/// Set once by [`stop_running_build`]: no build starts after it, and one that was starting
/// when it came is stopped as soon as its group is known.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// From now on, run `cargo build` in a process group of its own, with stdin closed, so that
/// [`stop_running_build`] ends it together with every rustc and build script it started
/// (signalling cargo alone would leave those running on). For `watch`, which must stop
/// promptly on a signal sent to it alone (`kill`); a terminal's Ctrl-C, which no longer
/// reaches such a group, reaches `watch`, which passes it on. (A background group must not
/// read the terminal: it would be stopped by SIGTTIN, and a stopped build ignores SIGINT.)
pub fn builds_in_own_process_group() {
    OWN_PROCESS_GROUP.store(true, Ordering::SeqCst);
}

/// End the `cargo build` running now, if it has its own process group
/// ([`builds_in_own_process_group`]): SIGINT to the group, as a terminal's Ctrl-C, and
/// SIGCONT in case it was stopped; no `cargo build` starts afterwards. One atomic store, one
/// load and two `kill(2)`s: fit for a signal-handling thread.
pub fn stop_running_build() {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
    signal_build_group(RUNNING_BUILD_GROUP.load(Ordering::SeqCst), libc::SIGINT);
}

/// Whether [`stop_running_build`] was called.
pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

fn signal_build_group(group: i32, signal: libc::c_int) {
    if group > 0 {
        // SAFETY: kill(2) with a negative pid signals that process group; it touches no
        // memory of ours.
        unsafe {
            libc::kill(-group, signal);
            if signal != libc::SIGKILL {
                libc::kill(-group, libc::SIGCONT);
            }
        }
    }
}

/// Run `cargo build --target triple`, forwarding diagnostics, while `checks` run beside
/// it (reading the project with `cargo metadata`, and confirming the toolchain when the
/// build was started before knowing it); the binary's `.wasm` with what `checks` gave
/// (the project, by which the artifact's package is named, and anything else).
/// cargo's output is held until `checks` succeed; when they fail, their error is returned
/// once cargo has ended, and cargo's output is dropped.
pub fn build<T: Send>(
    flags: &CargoFlags,
    triple: &str,
    printer: &Printer,
    checks: impl FnOnce() -> anyhow::Result<(Project, T)> + Send,
) -> anyhow::Result<(BuiltModule, Project, T)> {
    let (command, shown) = cargo_command(flags, triple, printer);
    let mut cargo = RunningCargo::spawn(command, &shown)?;
    let stderr = cargo
        .child
        .stderr
        .take()
        .context("cargo's stderr was not captured")?;
    let stdout = cargo
        .child
        .stdout
        .take()
        .context("cargo's stdout was not captured")?;
    let gate = OutputGate {
        printer: printer.clone(),
        state: Mutex::new(GateState::Holding(Vec::new())),
    };
    // The length is set once the project is read; until then it grows with each crate.
    let progress = printer.progress(1, "Building");

    std::thread::scope(|scope| {
        let gate = &gate;
        let progress = &progress;
        let checked = scope.spawn(move || {
            let checked = checks();
            if let Ok((project, _)) = &checked {
                progress.set_total(project.crate_estimate());
            }
            gate.settle(checked.is_ok());
            checked
        });
        // cargo's own lines (Compiling…, warnings, errors) are printed above the bar.
        scope.spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                gate.line(&line);
            }
        });
        let read = read_messages(stdout, printer, progress, gate);
        if read.is_err() {
            // Nobody reads cargo's output any more: stop it rather than wait on it.
            cargo.kill();
        }
        let status = cargo.wait(&shown);
        let (project, checked) = checked
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        let candidates = read.context("could not read cargo's JSON output")?;
        let status = status?;
        if !status.success() {
            return Err(hint(
                format!("`{shown}` failed ({status})"),
                "fix the errors cargo reported above",
            ));
        }
        let modules = name_packages(candidates, &project);
        Ok((choose_module(modules, flags)?, project, checked))
    })
}

/// `cargo build --target triple` with JSON messages, colour and verbosity as the printer
/// has them, and `flags`; with the command line as the user would type it, for messages.
fn cargo_command(flags: &CargoFlags, triple: &str, printer: &Printer) -> (Command, String) {
    let mut command = Command::new(cargo_program());
    command.args([
        "build",
        "--target",
        triple,
        "--message-format=json-render-diagnostics",
    ]);
    command.arg(if printer.is_terminal() {
        "--color=always"
    } else {
        "--color=never"
    });
    match printer.verbosity() {
        Verbosity::Quiet => {
            command.arg("--quiet");
        }
        Verbosity::Verbose => {
            command.arg("--verbose");
        }
        Verbosity::Normal => {}
    }
    command.args(flags.as_args());
    command.envs(flags.env.iter().map(|(key, value)| (key, value)));
    // A crate with C inside (ring, for TLS) builds for wasm with the clang found here.
    for (key, value) in super::cc::wasi_env(triple) {
        if !flags.env.iter().any(|(set, _)| *set == key) {
            printer.verbose(format!("{key}={value}"));
            command.env(key, value);
        }
    }
    let shown = format!(
        "cargo build --target {triple} {}",
        flags.as_args().join(" ")
    );
    let shown = shown.trim_end().to_owned();
    printer.verbose(format!("running `{command:?}`"));
    (command, shown)
}

/// A started `cargo build`, in its own process group when [`builds_in_own_process_group`]
/// asked for one (`group` is then its number, else 0).
struct RunningCargo {
    child: std::process::Child,
    group: i32,
}

impl RunningCargo {
    /// Start `command` with piped output, tied to our lifetime; refused once a stop was
    /// requested.
    fn spawn(mut command: Command, shown: &str) -> anyhow::Result<RunningCargo> {
        crate::util::process::die_with_parent(&mut command);
        let own_group = OWN_PROCESS_GROUP.load(Ordering::SeqCst);
        if own_group {
            use std::os::unix::process::CommandExt as _;
            if STOP_REQUESTED.load(Ordering::SeqCst) {
                anyhow::bail!("`{shown}` was not started: stopping");
            }
            command.process_group(0).stdin(Stdio::null());
        }
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .hint_context(
                format!("could not run `{shown}`"),
                "install Rust with rustup (https://rustup.rs)",
            )?;
        let group = if own_group { child.id() as i32 } else { 0 };
        if own_group {
            RUNNING_BUILD_GROUP.store(group, Ordering::SeqCst);
            // A stop that came while cargo was starting found no group to signal.
            if STOP_REQUESTED.load(Ordering::SeqCst) {
                signal_build_group(group, libc::SIGINT);
            }
        }
        Ok(RunningCargo { child, group })
    }

    /// End cargo and its group now.
    fn kill(&mut self) {
        let _ = self.child.kill();
        signal_build_group(self.group, libc::SIGKILL);
    }

    /// Wait for cargo to end; after a stop, whatever in its group outlived it goes too.
    fn wait(&mut self, shown: &str) -> anyhow::Result<std::process::ExitStatus> {
        let status = self
            .child
            .wait()
            .with_context(|| format!("could not wait for `{shown}`"));
        RUNNING_BUILD_GROUP.store(0, Ordering::SeqCst);
        if STOP_REQUESTED.load(Ordering::SeqCst) {
            // A process that ignores SIGINT. The group's number cannot be reused while any
            // of it is left.
            signal_build_group(self.group, libc::SIGKILL);
        }
        status
    }
}

/// Read cargo's JSON messages to their end: every binary artifact, in order. Text lines go
/// through `gate`, each artifact advances `progress`, and with `--message-format json`
/// cargo's messages are passed through verbatim.
fn read_messages(
    stdout: std::process::ChildStdout,
    printer: &Printer,
    progress: &crate::ui::printer::Progress,
    gate: &OutputGate,
) -> std::io::Result<Vec<Candidate>> {
    let mut candidates = Vec::new();
    // Line by line (as `Message::parse_stream` does) to keep each line's text for
    // `--message-format json`.
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if printer.json_messages() && line.starts_with('{') {
            crate::ui::messages::pass_through(&line);
        }
        match serde_json::from_str::<Message>(&line).unwrap_or(Message::TextLine(line)) {
            Message::CompilerArtifact(artifact) => {
                if artifact.target.is_kind(TargetKind::CustomBuild) {
                    continue;
                }
                progress.inc(&artifact.target.name);
                let is_bin = artifact.target.is_kind(TargetKind::Bin);
                if let (true, Some(executable)) = (is_bin, artifact.executable) {
                    candidates.push(Candidate {
                        path: executable.into_std_path_buf(),
                        bin: artifact.target.name,
                        package_id: artifact.package_id,
                    });
                }
            }
            Message::TextLine(line) => gate.line(&line),
            _ => {}
        }
    }
    Ok(candidates)
}

/// The binaries built, each named by its package (as `cargo metadata` names it).
fn name_packages(candidates: Vec<Candidate>, project: &Project) -> Vec<BuiltModule> {
    candidates
        .into_iter()
        .map(|candidate| {
            let package = project
                .metadata
                .packages
                .iter()
                .find(|p| p.id == candidate.package_id)
                .map_or_else(|| candidate.package_id.repr.clone(), |p| p.name.to_string());
            BuiltModule {
                path: candidate.path,
                bin: candidate.bin,
                package,
            }
        })
        .collect()
}

fn choose_module(
    mut candidates: Vec<BuiltModule>,
    flags: &CargoFlags,
) -> anyhow::Result<BuiltModule> {
    if let Some(bin) = &flags.bin {
        candidates.retain(|module| &module.bin == bin);
    }
    match candidates.len() {
        1 => Ok(candidates.remove(0)),
        0 => Err(hint(
            "cargo built no binary, so there is no app module to run",
            "a wasock app needs a binary target (`src/main.rs`); pass `-p PACKAGE` or `--bin NAME` to pick one",
        )),
        _ => {
            let names: Vec<String> = candidates.iter().map(|m| format!("`{}` (package `{}`)", m.bin, m.package)).collect();
            Err(hint(
                format!("cargo built several binaries: {}", names.join(", ")),
                "pick one with `--bin NAME` (or `-p PACKAGE`)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_binaries_need_a_choice() {
        let module = |bin: &str| BuiltModule {
            path: format!("{bin}.wasm").into(),
            bin: bin.into(),
            package: "p".into(),
        };
        let error =
            choose_module(vec![module("a"), module("b")], &CargoFlags::default()).unwrap_err();
        assert!(error
            .to_string()
            .contains("`a` (package `p`), `b` (package `p`)"));
        let flags = CargoFlags {
            bin: Some("b".into()),
            ..Default::default()
        };
        assert_eq!(
            choose_module(vec![module("a"), module("b")], &flags)
                .unwrap()
                .bin,
            "b"
        );
    }
}
