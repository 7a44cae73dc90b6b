//! Building the app for WASI: choosing and installing the target, running cargo, progress,
//! and finding the `.wasm` in cargo's JSON messages.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;
use cargo_metadata::{Message, TargetKind};

use crate::errors::{hint, HintExt as _};
use crate::metadata::{Project, ResolveFlags};
use crate::printer::{Printer, Verbosity};

/// The WASI target of the installed compiler.
#[derive(Debug, Clone)]
pub struct WasiTarget {
    pub triple: &'static str,
    pub rustc_version: String,
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

/// Is the target's standard library installed for the compiler cargo will use?
pub fn target_installed(
    triple: &str,
    rustup: Option<&Path>,
    project_dir: &Path,
) -> anyhow::Result<bool> {
    if let Some(rustup) = rustup {
        // Run where the project is, so a rust-toolchain file there picks the toolchain.
        let list = run_for_stdout(
            Command::new(rustup)
                .args(["target", "list", "--installed"])
                .current_dir(project_dir),
        )?;
        return Ok(list.lines().any(|line| line.trim() == triple));
    }
    let sysroot = run_for_stdout(Command::new(rustc_program()).args(["--print", "sysroot"]))?;
    Ok(Path::new(sysroot.trim())
        .join("lib")
        .join("rustlib")
        .join(triple)
        .join("lib")
        .is_dir())
}

/// Find the WASI target; install it with rustup when it is missing (saying so).
pub fn ensure_wasi_target(project_dir: &Path, printer: &Printer) -> anyhow::Result<WasiTarget> {
    let (rustc_version, parsed) = rustc_version()?;
    let triple = wasi_triple_for(parsed);
    let rustup = which::which("rustup").ok();
    if target_installed(triple, rustup.as_deref(), project_dir)? {
        return Ok(WasiTarget {
            triple,
            rustc_version,
        });
    }
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
        rustc_version,
    })
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
    fn as_args(&self) -> Vec<String> {
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

/// Run `cargo build` for `target`, forwarding diagnostics, and return the binary's `.wasm`.
pub fn build(
    flags: &CargoFlags,
    target: &WasiTarget,
    project: &Project,
    printer: &Printer,
) -> anyhow::Result<BuiltModule> {
    let mut command = Command::new(cargo_program());
    command.args([
        "build",
        "--target",
        target.triple,
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
        "cargo build --target {} {}",
        target.triple,
        flags.as_args().join(" ")
    );
    let shown = shown.trim_end().to_owned();
    printer.verbose(format!("running `{command:?}`"));

    crate::launch::die_with_parent(&mut command);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .hint_context(
            format!("could not run `{shown}`"),
            "install Rust with rustup (https://rustup.rs)",
        )?;

    // cargo's own lines (Compiling…, warnings, errors) are printed above the bar.
    let stderr = child
        .stderr
        .take()
        .context("cargo's stderr was not captured")?;
    let stderr_printer = printer.clone();
    let stderr_pump = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            stderr_printer.raw(&line);
        }
    });

    let progress = printer.progress(project.crate_estimate().max(1), "Building");
    let stdout = child
        .stdout
        .take()
        .context("cargo's stdout was not captured")?;
    let mut candidates = Vec::new();
    for message in Message::parse_stream(BufReader::new(stdout)) {
        match message.context("could not read cargo's JSON output")? {
            Message::CompilerArtifact(artifact) => {
                if artifact.target.is_kind(TargetKind::CustomBuild) {
                    continue;
                }
                progress.inc(&artifact.target.name);
                let is_bin = artifact.target.is_kind(TargetKind::Bin);
                if let (true, Some(executable)) = (is_bin, artifact.executable) {
                    let package = project
                        .metadata
                        .packages
                        .iter()
                        .find(|p| p.id == artifact.package_id)
                        .map_or_else(|| artifact.package_id.repr.clone(), |p| p.name.to_string());
                    candidates.push(BuiltModule {
                        path: executable.into_std_path_buf(),
                        bin: artifact.target.name,
                        package,
                    });
                }
            }
            Message::TextLine(line) => printer.raw(&line),
            _ => {}
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("could not wait for `{shown}`"))?;
    drop(progress);
    let _ = stderr_pump.join();
    if !status.success() {
        return Err(hint(
            format!("`{shown}` failed ({status})"),
            "fix the errors cargo reported above",
        ));
    }
    choose_module(candidates, flags)
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
