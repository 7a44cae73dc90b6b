//! The precompile cache: wasmtime's serialized modules, so a guest compiles once and
//! later starts load its native code instead of compiling again.
//!
//! An entry's file name is its whole key, `<sha256>.cwasm`, the hash taken over the
//! module's bytes, the engine version and wasmtime's compatibility hash of the engine's
//! settings (compiler flags, CPU features, wasm features). A changed module, another
//! wasmtime or other settings therefore miss and compile anew; a stale entry is never
//! mistaken for a fresh one. Entries are written to a temporary file and renamed into
//! place, so a crash or a second process never leaves a torn entry.
//!
//! The cache is bounded: a hit refreshes the entry's modification time, and after each
//! new entry the least recently used ones are removed until the total fits
//! [`ModuleCache::max_bytes`].

use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::error::boxed;
use super::{engine, version, EngineError};

/// The file name suffix of cache entries.
const ENTRY_SUFFIX: &str = ".cwasm";
/// The prefix of entries being written; one older than [`STALE_STAGING`] is a leftover.
const STAGING_PREFIX: &str = ".staging-";
const STALE_STAGING: Duration = Duration::from_secs(3600);

/// A directory of precompiled modules, bounded in size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleCache {
    dir: PathBuf,
    max_bytes: u64,
}

/// A precompiled module in the cache.
#[derive(Debug, Clone)]
pub struct Precompiled {
    pub path: PathBuf,
    /// True when the cache already held it (nothing was compiled).
    pub reused: bool,
}

/// What a cache holds, or what [`ModuleCache::clear`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheUsage {
    pub entries: u64,
    /// Bytes on disk.
    pub bytes: u64,
}

impl ModuleCache {
    /// The bound [`ModuleCache::new`] starts with: 1 GiB, as wasmtime's own cache.
    pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

    /// A cache in `dir` (created on first write) bounded to [`Self::DEFAULT_MAX_BYTES`].
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModuleCache {
            dir: dir.into(),
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }

    /// The same cache bounded to `max_bytes` instead.
    pub fn with_max_bytes(self, max_bytes: u64) -> Self {
        ModuleCache { max_bytes, ..self }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The size in bytes past which least recently used entries are removed.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The entry for `module_bytes` under this engine and its settings.
    fn entry_path(&self, module_bytes: &[u8]) -> Result<PathBuf, EngineError> {
        let engine = engine()?;
        let mut key = Sha256Hasher(Sha256::new());
        key.write(module_bytes);
        key.write(version().as_bytes());
        engine.precompile_compatibility_hash().hash(&mut key);
        let hex: String = key
            .0
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Ok(self.dir.join(format!("{hex}{ENTRY_SUFFIX}")))
    }

    /// The cached native code for `module`, compiling it into the cache first when the
    /// cache does not hold it yet.
    ///
    /// Errors: [`EngineError::Io`] when the module cannot be read or the cache written,
    /// [`EngineError::Compile`] when it is not a valid module.
    pub fn precompile(&self, module: &Path) -> Result<Precompiled, EngineError> {
        let bytes = fs::read(module).map_err(io("could not read", module))?;
        let path = self.entry_path(&bytes)?;
        if path.is_file() {
            // The last use is what eviction goes by; a cache that cannot be touched still
            // serves the hit.
            let _ = fs::File::options()
                .append(true)
                .open(&path)
                .and_then(|file| file.set_modified(SystemTime::now()));
            return Ok(Precompiled { path, reused: true });
        }
        let serialized =
            engine()?
                .precompile_module(&bytes)
                .map_err(|source| EngineError::Compile {
                    path: module.to_path_buf(),
                    source: boxed(source),
                })?;
        self.store(&path, &serialized)?;
        Ok(Precompiled {
            path,
            reused: false,
        })
    }

    /// Write an entry atomically, then bring the cache back under its bound.
    fn store(&self, path: &Path, serialized: &[u8]) -> Result<(), EngineError> {
        fs::create_dir_all(&self.dir).map_err(io("could not create", &self.dir))?;
        let staging = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempfile_in(&self.dir)
            .map_err(io("could not create a temporary file in", &self.dir))?;
        fs::write(staging.path(), serialized).map_err(io("could not write", staging.path()))?;
        staging
            .persist(path)
            .map_err(|error| error.error)
            .map_err(io("could not move the precompiled module to", path))?;
        self.evict(path)
    }

    /// Remove least recently used entries (never `keep`) until the cache fits its
    /// bound, and staging files a crashed writer left behind.
    fn evict(&self, keep: &Path) -> Result<(), EngineError> {
        let mut entries = Vec::new();
        let mut total = 0u64;
        for (path, meta) in self.files()? {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if name.starts_with(STAGING_PREFIX) {
                let old = modified.elapsed().is_ok_and(|age| age > STALE_STAGING);
                if old {
                    let _ = fs::remove_file(&path);
                }
            } else if name.ends_with(ENTRY_SUFFIX) {
                total += meta.len();
                entries.push((modified, meta.len(), path));
            }
        }
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if path == keep {
                continue;
            }
            // Another process may have removed it already; either way it is gone.
            match fs::remove_file(&path) {
                Ok(()) => total -= len,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => total -= len,
                Err(error) => return Err(io("could not remove", &path)(error)),
            }
        }
        Ok(())
    }

    /// The regular files directly in the cache directory (none when it does not exist).
    fn files(&self) -> Result<Vec<(PathBuf, fs::Metadata)>, EngineError> {
        let listing = match fs::read_dir(&self.dir) {
            Ok(listing) => listing,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(io("could not read", &self.dir)(error)),
        };
        let mut files = Vec::new();
        for entry in listing {
            let entry = entry.map_err(io("could not read", &self.dir))?;
            if let Ok(meta) = entry.metadata() {
                if meta.is_file() {
                    files.push((entry.path(), meta));
                }
            }
        }
        Ok(files)
    }

    /// How many entries the cache holds and their size.
    pub fn usage(&self) -> Result<CacheUsage, EngineError> {
        let mut usage = CacheUsage::default();
        for (path, meta) in self.files()? {
            if path.to_string_lossy().ends_with(ENTRY_SUFFIX) {
                usage.entries += 1;
                usage.bytes += meta.len();
            }
        }
        Ok(usage)
    }

    /// Remove every entry (and leftover staging files); what was removed.
    pub fn clear(&self) -> Result<CacheUsage, EngineError> {
        let mut removed = CacheUsage::default();
        for (path, meta) in self.files()? {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let entry = name.ends_with(ENTRY_SUFFIX);
            if !entry && !name.starts_with(STAGING_PREFIX) {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) if entry => {
                    removed.entries += 1;
                    removed.bytes += meta.len();
                }
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(io("could not remove", &path)(error)),
            }
        }
        Ok(removed)
    }

    /// Remove one entry that failed to load, so the next start compiles it afresh.
    pub(crate) fn discard(&self, entry: &Path) {
        let _ = fs::remove_file(entry);
    }
}

/// An `EngineError::Io` maker for `action` on `path`.
fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EngineError {
    let path = path.to_path_buf();
    move |source| EngineError::Io {
        action,
        path,
        source,
    }
}

/// Feeds wasmtime's `Hash` of its settings into SHA-256, so the key is the same in
/// every process (std's `DefaultHasher` promises no stability across Rust releases).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    /// Not used for the key (the whole digest is); the digest's first 8 bytes.
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
