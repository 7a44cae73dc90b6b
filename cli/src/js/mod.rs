//! JavaScript apps: the runtime module `wasock-js.wasm` that runs them, and the C toolchain
//! it is built with.
//!
//! The runtime's source (`js-runtime/`, with the `wasock` library it depends on) is
//! embedded in this binary. `runtime_module` builds it the first time it is needed, with
//! cargo for wasm32-wasip1 in release mode, into the user's cache (`user_cache`:
//! `$XDG_CACHE_HOME/cargo-wasock/js-runtime/`, else `~/.cache/...`), one module per
//! cargo-wasock version and source hash (the key, `<version>-<16 hex digits>`); later runs
//! reuse it. A run holds a shared `flock` on its key folder's `.lock` while it lives; after
//! building a new key, the folders of other keys whose lock can be taken are removed, so an
//! upgrade does not leave the old module behind.
//!
//! QuickJS is C: rquickjs-sys compiles it with the host's clang for the wasm target, against
//! wasi-libc (Debian/Ubuntu: `clang-19 lld-19 llvm-19 wasi-libc`). Without this setup its
//! build script would try to download wasi-sdk, so the environment is set here and users
//! never type it: `RQUICKJS_SYS_NO_WASI_SDK=1`, `CC_/AR_/CFLAGS_wasm32_wasip1` pointing at
//! clang, llvm-ar and a sysroot whose `include` and `lib/wasm32-wasip1` link to wasi-libc.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::build::cargo::{self, CargoFlags};
use crate::build::target;
use crate::project::metadata::{self, ResolveFlags};
use crate::project::vendor::js_source_files;
use crate::ui::errors::hint;
use crate::ui::printer::Printer;

/// The module's file name in the cache.
pub const MODULE_NAME: &str = "wasock-js.wasm";
/// The Debian/Ubuntu packages that provide the C toolchain.
pub const APT_PACKAGES: &str = "clang-19 lld-19 llvm-19 wasi-libc";
/// Where wasi-libc's Debian package puts its headers and libraries.
const WASI_LIBC_INCLUDE: &str = "/usr/include/wasm32-wasi";
const WASI_LIBC_LIB: &str = "/usr/lib/wasm32-wasi";
/// Compilers tried in order: Debian's versioned names first, then plain ones.
const CLANG_NAMES: &[&str] = &["clang-19", "clang-20", "clang-18", "clang"];
const AR_NAMES: &[&str] = &["llvm-ar-19", "llvm-ar-20", "llvm-ar-18", "llvm-ar"];

/// The C toolchain that builds QuickJS for wasm32-wasip1.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub clang: PathBuf,
    pub ar: PathBuf,
    /// wasi-libc's headers and libraries.
    pub include: PathBuf,
    pub lib: PathBuf,
}

/// The command that installs the toolchain: apt where it exists, else what to look for.
pub fn install_command() -> String {
    if which::which("apt-get").is_ok() {
        format!("sudo apt-get update && sudo apt-get install -y {APT_PACKAGES}")
    } else {
        "install clang (18 or later), llvm-ar and wasi-libc (headers in /usr/include/wasm32-wasi, libc.a in /usr/lib/wasm32-wasi) with your system's package manager".into()
    }
}

/// The `help:` line of a missing toolchain.
pub fn install_help() -> String {
    format!("install the C toolchain for wasm: {}", install_command())
}

/// `doctor`'s line: what was found, or what is missing.
pub fn doctor_check() -> Result<String, String> {
    match find_toolchain() {
        Ok(found) => Ok(format!(
            "{}, {}, wasi-libc ({}) — for `run --js`",
            found.clang.display(),
            found.ar.display(),
            found.include.display()
        )),
        Err(error) => Err(error.to_string()),
    }
}

/// Finds clang, llvm-ar and wasi-libc; the error names what is missing.
pub fn find_toolchain() -> anyhow::Result<Toolchain> {
    let first = |names: &[&str]| names.iter().find_map(|name| which::which(name).ok());
    let clang = first(CLANG_NAMES);
    let ar = first(AR_NAMES);
    let include = PathBuf::from(WASI_LIBC_INCLUDE);
    let lib = PathBuf::from(WASI_LIBC_LIB);
    let mut missing = Vec::new();
    if clang.is_none() {
        missing.push("clang (clang-19)".to_string());
    }
    if ar.is_none() {
        missing.push("llvm-ar (llvm-19)".to_string());
    }
    if !include.join("stdlib.h").is_file() || !lib.join("libc.a").is_file() {
        missing.push(format!(
            "wasi-libc (`{WASI_LIBC_INCLUDE}`, `{WASI_LIBC_LIB}`)"
        ));
    }
    match (clang, ar, missing.is_empty()) {
        (Some(clang), Some(ar), true) => Ok(Toolchain {
            clang,
            ar,
            include,
            lib,
        }),
        _ => Err(hint(
            format!(
                "building the JavaScript runtime needs a C toolchain for wasm; missing: {}",
                missing.join(", ")
            ),
            install_help(),
        )),
    }
}

/// A short hash of the sources: a changed runtime gets a new module even within a version.
fn source_key(files: &[(PathBuf, &[u8])]) -> String {
    let mut hasher = Sha256::new();
    for (path, contents) in files {
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(contents);
    }
    crate::util::digest::hex(&hasher.finalize()[..8])
}

/// The runtime module, built into the cache first if this version has none yet. The key
/// folder stays locked (shared) until this process exits, so another cargo-wasock's clean-up
/// leaves it alone.
pub fn runtime_module(printer: &Printer) -> anyhow::Result<PathBuf> {
    let files = js_source_files();
    let root = crate::cache::root()?.join("js-runtime");
    let key = format!("{}-{}", env!("CARGO_PKG_VERSION"), source_key(&files));
    let version_dir = root.join(&key);
    let module = version_dir.join(MODULE_NAME);
    if module.is_file() {
        // A clean-up that took the folder's lock first may remove it before this lock is
        // granted: only a module still there once locked counts. A cache this user cannot
        // write to (no lock file) still serves its module, unprotected.
        let _ = hold_in_use(&version_dir);
        if module.is_file() {
            printer.verbose(format!("JavaScript runtime: {}", module.display()));
            return Ok(module);
        }
    }
    let toolchain = find_toolchain()?;
    // As every cache user does: the folder, and the cache's CACHEDIR.TAG.
    crate::cache::ensure("js-runtime")?;
    let _lock = BuildLock::acquire(&root.join(".build-lock"), printer)?;
    fs::create_dir_all(&version_dir)
        .with_context(|| format!("could not create `{}`", version_dir.display()))?;
    hold_in_use(&version_dir)?;
    if module.is_file() {
        // Another cargo-wasock built it while this one waited.
        return Ok(module);
    }
    printer.status(
        "Building",
        format!(
            "the JavaScript runtime (once per cargo-wasock version) into {}",
            version_dir.display()
        ),
    );

    let sources = version_dir.join("src");
    write_sources(&sources, &files)?;
    // Shared by all versions: its path is in CFLAGS, and a changed CFLAGS rebuilds QuickJS.
    let sysroot = make_sysroot(&root.join("sysroot"), &toolchain)?;

    let manifest = sources.join("js-runtime/Cargo.toml");
    let target = target::ensure_wasi_target(&sources, printer)?;
    let resolve = ResolveFlags {
        locked: true,
        ..ResolveFlags::default()
    };
    let flags = CargoFlags {
        release: true,
        manifest_path: Some(manifest.clone()),
        // Shared across versions, so a new version recompiles only what changed.
        target_dir: Some(root.join("target")),
        resolve,
        env: toolchain_env(&toolchain, &sysroot, target.triple),
        ..CargoFlags::default()
    };
    let (built, _, ()) = cargo::build(&flags, target.triple, printer, || {
        Ok((metadata::load(Some(&manifest), None, &flags.resolve)?, ()))
    })?;

    // Copy, then rename: a run that stops halfway never leaves a truncated module in place.
    let partial = version_dir.join(format!("{MODULE_NAME}.partial"));
    fs::copy(&built.path, &partial).with_context(|| {
        format!(
            "could not copy `{}` to `{}`",
            built.path.display(),
            partial.display()
        )
    })?;
    fs::rename(&partial, &module)
        .with_context(|| format!("could not move `{}` into place", module.display()))?;
    printer.status(
        "Built",
        format!("the JavaScript runtime: {}", module.display()),
    );
    remove_other_keys(&root, &key, printer);
    Ok(module)
}

/// Makes `dir` hold exactly `files`: others are removed, and a file whose contents are
/// already right is not rewritten, so its mtime stays and cargo's fingerprints hold (a
/// module lost from the cache is rebuilt without recompiling).
fn write_sources(dir: &Path, files: &[(PathBuf, &[u8])]) -> anyhow::Result<()> {
    let wanted: std::collections::HashSet<&Path> =
        files.iter().map(|(path, _)| path.as_path()).collect();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = fs::read_dir(&at) else {
            continue;
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("could not list `{}`", at.display()))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .with_context(|| format!("could not inspect `{}`", path.display()))?;
            if kind.is_dir() {
                stack.push(path);
            } else if !path
                .strip_prefix(dir)
                .is_ok_and(|relative| wanted.contains(relative))
            {
                fs::remove_file(&path)
                    .with_context(|| format!("could not remove `{}`", path.display()))?;
            }
        }
    }
    for (relative, contents) in files {
        let path = dir.join(relative);
        if fs::read(&path).is_ok_and(|known| known == *contents) {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("could not create `{}`", parent.display()))?;
        }
        fs::write(&path, contents)
            .with_context(|| format!("could not write `{}`", path.display()))?;
    }
    Ok(())
}

/// The name of the lock file in each key folder: shared while a run uses the folder,
/// exclusive while the folder is being removed.
const IN_USE_LOCK: &str = ".lock";

/// Key folders this process uses, locked (shared) until it exits.
static IN_USE: std::sync::Mutex<Vec<fs::File>> = std::sync::Mutex::new(Vec::new());

/// Takes a shared `flock` on `dir`'s [`IN_USE_LOCK`] and keeps it for the life of the
/// process. Fails if the folder is gone (removed by a clean-up).
fn hold_in_use(dir: &Path) -> anyhow::Result<()> {
    let path = dir.join(IN_USE_LOCK);
    let file = open_lock(&path).with_context(|| format!("could not open `{}`", path.display()))?;
    // Blocks only while a clean-up holds it exclusively, as long as removing the folder.
    flock(&file, libc::LOCK_SH).with_context(|| format!("could not lock `{}`", path.display()))?;
    IN_USE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(file);
    Ok(())
}

/// Whether `name` is a key folder's: `<version>-<16 lowercase hex digits>`, the version
/// starting with a digit (`source_key`, `runtime_module`).
fn is_key_name(name: &str) -> bool {
    let Some((version, hash)) = name.rsplit_once('-') else {
        return false;
    };
    version.starts_with(|c: char| c.is_ascii_digit())
        && hash.len() == 16
        && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Best effort, called with the build lock held after building `current`: removes the
/// other key folders directly in `root` (real directories, not links) whose lock can be
/// taken exclusively without waiting. A folder in use by a run, anything that is not a key
/// folder, and anything outside `root` are left alone; failures are only noted with `-v`.
fn remove_other_keys(root: &Path, current: &str, printer: &Printer) {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(error) => {
            printer.verbose(format!("could not list `{}`: {error}", root.display()));
            return;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name == current || !is_key_name(name) {
            continue;
        }
        // `file_type` does not follow links: a link named like a key is not ours to empty.
        if !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            continue;
        }
        let dir = entry.path();
        let lock_path = dir.join(IN_USE_LOCK);
        let lock = match open_lock(&lock_path) {
            Ok(lock) => lock,
            Err(error) => {
                printer.verbose(format!(
                    "kept `{}`: could not open its lock: {error}",
                    dir.display()
                ));
                continue;
            }
        };
        if flock(&lock, libc::LOCK_EX | libc::LOCK_NB).is_err() {
            printer.verbose(format!(
                "kept `{}`: another cargo-wasock is using it",
                dir.display()
            ));
            continue;
        }
        // The lock is held until `lock` drops, after the folder (and its lock file) is gone.
        match fs::remove_dir_all(&dir) {
            Ok(()) => printer.verbose(format!(
                "removed the JavaScript runtime of an older key: `{}`",
                dir.display()
            )),
            Err(error) => printer.verbose(format!("could not remove `{}`: {error}", dir.display())),
        }
        drop(lock);
    }
}

/// An exclusive `flock` on a file in the cache, held while building: two first runs at
/// once would otherwise write the same sources and target directory.
struct BuildLock {
    _file: fs::File,
}

impl BuildLock {
    fn acquire(path: &Path, printer: &Printer) -> anyhow::Result<BuildLock> {
        let file =
            open_lock(path).with_context(|| format!("could not open `{}`", path.display()))?;
        if flock(&file, libc::LOCK_EX | libc::LOCK_NB).is_err() {
            printer.status(
                "Waiting",
                "for another cargo-wasock to finish building the JavaScript runtime",
            );
            // Blocks until the other holder closes its descriptor.
            flock(&file, libc::LOCK_EX)
                .with_context(|| format!("could not lock `{}`", path.display()))?;
        }
        Ok(BuildLock { _file: file })
    }
}

/// A lock file at `path`, created if missing (never truncated), for [`flock`].
fn open_lock(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// `flock(2)` with `operation` (`LOCK_SH`, `LOCK_EX`, with `LOCK_NB` not to wait). The lock
/// lasts until every descriptor of `file`'s open file description is closed.
fn flock(file: &fs::File, operation: libc::c_int) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock(2) on a descriptor `file` owns; it touches no memory.
    if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A directory clang accepts as `--sysroot`: `include` and `lib/<triple>` link to
/// wasi-libc (Debian installs it for `wasm32-wasi`; clang looks under the target's name).
fn make_sysroot(dir: &Path, toolchain: &Toolchain) -> anyhow::Result<PathBuf> {
    let lib_dir = dir.join("lib");
    fs::create_dir_all(&lib_dir)
        .with_context(|| format!("could not create `{}`", lib_dir.display()))?;
    for (link, to) in [
        (dir.join("include"), &toolchain.include),
        (lib_dir.join("wasm32-wasip1"), &toolchain.lib),
        (lib_dir.join("wasm32-wasi"), &toolchain.lib),
    ] {
        if fs::symlink_metadata(&link).is_ok() {
            fs::remove_file(&link)
                .with_context(|| format!("could not replace `{}`", link.display()))?;
        }
        std::os::unix::fs::symlink(to, &link).with_context(|| {
            format!("could not link `{}` to `{}`", link.display(), to.display())
        })?;
    }
    Ok(dir.to_path_buf())
}

/// The variables rquickjs-sys and the `cc` crate read to build QuickJS for `triple`.
fn toolchain_env(toolchain: &Toolchain, sysroot: &Path, triple: &str) -> Vec<(String, String)> {
    let suffix = triple.replace('-', "_");
    vec![
        ("RQUICKJS_SYS_NO_WASI_SDK".into(), "1".into()),
        (
            format!("CC_{suffix}"),
            toolchain.clang.display().to_string(),
        ),
        (format!("AR_{suffix}"), toolchain.ar.display().to_string()),
        (
            format!("CFLAGS_{suffix}"),
            format!("--sysroot={}", sysroot.display()),
        ),
    ]
}

/// How `run --js FILE` launches: the guest's `.` is the nearest folder at or above the
/// script's that holds a `package.json` (the package root, where `node_modules` is, so
/// `run --js src/main.js` in a JS project finds its packages), else the script's own folder
/// (as the reference docs' `wasmedge --dir .:.` from that folder); the script is the
/// runtime's first argument, by its path from there (`src/main.js`, `app.js`).
pub fn script_launch(script: &Path) -> anyhow::Result<(PathBuf, String)> {
    if !script.is_file() {
        return Err(hint(
            format!("the script `{}` does not exist", script.display()),
            "pass the path of a .js file: `cargo wasock run --js app.js`",
        ));
    }
    let absolute = std::path::absolute(script)
        .with_context(|| format!("could not resolve `{}`", script.display()))?;
    let own_dir = absolute
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let dir = own_dir
        .ancestors()
        .find(|dir| dir.join("package.json").is_file())
        .map(Path::to_path_buf)
        .unwrap_or(own_dir);
    let relative = absolute
        .strip_prefix(&dir)
        .context("the script path has no file name")?;
    let name = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    anyhow::ensure!(!name.is_empty(), "the script path has no file name");
    Ok((dir, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_include_both_crates_and_key_is_stable() {
        let files = js_source_files();
        let has = |path: &str| files.iter().any(|(p, _)| p == Path::new(path));
        assert!(has("js-runtime/Cargo.toml"));
        assert!(has("js-runtime/Cargo.lock"));
        assert!(has("js-runtime/src/main.rs"));
        assert!(has("runtime-lib/Cargo.toml"));
        assert!(has("runtime-lib/src/lib.rs"));
        assert_eq!(source_key(&files).len(), 16);
        // Any change to a source changes the key (a stale runtime is never reused).
        let extended = [files[0].1, b"\n"].concat();
        let mut changed: Vec<(PathBuf, &[u8])> = files
            .iter()
            .map(|(path, bytes)| (path.clone(), *bytes))
            .collect();
        changed[0].1 = &extended;
        assert_ne!(source_key(&files), source_key(&changed));
    }

    #[test]
    fn key_folder_names() {
        let key = format!(
            "{}-{}",
            env!("CARGO_PKG_VERSION"),
            source_key(&js_source_files())
        );
        assert!(is_key_name(&key));
        assert!(is_key_name("0.2.0-rc.1-0123456789abcdef"));
        for other in [
            "sysroot",
            "target",
            ".build-lock",
            "0.1.0-0123456789ABCDEF",
            "0.1.0-0123456789abcde",
            "v0.1.0-0123456789abcdef",
            "-0123456789abcdef",
        ] {
            assert!(!is_key_name(other), "{other}");
        }
    }

    #[test]
    fn a_script_runs_from_its_package_root() {
        let root = std::env::temp_dir().join(format!("wasock-js-launch-{}", std::process::id()));
        let src = root.join("app/src");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("main.js"), "").unwrap();
        fs::write(root.join("loose.js"), "").unwrap();
        fs::write(root.join("app/package.json"), "{}").unwrap();
        assert_eq!(
            script_launch(&src.join("main.js")).unwrap(),
            (root.join("app"), "src/main.js".to_string())
        );
        // Without a package.json above it, the script's own folder.
        let (dir, name) = script_launch(&root.join("loose.js")).unwrap();
        assert_eq!(name, "loose.js");
        assert!(dir == root || dir.join("package.json").is_file(), "{dir:?}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn toolchain_variables_name_the_target() {
        let toolchain = Toolchain {
            clang: "/usr/bin/clang-19".into(),
            ar: "/usr/bin/llvm-ar-19".into(),
            include: WASI_LIBC_INCLUDE.into(),
            lib: WASI_LIBC_LIB.into(),
        };
        let env = toolchain_env(&toolchain, Path::new("/c/sysroot"), "wasm32-wasip1");
        assert!(env.contains(&("CC_wasm32_wasip1".into(), "/usr/bin/clang-19".into())));
        assert!(env.contains(&("AR_wasm32_wasip1".into(), "/usr/bin/llvm-ar-19".into())));
        assert!(env.contains(&("CFLAGS_wasm32_wasip1".into(), "--sysroot=/c/sysroot".into())));
        assert!(env.contains(&("RQUICKJS_SYS_NO_WASI_SDK".into(), "1".into())));
    }
}
