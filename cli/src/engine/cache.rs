//! Ahead-of-time compilation for the engine: wasmtime's serialized modules, cached by
//! the sha256 of the module bytes and the engine version.
//!
//! The file name carries the whole key, so a changed module or a different wasmtime
//! simply misses and compiles anew; a stale file is never mistaken for a fresh one.
//! Writes go to a temporary file renamed into place, so a crash never leaves a torn
//! entry behind.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::{engine, version, Precompiled};

/// The cache file for `bytes` in `cache_dir`.
pub fn cache_path(bytes: &[u8], cache_dir: &Path) -> PathBuf {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    hasher.update(version().as_bytes());
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    cache_dir.join(format!("{hex}.cwasm"))
}

pub fn precompile(module: &Path, cache_dir: &Path) -> anyhow::Result<Precompiled> {
    let bytes =
        fs::read(module).with_context(|| format!("could not read `{}`", module.display()))?;
    let path = cache_path(&bytes, cache_dir);
    if path.is_file() {
        return Ok(Precompiled { path, reused: true });
    }
    fs::create_dir_all(cache_dir)
        .with_context(|| format!("could not create `{}`", cache_dir.display()))?;
    let serialized = engine()?
        .precompile_module(&bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| {
            format!(
                "could not compile `{}`\nhelp: check that it is a valid wasm module",
                module.display()
            )
        })?;
    let staging = tempfile::NamedTempFile::new_in(cache_dir).with_context(|| {
        format!(
            "could not create a temporary file in `{}`",
            cache_dir.display()
        )
    })?;
    fs::write(staging.path(), &serialized)
        .with_context(|| format!("could not write `{}`", staging.path().display()))?;
    staging.persist(&path).with_context(|| {
        format!(
            "could not move the precompiled module to `{}`",
            path.display()
        )
    })?;
    Ok(Precompiled {
        path,
        reused: false,
    })
}
