//! The user's cache of compiled code: `$XDG_CACHE_HOME/cargo-wasock` (else
//! `~/.cache/cargo-wasock`), or `$CARGO_WASOCK_CACHE_DIR` when set.
//!
//! ```text
//! cargo-wasock/
//!   CACHEDIR.TAG                     backup tools skip the folder
//!   engine/<sha256>.cwasm            the embedded engine's precompiled modules (wasock-engine's ModuleCache)
//!   wasmedge/<sha256>.aot.wasm       `wasmedge compile` output for `--wasm` modules, with its record
//!   js-runtime/                      the JavaScript runtime module (`js.rs`, which removes
//!                                    older keys after a build; not cleaned here)
//!   metadata/                        `cargo metadata` answers (`project/metadata_cache.rs`; not cleaned here)
//! ```
//!
//! Nothing is ever written beside a user's file: a cargo build's AOT output goes into
//! cargo's target directory, everything else here. Each folder is bounded to
//! [`MAX_BYTES`]: its least recently used entries go first. `cargo wasock cache clean`
//! removes the entries, and only them.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use etcetera::BaseStrategy as _;

use crate::ui::errors::hint;

/// Overrides where the cache lives.
pub const DIR_VARIABLE: &str = "CARGO_WASOCK_CACHE_DIR";

/// The bound of each cache folder: 1 GiB.
pub const MAX_BYTES: u64 = 1 << 30;

/// The cache's root folder (not created here).
pub fn root() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(DIR_VARIABLE).filter(|dir| !dir.is_empty()) {
        return std::path::absolute(PathBuf::from(&dir)).with_context(|| {
            format!("could not resolve {DIR_VARIABLE}={}", dir.to_string_lossy())
        });
    }
    let strategy = etcetera::choose_base_strategy().map_err(|error| {
        hint(
            format!("could not find the user's cache directory: {error}"),
            format!("set HOME, XDG_CACHE_HOME or {DIR_VARIABLE}"),
        )
    })?;
    Ok(strategy.cache_dir().join("cargo-wasock"))
}

/// Create the root (with its `CACHEDIR.TAG`) and `sub` below it.
pub fn ensure(sub: &str) -> anyhow::Result<PathBuf> {
    let root = root()?;
    let dir = root.join(sub);
    fs::create_dir_all(&dir).with_context(|| format!("could not create `{}`", dir.display()))?;
    let tag = root.join("CACHEDIR.TAG");
    if !tag.exists() {
        // https://bford.info/cachedir/: a tag that only marks the folder; losing it is harmless.
        let _ = fs::write(
            &tag,
            "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by cargo-wasock.\n",
        );
    }
    Ok(dir)
}

/// The embedded engine's precompile cache.
#[cfg(feature = "embedded")]
pub fn engine() -> anyhow::Result<wasock_engine::ModuleCache> {
    Ok(wasock_engine::ModuleCache::new(root()?.join("engine")).with_max_bytes(MAX_BYTES))
}

/// The folder for WasmEdge's AOT output of `--wasm` modules.
pub fn wasmedge_dir() -> anyhow::Result<PathBuf> {
    Ok(root()?.join("wasmedge"))
}

/// Whether `name` is one of our entries in the `wasmedge` folder.
fn is_wasmedge_entry(name: &str) -> bool {
    name.ends_with(".aot.wasm") || name.ends_with(".aot.wasm.wasock-cache.json")
}

/// Our entries in the `wasmedge` folder, with their metadata (none when it is absent).
fn wasmedge_entries() -> anyhow::Result<Vec<(PathBuf, fs::Metadata)>> {
    let dir = wasmedge_dir()?;
    let listing = match fs::read_dir(&dir) {
        Ok(listing) => listing,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error).with_context(|| format!("could not read `{}`", dir.display()))
        }
    };
    let mut found = Vec::new();
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(meta) = entry.metadata() {
            if meta.is_file() && is_wasmedge_entry(&name) {
                found.push((entry.path(), meta));
            }
        }
    }
    Ok(found)
}

/// Mark `path` as just used, for least-recently-used eviction.
pub fn touch(path: &Path) {
    let _ = fs::File::options()
        .append(true)
        .open(path)
        .and_then(|file| file.set_modified(SystemTime::now()));
}

/// Bring the `wasmedge` folder under [`MAX_BYTES`], oldest first, never removing `keep`
/// or its record.
pub fn evict_wasmedge(keep: &Path) -> anyhow::Result<()> {
    let mut entries = wasmedge_entries()?;
    let mut total: u64 = entries.iter().map(|(_, meta)| meta.len()).sum();
    entries.sort_by_key(|(_, meta)| meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
    for (path, meta) in entries {
        if total <= MAX_BYTES {
            break;
        }
        // `keep` itself and its record, `keep` + `.wasock-cache.json`.
        if path.to_string_lossy().starts_with(&*keep.to_string_lossy()) {
            continue;
        }
        match fs::remove_file(&path) {
            Ok(()) => total -= meta.len(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => total -= meta.len(),
            Err(error) => {
                return Err(error).with_context(|| format!("could not remove `{}`", path.display()))
            }
        }
    }
    Ok(())
}

/// Entries and bytes of one cache folder.
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    pub entries: u64,
    pub bytes: u64,
}

/// What each folder holds: (engine, wasmedge).
pub fn usage() -> anyhow::Result<(Usage, Usage)> {
    let wasmedge = wasmedge_entries()?
        .iter()
        .filter(|(path, _)| path.to_string_lossy().ends_with(".aot.wasm"))
        .fold(Usage::default(), |usage, (_, meta)| Usage {
            entries: usage.entries + 1,
            bytes: usage.bytes + meta.len(),
        });
    Ok((engine_usage()?, wasmedge))
}

#[cfg(feature = "embedded")]
fn engine_usage() -> anyhow::Result<Usage> {
    let cache = engine()?;
    let usage = cache
        .usage()
        .with_context(|| format!("could not read `{}`", cache.dir().display()))?;
    Ok(Usage {
        entries: usage.entries,
        bytes: usage.bytes,
    })
}

#[cfg(not(feature = "embedded"))]
fn engine_usage() -> anyhow::Result<Usage> {
    Ok(Usage::default())
}

/// Remove every entry; what was removed, over both folders. Files we did not write
/// stay, and so do the folders.
pub fn clean() -> anyhow::Result<Usage> {
    let mut removed = clean_engine()?;
    for (path, meta) in wasmedge_entries()? {
        match fs::remove_file(&path) {
            Ok(()) => {
                if path.to_string_lossy().ends_with(".aot.wasm") {
                    removed.entries += 1;
                }
                removed.bytes += meta.len();
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("could not remove `{}`", path.display()))
            }
        }
    }
    Ok(removed)
}

#[cfg(feature = "embedded")]
fn clean_engine() -> anyhow::Result<Usage> {
    let cache = engine()?;
    let removed = cache
        .clear()
        .with_context(|| format!("could not clean `{}`", cache.dir().display()))?;
    Ok(Usage {
        entries: removed.entries,
        bytes: removed.bytes,
    })
}

#[cfg(not(feature = "embedded"))]
fn clean_engine() -> anyhow::Result<Usage> {
    Ok(Usage::default())
}
