//! Ahead-of-time compilation for the engine: wasmtime's serialized modules, cached by
//! the sha256 of the module bytes and the engine version.
//!
//! The file name carries the whole key, so a changed module or a different wasmtime
//! simply misses and compiles anew; a stale file is never mistaken for a fresh one.
//! Writes go to a temporary file renamed into place, so a crash never leaves a torn
//! entry behind.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::boxed;
use super::{engine, version, EngineError, Precompiled};

/// The cache file for `bytes` in `cache_dir`.
pub fn cache_path(bytes: &[u8], cache_dir: &Path) -> PathBuf {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    hasher.update(version().as_bytes());
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    cache_dir.join(format!("{hex}.cwasm"))
}

pub fn precompile(module: &Path, cache_dir: &Path) -> Result<Precompiled, EngineError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| EngineError::Io {
            action,
            path,
            source,
        }
    };
    let bytes = fs::read(module).map_err(io("could not read", module))?;
    let path = cache_path(&bytes, cache_dir);
    if path.is_file() {
        return Ok(Precompiled { path, reused: true });
    }
    fs::create_dir_all(cache_dir).map_err(io("could not create", cache_dir))?;
    let serialized =
        engine()?
            .precompile_module(&bytes)
            .map_err(|source| EngineError::Compile {
                path: module.to_path_buf(),
                source: boxed(source),
            })?;
    let staging = tempfile::NamedTempFile::new_in(cache_dir)
        .map_err(io("could not create a temporary file in", cache_dir))?;
    fs::write(staging.path(), &serialized).map_err(io("could not write", staging.path()))?;
    staging
        .persist(&path)
        .map_err(|error| error.error)
        .map_err(io("could not move the precompiled module to", &path))?;
    Ok(Precompiled {
        path,
        reused: false,
    })
}
