//! Building the app for WASI: choosing and installing the target, running cargo, progress,
//! and finding the `.wasm` in cargo's JSON messages.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Mutex;

use anyhow::Context as _;
use cargo_metadata::{Message, TargetKind};

use crate::errors::{hint, HintExt as _};
use crate::metadata::{Project, ResolveFlags};
use crate::printer::{Printer, Verbosity};

/// The WASI target of the installed compiler.
#[derive(Debug, Clone)]
pub struct WasiTarget {
    pub triple: &'static str,
    /// As `rustc --version` gives it; None when it was not asked (see [`build_for_wasi`]).
    pub rustc_version: Option<String>,
}

/// Rust 1.78 renamed `wasm32-wasi` to `wasm32-wasip1` (and later dropped the old name).
pub fn wasi_triple_for(version: (u64, u64, u64)) -> &'static str {
    if version >= (1, 78, 0) {
        "wasm32-wasip1"
    } else {
        "wasm32-wasi"
    }
}

/// `rustc`, or what `$RUSTC` names, as cargo itself does.
fn rustc_program() -> PathBuf {
    std::env::var_os("RUSTC")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| "rustc".into())
}

/// `cargo`, or what `$CARGO` names (cargo sets it when it runs us as `cargo wasock`).
pub fn cargo_program() -> PathBuf {
    std::env::var_os("CARGO")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| "cargo".into())
}

fn run_for_stdout(command: &mut Command) -> anyhow::Result<String> {
    let shown = format!("{command:?}").replace('"', "");
    let output = command.stderr(Stdio::piped()).output().hint_context(
        format!("could not run `{shown}`"),
        "install Rust with rustup (https://rustup.rs)",
    )?;
    if !output.status.success() {
        anyhow::bail!(
            "`{shown}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The host's target triple (`rustc -vV`'s `host:` line), e.g. `x86_64-unknown-linux-gnu`.
pub fn host_triple() -> anyhow::Result<String> {
    let text = run_for_stdout(Command::new(rustc_program()).arg("-vV"))?;
    text.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_owned())
        .ok_or_else(|| {
            hint(
                "`rustc -vV` did not name the host target",
                "check your Rust installation",
            )
        })
}

/// `rustc --version` → (text version, parsed triple).
pub fn rustc_version() -> anyhow::Result<(String, (u64, u64, u64))> {
    let text = run_for_stdout(Command::new(rustc_program()).arg("--version"))?;
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let core = version.split('-').next().unwrap_or_default();
    let numbers: Vec<u64> = core
        .split('.')
        .filter_map(|part| part.parse().ok())
        .collect();
    match numbers[..] {
        [major, minor, patch] => Ok((version, (major, minor, patch))),
        _ => Err(hint(
            format!(
                "could not read the version in `rustc --version`: {:?}",
                text.trim()
            ),
            "check your Rust installation",
        )),
    }
}

/// The targets installed for the toolchain used in `project_dir`: `rustup target list
/// --installed`, or without rustup the targets in rustc's sysroot.
fn installed_targets(rustup: Option<&Path>, project_dir: &Path) -> anyhow::Result<Vec<String>> {
    if let Some(rustup) = rustup {
        // Run where the project is, so a rust-toolchain file there picks the toolchain.
        let list = run_for_stdout(
            Command::new(rustup)
                .args(["target", "list", "--installed"])
                .current_dir(project_dir),
        )?;
        return Ok(list.lines().map(|line| line.trim().to_owned()).collect());
    }
    let sysroot = run_for_stdout(Command::new(rustc_program()).args(["--print", "sysroot"]))?;
    let rustlib = Path::new(sysroot.trim()).join("lib").join("rustlib");
    let Ok(entries) = std::fs::read_dir(&rustlib) else {
        return Ok(Vec::new());
    };
    Ok(entries
        .flatten()
        .filter(|entry| entry.path().join("lib").is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect())
}

/// Is the target's standard library installed for the compiler cargo will use?
pub fn target_installed(
    triple: &str,
    rustup: Option<&Path>,
    project_dir: &Path,
) -> anyhow::Result<bool> {
    Ok(installed_targets(rustup, project_dir)?
        .iter()
        .any(|target| target == triple))
}

/// What the toolchain used in a project says about its WASI target.
pub struct ToolchainProbe {
    pub target: WasiTarget,
    pub installed: bool,
    rustup: Option<PathBuf>,
}

/// Ask the toolchain used in `project_dir` for its version (which picks the target's name)
/// and its installed targets, both at once: each is tens of milliseconds, paid on every build.
pub fn probe_wasi_target(project_dir: &Path) -> anyhow::Result<ToolchainProbe> {
    let rustup = which::which("rustup").ok();
    let (version, installed) = std::thread::scope(|scope| {
        let installed = scope.spawn(|| installed_targets(rustup.as_deref(), project_dir));
        let version = rustc_version();
        let installed = installed
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (version, installed)
    });
    let (rustc_version, parsed) = version?;
    let triple = wasi_triple_for(parsed);
    Ok(ToolchainProbe {
        installed: installed?.iter().any(|target| target == triple),
        target: WasiTarget {
            triple,
            rustc_version: Some(rustc_version),
        },
        rustup,
    })
}

/// Find the WASI target; install it with rustup when it is missing (saying so).
pub fn ensure_wasi_target(project_dir: &Path, printer: &Printer) -> anyhow::Result<WasiTarget> {
    let probe = probe_wasi_target(project_dir)?;
    if probe.installed {
        return Ok(probe.target);
    }
    let triple = probe.target.triple;
    let rustc_version = probe.target.rustc_version.unwrap_or_default();
    let rustup = probe.rustup;
    let install = format!("rustup target add {triple}");
    let Some(rustup) = rustup else {
        return Err(hint(
            format!("the WASI target `{triple}` is not installed for rustc {rustc_version}, and rustup was not found to install it"),
            format!("run `{install}` (install rustup from https://rustup.rs first), or add the `{triple}` standard library to your toolchain"),
        ));
    };
    printer.status("Installing", format!("the WASI target with `{install}`"));
    let status = Command::new(&rustup)
        .args(["target", "add", triple])
        .current_dir(project_dir)
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("could not run `{install}`"))?;
    if !status.success() {
        return Err(hint(
            format!("`{install}` failed ({status})"),
            format!("run `{install}` yourself and look at its output"),
        ));
    }
    Ok(WasiTarget {
        triple,
        rustc_version: Some(rustc_version),
    })
}

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
    let shown = format!(
        "cargo build --target {triple} {}",
        flags.as_args().join(" ")
    );
    let shown = shown.trim_end().to_owned();
    printer.verbose(format!("running `{command:?}`"));

    crate::launch::die_with_parent(&mut command);
    let own_group = OWN_PROCESS_GROUP.load(Ordering::SeqCst);
    if own_group {
        use std::os::unix::process::CommandExt as _;
        if STOP_REQUESTED.load(Ordering::SeqCst) {
            anyhow::bail!("`{shown}` was not started: stopping");
        }
        command.process_group(0).stdin(Stdio::null());
    }
    let mut child = command
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
    let stderr = child
        .stderr
        .take()
        .context("cargo's stderr was not captured")?;
    let stdout = child
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

        let mut candidates = Vec::new();
        let mut stream_error = None;
        // Read line by line (as `Message::parse_stream` does) to keep each line's text for
        // `--message-format json`, which passes cargo's own messages through verbatim.
        let messages = BufReader::new(stdout).lines().map(|line| {
            line.map(|line| {
                if printer.json_messages() && line.starts_with('{') {
                    crate::messages::pass_through(&line);
                }
                serde_json::from_str::<Message>(&line).unwrap_or(Message::TextLine(line))
            })
        });
        for message in messages {
            match message {
                Ok(Message::CompilerArtifact(artifact)) => {
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
                Ok(Message::TextLine(line)) => gate.line(&line),
                Ok(_) => {}
                Err(error) => {
                    // Nobody reads cargo's output any more: stop it rather than wait on it.
                    let _ = child.kill();
                    signal_build_group(group, libc::SIGKILL);
                    stream_error = Some(error);
                    break;
                }
            }
        }
        let status = child
            .wait()
            .with_context(|| format!("could not wait for `{shown}`"));
        RUNNING_BUILD_GROUP.store(0, Ordering::SeqCst);
        if STOP_REQUESTED.load(Ordering::SeqCst) {
            // Whatever in the group outlived cargo (a process that ignores SIGINT) goes
            // too. The group's number cannot be reused while any of it is left.
            signal_build_group(group, libc::SIGKILL);
        }
        let (project, checked) = checked
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        if let Some(error) = stream_error {
            return Err(error).context("could not read cargo's JSON output");
        }
        let status = status?;
        if !status.success() {
            return Err(hint(
                format!("`{shown}` failed ({status})"),
                "fix the errors cargo reported above",
            ));
        }
        let candidates = candidates
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
            .collect();
        Ok((choose_module(candidates, flags)?, project, checked))
    })
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
    fn target_name_follows_the_rust_version() {
        assert_eq!(wasi_triple_for((1, 77, 2)), "wasm32-wasi");
        assert_eq!(wasi_triple_for((1, 78, 0)), "wasm32-wasip1");
        assert_eq!(wasi_triple_for((1, 95, 0)), "wasm32-wasip1");
    }

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
