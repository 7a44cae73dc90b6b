//! Finding WasmEdge, reading its version once, and the command lines we give it.
//!
//! The `run` command line has one fixed order, so users and tests can rely on it:
//!
//! ```text
//! wasmedge [--dir GUEST:HOST[:readonly]]... [--env KEY=VALUE]... [--run-mode=aot] MODULE [ARGS]...
//! ```
//!
//! Directories and variables keep the order they were given in. `--run-mode=aot` appears
//! only for an AOT-compiled module on WasmEdge 0.17 or later: from 0.17 the default mode is
//! the interpreter, which ignores the compiled code (checked on 0.17.1), and older releases
//! do not know the flag.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use crate::ui::errors::hint;

/// A found `wasmedge` and what it said its version is.
#[derive(Debug, Clone)]
pub struct WasmEdge {
    pub path: PathBuf,
    /// The version as printed, e.g. `0.17.1`.
    pub version: String,
    parsed: Option<(u64, u64, u64)>,
}

/// Where we look, in order, described for messages.
pub const SEARCH_DESCRIPTION: &str = "PATH, $WASMEDGE_DIR/bin and ~/.wasmedge/bin";

/// How to get WasmEdge, for `help:` lines.
pub const INSTALL_HELP: &str =
    "install WasmEdge (https://wasmedge.org/docs/start/install) or set WASMEDGE_DIR to its install folder";

/// The `wasmedge` executable: on PATH, else `$WASMEDGE_DIR/bin`, else `~/.wasmedge/bin`
/// (where WasmEdge's installer puts it without touching PATH in the current shell).
pub fn find() -> Option<PathBuf> {
    if let Ok(path) = which::which("wasmedge") {
        return Some(path);
    }
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("WASMEDGE_DIR").filter(|dir| !dir.is_empty()) {
        candidates.push(PathBuf::from(dir).join("bin").join("wasmedge"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|home| !home.is_empty()) {
        candidates.push(
            PathBuf::from(home)
                .join(".wasmedge")
                .join("bin")
                .join("wasmedge"),
        );
    }
    candidates.into_iter().find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Find WasmEdge and ask it its version (the only time we run `--version`).
pub fn detect() -> anyhow::Result<Option<WasmEdge>> {
    let Some(path) = find() else { return Ok(None) };
    let output = Command::new(&path)
        .arg("--version")
        .output()
        .with_context(|| format!("could not run `{} --version`", path.display()))?;
    if !output.status.success() {
        return Err(hint(
            format!("`{} --version` failed ({})", path.display(), output.status),
            "check the WasmEdge installation, or run with `--runtime embedded`",
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let version = parse_version_text(&text).ok_or_else(|| {
        hint(
            format!(
                "could not read a version from `{} --version`: {:?}",
                path.display(),
                text.trim()
            ),
            "check the WasmEdge installation, or run with `--runtime embedded`",
        )
    })?;
    Ok(Some(WasmEdge {
        parsed: parse_triple(&version),
        path,
        version,
    }))
}

/// The first `X.Y.Z` token in `wasmedge --version`'s output (e.g. `wasmedge version 0.17.1`).
fn parse_version_text(text: &str) -> Option<String> {
    text.split_whitespace()
        .map(|word| word.trim_start_matches('v'))
        .find(|word| parse_triple(word).is_some())
        .map(str::to_owned)
}

fn parse_triple(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|part| part.parse::<u64>().ok());
    let triple = (
        parts.next()??,
        parts.next()??,
        parts.next().unwrap_or(Some(0))?,
    );
    Some(triple)
}

impl WasmEdge {
    /// Since 0.17 an AOT module runs compiled only when asked with `--run-mode=aot`.
    pub fn needs_run_mode_aot(&self) -> bool {
        self.parsed.is_some_and(|version| version >= (0, 17, 0))
    }

    /// `wasmedge compile INPUT OUTPUT`: a universal wasm file with native code inside.
    pub fn compile_command(&self, input: &Path, output: &Path) -> Command {
        let mut command = Command::new(&self.path);
        command.arg("compile").arg(input).arg(output);
        command
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_versions_from_wasmedge_output() {
        assert_eq!(
            parse_version_text("wasmedge version 0.17.1\n").as_deref(),
            Some("0.17.1")
        );
        assert_eq!(
            parse_version_text("wasmedge version 0.14.1-rc.2 (abc)").as_deref(),
            Some("0.14.1-rc.2")
        );
        assert_eq!(parse_version_text("nothing here"), None);
    }

    #[test]
    fn run_mode_flag_from_0_17() {
        let at = |version: &str| WasmEdge {
            path: "wasmedge".into(),
            version: version.into(),
            parsed: parse_triple(version),
        };
        assert!(!at("0.16.1").needs_run_mode_aot());
        assert!(at("0.17.0").needs_run_mode_aot());
        assert!(at("1.0.0").needs_run_mode_aot());
    }
}
