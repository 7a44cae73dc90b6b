//! The WASI target: its name for this toolchain (`wasm32-wasip1`, `wasm32-wasi` before Rust
//! 1.78), whether it is installed (rustup, or the sysroot), installing it, and the
//! toolchain's programs and versions.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;

use crate::ui::errors::{hint, HintExt as _};
use crate::ui::printer::Printer;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_name_follows_the_rust_version() {
        assert_eq!(wasi_triple_for((1, 77, 2)), "wasm32-wasi");
        assert_eq!(wasi_triple_for((1, 78, 0)), "wasm32-wasip1");
        assert_eq!(wasi_triple_for((1, 95, 0)), "wasm32-wasip1");
    }
}
