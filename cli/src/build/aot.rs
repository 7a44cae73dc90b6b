//! Ahead-of-time compilation: `wasmedge compile` with a cache record, or the embedded
//! engine's precompile cache.
//!
//! WasmEdge's output of a cargo artifact is its sibling `NAME.aot.wasm` in cargo's target
//! directory; of a `--wasm` module, `<sha256>.aot.wasm` in the user's cache (never beside
//! a user's file, see `crate::cache`). Beside each output, `….wasock-cache.json` records
//! what it was made from: the input's SHA-256, the WasmEdge version, the compile flags and
//! the output's SHA-256. When all match the output is current: `--aot` skips the compile
//! and `run` uses it without `--aot`; anything else (a rebuilt module, another WasmEdge,
//! an edited output) compiles again.
//!
//! The embedded engine needs no record: its cache names entries by their whole key.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::cache;
use crate::ui::errors::hint;
use crate::ui::printer::{human_size, Printer};
use crate::util::digest::sha256_file;
use crate::util::wasmedge::WasmEdge;

/// Flags we give `wasmedge compile` beyond its paths; part of the cache key.
const COMPILE_FLAGS: &[&str] = &[];

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct CacheRecord {
    input_sha256: String,
    wasmedge_version: String,
    flags: Vec<String>,
    output_sha256: String,
}

/// `app.wasm` → `app.aot.wasm` in the same directory.
pub fn aot_path(module: &Path) -> PathBuf {
    let stem = module
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app".into());
    module.with_file_name(format!("{stem}.aot.wasm"))
}

fn record_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".wasock-cache.json");
    output.with_file_name(name)
}

/// Where the AOT output of a module lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AotHome {
    /// Beside cargo's artifact, in the target directory (`NAME.aot.wasm`).
    BesideArtifact,
    /// In the user's cache: a module given with `--wasm` is the user's file.
    UserCache,
}

/// One module's WasmEdge AOT output and what its record must say to be current.
struct WasmEdgeAot {
    input_sha256: String,
    output: PathBuf,
    flags: Vec<String>,
}

impl WasmEdgeAot {
    fn plan(input: &Path, home: AotHome) -> anyhow::Result<Self> {
        let input_sha256 = sha256_file(input)?;
        let output = match home {
            AotHome::BesideArtifact => aot_path(input),
            AotHome::UserCache => cache::wasmedge_dir()?.join(format!("{input_sha256}.aot.wasm")),
        };
        let flags = COMPILE_FLAGS
            .iter()
            .map(|flag| (*flag).to_owned())
            .collect();
        Ok(WasmEdgeAot {
            input_sha256,
            output,
            flags,
        })
    }

    /// The output exists and its record vouches for this input, WasmEdge and flags.
    fn is_current(&self, wasmedge: &WasmEdge) -> bool {
        let previous: Option<CacheRecord> = fs::read(record_path(&self.output))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        previous.is_some_and(|previous| {
            previous.input_sha256 == self.input_sha256
                && previous.wasmedge_version == wasmedge.version
                && previous.flags == self.flags
                && self.output.is_file()
                && sha256_file(&self.output).is_ok_and(|sha| sha == previous.output_sha256)
        })
    }
}

/// The current WasmEdge AOT output of `input`, if there is one: what `run` uses
/// without `--aot`.
pub fn current_wasmedge_aot(
    wasmedge: &WasmEdge,
    input: &Path,
    home: AotHome,
) -> anyhow::Result<Option<PathBuf>> {
    let aot = WasmEdgeAot::plan(input, home)?;
    if !aot.is_current(wasmedge) {
        return Ok(None);
    }
    if home == AotHome::UserCache {
        cache::touch(&aot.output);
    }
    Ok(Some(aot.output))
}

/// Compile `input` with WasmEdge into its AOT output, unless that is current.
pub fn wasmedge_compile(
    wasmedge: &WasmEdge,
    input: &Path,
    home: AotHome,
    printer: &Printer,
) -> anyhow::Result<PathBuf> {
    let aot = WasmEdgeAot::plan(input, home)?;
    let output = aot.output.clone();
    let record_file = record_path(&output);
    if aot.is_current(wasmedge) {
        if home == AotHome::UserCache {
            cache::touch(&output);
        }
        printer.status(
            "AOT",
            describe_with(&output, "unchanged since the last compile"),
        );
        printer.message(
            "aot",
            &AotMessage {
                path: &output,
                cached: true,
            },
        );
        return Ok(output);
    }
    if home == AotHome::UserCache {
        cache::ensure("wasmedge")?;
    }

    // A failed compile must not leave a record that vouches for an old output.
    if record_file.exists() {
        fs::remove_file(&record_file)
            .with_context(|| format!("could not remove `{}`", record_file.display()))?;
    }
    printer.status(
        "Compiling",
        format!(
            "{} with WasmEdge {} (AOT)",
            input.display(),
            wasmedge.version
        ),
    );
    let spinner = printer.spinner("AOT", format!("wasmedge compile {}", input.display()));
    let mut command = wasmedge.compile_command(input, &output);
    command.args(COMPILE_FLAGS);
    crate::util::process::die_with_parent(&mut command);
    let shown = format!(
        "{} compile {} {}",
        wasmedge.path.display(),
        input.display(),
        output.display()
    );
    let result = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run `{shown}`"))?;
    drop(spinner);
    if !result.status.success() {
        return Err(hint(
            format!(
                "`{shown}` failed ({}): {}{}",
                result.status,
                String::from_utf8_lossy(&result.stdout).trim(),
                String::from_utf8_lossy(&result.stderr).trim()
            ),
            "run the command yourself to see its full output, or build without `--aot`",
        ));
    }
    printer.verbose(String::from_utf8_lossy(&result.stderr).trim());
    if !output.is_file() {
        return Err(hint(
            format!("`{shown}` succeeded but wrote no `{}`", output.display()),
            "check the WasmEdge installation",
        ));
    }
    let record = CacheRecord {
        input_sha256: aot.input_sha256,
        wasmedge_version: wasmedge.version.clone(),
        flags: aot.flags,
        output_sha256: sha256_file(&output)?,
    };
    let json =
        serde_json::to_vec_pretty(&record).context("could not encode the AOT cache record")?;
    fs::write(&record_file, json)
        .with_context(|| format!("could not write `{}`", record_file.display()))?;
    if home == AotHome::UserCache {
        cache::evict_wasmedge(&output)?;
    }
    printer.status("AOT", describe(&output));
    printer.message(
        "aot",
        &AotMessage {
            path: &output,
            cached: false,
        },
    );
    Ok(output)
}

/// `--message-format json`'s `aot`: the ahead-of-time output, and whether an earlier
/// compile was reused (`cached`) rather than made now.
#[derive(serde::Serialize)]
struct AotMessage<'a> {
    path: &'a Path,
    cached: bool,
}

/// Who compiles ahead of time, if anyone.
pub enum AotBy<'a> {
    Nobody,
    WasmEdge(&'a WasmEdge),
    #[cfg_attr(not(feature = "embedded"), allow(dead_code))]
    EmbeddedEngine,
}

/// Compile `module` ahead of time as `by` says (WasmEdge's output goes to `home`, the
/// engine's into its cache); the output, or None when nobody compiles.
pub fn compile(
    by: AotBy<'_>,
    module: &Path,
    home: AotHome,
    printer: &Printer,
) -> anyhow::Result<Option<PathBuf>> {
    let output = match by {
        AotBy::Nobody => return Ok(None),
        AotBy::WasmEdge(wasmedge) => wasmedge_compile(wasmedge, module, home, printer)?,
        #[cfg(feature = "embedded")]
        AotBy::EmbeddedEngine => embedded_precompile(module, printer)?,
        #[cfg(not(feature = "embedded"))]
        AotBy::EmbeddedEngine => unreachable!("the embedded engine is not compiled in"),
    };
    Ok(Some(output))
}

/// Precompile for the embedded engine into the user's cache, where `run` finds it.
#[cfg(feature = "embedded")]
pub fn embedded_precompile(input: &Path, printer: &Printer) -> anyhow::Result<PathBuf> {
    let cache = cache::engine()?;
    cache::ensure("engine")?;
    let spinner = printer.spinner(
        "AOT",
        format!("precompiling {} for the embedded engine", input.display()),
    );
    let precompiled = cache.precompile(input).map_err(|error| {
        let message = format!(
            "could not precompile `{}` for the embedded engine",
            input.display()
        );
        crate::util::engine::explain(error, message)
    })?;
    drop(spinner);
    if precompiled.reused {
        printer.status(
            "AOT",
            describe_with(&precompiled.path, "precompiled, unchanged"),
        );
    } else {
        printer.status(
            "Precompiled",
            format!("{} for {}", input.display(), wasock_engine::version()),
        );
        printer.status("AOT", describe(&precompiled.path));
    }
    printer.message(
        "aot",
        &AotMessage {
            path: &precompiled.path,
            cached: precompiled.reused,
        },
    );
    Ok(precompiled.path)
}

/// `path (size; note)` for status lines.
pub fn describe_with(path: &Path, note: &str) -> String {
    match fs::metadata(path) {
        Ok(meta) => format!("{} ({}; {note})", path.display(), human_size(meta.len())),
        Err(_) => format!("{} ({note})", path.display()),
    }
}

/// `path (size)` for the final "built" lines.
pub fn describe(path: &Path) -> String {
    match fs::metadata(path) {
        Ok(meta) => format!("{} ({})", path.display(), human_size(meta.len())),
        Err(_) => path.display().to_string(),
    }
}
