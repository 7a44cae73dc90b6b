//! A cache of `cargo metadata --no-deps`, so a no-op build does not pay for it each time.
//!
//! `cargo metadata` costs about half of a no-op `cargo build` in CPU time; its answer
//! changes only when one of its inputs does. An entry records the answer with a stamp
//! (modification time and size, or absence) of every file that shapes it, and is used
//! only while all stamps still match:
//!
//! - every workspace package's manifest, and the directory holding each package's
//!   directory (a new member matched by a `members` glob changes it);
//! - `Cargo.toml` in every ancestor of the working directory and of the workspace root
//!   (a workspace above the package would claim it);
//! - cargo's configuration (`.cargo/config.toml` and `.cargo/config` in those ancestors
//!   and in `$CARGO_HOME`), which can move the target directory;
//! - the cargo executable itself.
//!
//! The key (the entry's file name) is everything else it depends on: the working
//! directory, `--manifest-path`, the resolve flags, and the environment variables cargo
//! reads for the workspace and the target directory. Entries live in the user's cache
//! directory (`$XDG_CACHE_HOME/cargo-wasock/metadata`, else `~/.cache/…`), one small JSON
//! file per project, written atomically; anything unreadable is a miss.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cargo_metadata::Metadata;
use serde::{Deserialize, Serialize};

/// Environment variables that change what `cargo metadata --no-deps` answers.
const ENV_INPUTS: &[&str] = &[
    "CARGO",
    "CARGO_HOME",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTUP_TOOLCHAIN",
];

/// Modification time (ns since the epoch) and size; None when the path does not exist.
type Stamp = Option<(u128, u64)>;

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    inputs: Vec<(PathBuf, Stamp)>,
    metadata: Metadata,
}

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((modified.as_nanos(), meta.len()))
}

fn cache_dir() -> Option<PathBuf> {
    // The one cache root (`crate::cache`), so `CARGO_WASOCK_CACHE_DIR` moves this too.
    crate::cache::root().ok().map(|root| root.join("metadata"))
}

/// Everything the answer depends on that is not a file: one line per part.
fn key(manifest_path: Option<&Path>, flags: &[String]) -> Option<String> {
    let cwd = std::env::current_dir().ok()?;
    let mut key = format!("cwd {}\n", cwd.display());
    if let Some(path) = manifest_path {
        key.push_str(&format!("manifest {}\n", cwd.join(path).display()));
    }
    key.push_str(&format!("flags {}\n", flags.join(" ")));
    for name in ENV_INPUTS {
        if let Some(value) = std::env::var_os(name) {
            key.push_str(&format!("env {name}={}\n", value.to_string_lossy()));
        }
    }
    Some(key)
}

fn entry_path(key: &str) -> Option<PathBuf> {
    let name = crate::util::digest::sha256_hex(key.as_bytes());
    Some(cache_dir()?.join(format!("{name}.json")))
}

/// The files whose stamps vouch for `metadata` (see the module docs).
fn inputs(metadata: &Metadata) -> Vec<PathBuf> {
    let mut files = BTreeSet::new();
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = metadata.workspace_root.as_std_path();
    for dir in cwd.ancestors().chain(root.ancestors()) {
        files.insert(dir.join("Cargo.toml"));
        files.insert(dir.join(".cargo").join("config.toml"));
        files.insert(dir.join(".cargo").join("config"));
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    if let Some(home) = cargo_home {
        files.insert(home.join("config.toml"));
        files.insert(home.join("config"));
    }
    for package in &metadata.packages {
        let manifest = package.manifest_path.as_std_path();
        files.insert(manifest.to_path_buf());
        if let Some(holder) = manifest.parent().and_then(Path::parent) {
            files.insert(holder.to_path_buf());
        }
    }
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .or_else(|| which::which("cargo").ok());
    files.extend(cargo);
    files.into_iter().collect()
}

/// The cached answer for this project, when every input is as it was.
pub fn lookup(manifest_path: Option<&Path>, flags: &[String]) -> Option<Metadata> {
    let key = key(manifest_path, flags)?;
    let bytes = std::fs::read(entry_path(&key)?).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    let fresh = entry.key == key
        && entry
            .inputs
            .iter()
            .all(|(path, recorded)| stamp(path) == *recorded);
    fresh.then_some(entry.metadata)
}

/// Remember `metadata`, from a `cargo metadata` started at `started`, for this project;
/// failures only cost the next run a `cargo metadata`. Not stored when an input changed
/// while cargo was reading it (its stamp would vouch for an answer made before the edit).
pub fn store(
    manifest_path: Option<&Path>,
    flags: &[String],
    metadata: &Metadata,
    started: SystemTime,
) {
    let Some(key) = key(manifest_path, flags) else {
        return;
    };
    let Some(path) = entry_path(&key) else {
        return;
    };
    // File times come from a coarser clock (a few ms): a little slack.
    let since = started
        .checked_sub(Duration::from_millis(20))
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_nanos());
    let inputs: Vec<(PathBuf, Stamp)> = inputs(metadata)
        .into_iter()
        .map(|path| {
            let stamp = stamp(&path);
            (path, stamp)
        })
        .collect();
    if inputs
        .iter()
        .any(|(_, stamp)| stamp.is_some_and(|(modified, _)| modified >= since))
    {
        return;
    }
    let entry = Entry {
        key,
        inputs,
        metadata: metadata.clone(),
    };
    let Ok(json) = serde_json::to_vec(&entry) else {
        return;
    };
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    if let Ok(staging) = tempfile::NamedTempFile::new_in(dir) {
        if std::fs::write(staging.path(), json).is_ok() {
            let _ = staging.persist(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_see_edits_and_absence() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("Cargo.toml");
        assert_eq!(stamp(&file), None);
        std::fs::write(&file, "[package]\n").unwrap();
        let first = stamp(&file);
        assert!(first.is_some());
        std::fs::write(&file, "[package]\nname = \"x\"\n").unwrap();
        assert_ne!(stamp(&file), first, "a longer file has another stamp");
    }
}
