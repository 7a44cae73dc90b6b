//! The library sources embedded in this binary, and where they go in a project: `wasock`
//! (`runtime-lib/`), vendored into every project, and `wasock-js` (`js-runtime/`), vendored
//! into JavaScript projects and built into the JavaScript runtime module (`js/`).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use include_dir::{include_dir, Dir, DirEntry};
use serde::Deserialize;

static RUNTIME_SOURCES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../runtime-lib/src");
const RUNTIME_MANIFEST: &str = include_str!("../../../runtime-lib/Cargo.toml");
const RUNTIME_README: &str = include_str!(concat!(env!("OUT_DIR"), "/runtime-readme.md"));

static JS_SOURCES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../js-runtime/src");
const JS_MANIFEST: &str = include_str!("../../../js-runtime/Cargo.toml");
const JS_LOCKFILE: &str = include_str!("../../../js-runtime/Cargo.lock");

/// The version of the bundled `wasock` library, read from its embedded manifest.
pub fn runtime_version() -> anyhow::Result<String> {
    #[derive(Deserialize)]
    struct Manifest {
        package: Package,
    }
    #[derive(Deserialize)]
    struct Package {
        version: String,
    }
    let manifest: Manifest = toml::from_str(RUNTIME_MANIFEST)
        .context("the embedded runtime-lib/Cargo.toml is invalid")?;
    Ok(manifest.package.version)
}

/// Where the bundled library goes inside a project.
pub fn vendor_dir(version: &str) -> String {
    format!("vendor/wasock-{version}")
}

/// The bundled `wasock` library's files (manifest, README when present, `src/`), by path
/// inside its folder: vendored into projects, and built with the JavaScript runtime.
pub fn runtime_library_files() -> Vec<(PathBuf, &'static [u8])> {
    let mut files = vec![(PathBuf::from("Cargo.toml"), RUNTIME_MANIFEST.as_bytes())];
    if !RUNTIME_README.is_empty() {
        files.push((PathBuf::from("README.md"), RUNTIME_README.as_bytes()));
    }
    let mut sources = Vec::new();
    collect_files(&RUNTIME_SOURCES, &mut sources);
    for file in sources {
        files.push((Path::new("src").join(file.path()), file.contents()));
    }
    files
}

/// Every source file of the JavaScript runtime, by its path under the build directory:
/// `js-runtime/...` and `runtime-lib/...` (the path dependency `../runtime-lib`).
pub fn js_source_files() -> Vec<(PathBuf, &'static [u8])> {
    let mut files = vec![
        (
            PathBuf::from("js-runtime/Cargo.toml"),
            JS_MANIFEST.as_bytes(),
        ),
        (
            PathBuf::from("js-runtime/Cargo.lock"),
            JS_LOCKFILE.as_bytes(),
        ),
    ];
    let mut stack = vec![&JS_SOURCES];
    while let Some(dir) = stack.pop() {
        for entry in dir.entries() {
            match entry {
                DirEntry::Dir(sub) => stack.push(sub),
                DirEntry::File(file) => files.push((
                    Path::new("js-runtime/src").join(file.path()),
                    file.contents(),
                )),
            }
        }
    }
    for (path, contents) in runtime_library_files() {
        files.push((Path::new("runtime-lib").join(path), contents));
    }
    files.sort();
    files
}

/// Where the JS runtime goes inside a project made from a `js-*` template.
pub fn js_vendor_dir() -> String {
    format!("vendor/wasock-js-{}", js_version())
}

/// The version of the embedded `wasock-js`, from its manifest's `version = "..."` line.
fn js_version() -> &'static str {
    JS_MANIFEST
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or("0.0.0")
}

/// The JavaScript runtime's files as vendored into a project, by path inside its folder: the manifest
/// (its `wasock` path pointing at the project's `wasock_dir`, relative to the project) and
/// `src/`.
pub fn js_vendored_files(wasock_dir: &str) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    const OWN_PATH: &str = r#"wasock = { path = "../runtime-lib","#;
    anyhow::ensure!(
        JS_MANIFEST.contains(OWN_PATH),
        "the embedded js-runtime/Cargo.toml has no `{OWN_PATH}` line to point at the vendored wasock"
    );
    let sibling = Path::new(wasock_dir)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .context("the vendored wasock folder has no name")?;
    let manifest = JS_MANIFEST.replace(OWN_PATH, &format!(r#"wasock = {{ path = "../{sibling}","#));
    let mut files = vec![(PathBuf::from("Cargo.toml"), manifest.into_bytes())];
    for (path, contents) in js_source_files() {
        if let Ok(relative) = path.strip_prefix("js-runtime/src") {
            files.push((Path::new("src").join(relative), contents.to_vec()));
        }
    }
    Ok(files)
}

pub fn collect_files<'a>(dir: &'a Dir<'a>, out: &mut Vec<&'a include_dir::File<'a>>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => collect_files(sub, out),
            DirEntry::File(file) => out.push(file),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_runtime_version() {
        assert!(!runtime_version().unwrap().is_empty());
    }
}
