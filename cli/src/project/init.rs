//! `init`: what `new` would add to a package, added to an existing one without touching its
//! code. The `wasock` dependency and its vendored source, `[package.metadata.wasock]` with
//! `new`'s defaults, and the `.gitignore` lines; each only where it is missing, and nothing
//! the user wrote is replaced.
//!
//! Everything is checked and prepared before anything is written: the manifest is edited
//! with `toml_edit` (its comments, order and formatting kept) and written through a
//! temporary file, the library is staged beside its folder and renamed into place, and the
//! `.gitignore` only gains lines at its end.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use toml_edit::{value, Array, DocumentMut, InlineTable, Item, Table};

use crate::project::{scaffold, vendor};
use crate::ui::errors::{hint, HintExt as _};

/// One thing `init` did or found done, for the status lines.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// `wasock = { path = … }` added to `[dependencies]`.
    AddedDependency { path: String },
    /// The package already depends on `wasock`; left as it is.
    HadDependency,
    /// The library's source written into this folder (relative to the package).
    Vendored { dir: String, version: String },
    /// The folder exists already; left as it is.
    HadVendored { dir: String },
    /// `[package.metadata.wasock]` added.
    AddedMetadata,
    /// It was there; left as it is.
    HadMetadata,
    /// Lines appended to `.gitignore` (created when missing).
    Ignored { lines: Vec<String> },
}

/// Add what `new` would to the package whose manifest is `manifest` (a `Cargo.toml`); the
/// steps, in order. Errors (nothing written): no such file, not TOML, no `[package]`, a
/// `[dependencies]` that is not a table.
pub fn init(manifest: &Path) -> anyhow::Result<Vec<Step>> {
    let text = fs::read_to_string(manifest).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            hint(
                format!("there is no `{}`", manifest.display()),
                "run `cargo init` first to make a package here, or `cargo wasock new NAME` for a whole app from a template",
            )
        } else {
            anyhow::Error::new(error).context(format!("could not read `{}`", manifest.display()))
        }
    })?;
    let mut document: DocumentMut = text.parse().map_err(|error| {
        hint(
            format!("`{}` is not valid TOML: {error}", manifest.display()),
            "fix the manifest (`cargo metadata` shows the same error), then run `cargo wasock init` again",
        )
    })?;
    if !document.get("package").is_some_and(Item::is_table_like) {
        return Err(hint(
            format!("`{}` has no [package]: it is a workspace's manifest", manifest.display()),
            "run `cargo wasock init` in the package's directory, or pass `--manifest-path PACKAGE/Cargo.toml`",
        ));
    }
    let package_dir = manifest
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let version = vendor::runtime_version()?;
    let vendor_dir = vendor::vendor_dir(&version);

    let mut steps = Vec::new();
    let had_dependency = add_dependency(&mut document, &vendor_dir, manifest)?;
    steps.push(if had_dependency {
        Step::HadDependency
    } else {
        Step::AddedDependency {
            path: vendor_dir.clone(),
        }
    });
    let had_metadata = add_metadata(&mut document, manifest)?;
    let vendored = package_dir.join(&vendor_dir);
    let vendor_step = if vendored.exists() {
        Step::HadVendored {
            dir: vendor_dir.clone(),
        }
    } else {
        Step::Vendored {
            dir: vendor_dir.clone(),
            version,
        }
    };
    let ignore_lines = missing_ignore_lines(&package_dir.join(".gitignore"))?;

    // Written last, once everything above was checked: the library first (a new folder),
    // then the manifest that points at it, then `.gitignore`.
    if matches!(vendor_step, Step::Vendored { .. }) {
        write_vendored(&vendored)?;
    }
    if !had_dependency || !had_metadata {
        write_atomically(manifest, document.to_string().as_bytes())?;
    }
    steps.push(vendor_step);
    steps.push(if had_metadata {
        Step::HadMetadata
    } else {
        Step::AddedMetadata
    });
    if !ignore_lines.is_empty() {
        append_lines(&package_dir.join(".gitignore"), &ignore_lines)?;
        steps.push(Step::Ignored {
            lines: ignore_lines,
        });
    }
    Ok(steps)
}

/// `wasock = { path = "vendor/wasock-<version>" }` in `[dependencies]`, unless any
/// `wasock` dependency is there (the user's choice stands); whether one was there.
fn add_dependency(document: &mut DocumentMut, path: &str, manifest: &Path) -> anyhow::Result<bool> {
    let dependencies = document
        .entry("dependencies")
        .or_insert_with(|| Item::Table(Table::new()));
    let Some(dependencies) = dependencies.as_table_like_mut() else {
        return Err(hint(
            format!(
                "`[dependencies]` in `{}` is not a table",
                manifest.display()
            ),
            "fix the manifest, then run `cargo wasock init` again",
        ));
    };
    if dependencies.contains_key("wasock") {
        return Ok(true);
    }
    let mut dependency = InlineTable::new();
    dependency.insert("path", path.into());
    dependencies.insert("wasock", value(dependency));
    Ok(false)
}

/// `[package.metadata.wasock]` with `new`'s defaults (`env = {}`, `dirs = []`), unless it
/// is there; whether it was.
fn add_metadata(document: &mut DocumentMut, manifest: &Path) -> anyhow::Result<bool> {
    let refuse = || {
        hint(
            format!(
                "`package.metadata` in `{}` is not a table",
                manifest.display()
            ),
            "fix the manifest, then run `cargo wasock init` again",
        )
    };
    let package = document["package"]
        .as_table_like_mut()
        .context("[package] is not a table")?;
    let metadata = package.entry("metadata").or_insert_with(|| {
        let mut table = Table::new();
        // `[package.metadata.wasock]` alone, not an empty `[package.metadata]` above it.
        table.set_implicit(true);
        Item::Table(table)
    });
    let metadata = metadata.as_table_like_mut().ok_or_else(refuse)?;
    if metadata.contains_key("wasock") {
        return Ok(true);
    }
    let mut wasock = Table::new();
    wasock.decor_mut().set_prefix(
        "\n# Defaults read by `cargo wasock build` and `cargo wasock run` (see vendor/wasock-*/README.md).\n",
    );
    wasock.insert("env", value(InlineTable::new()));
    wasock.insert("dirs", value(Array::new()));
    metadata.insert("wasock", Item::Table(wasock));
    Ok(false)
}

/// The lines of `new`'s `.gitignore` (comments aside) that `path` lacks.
fn missing_ignore_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let existing = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => {
            return Err(error).with_context(|| format!("could not read `{}`", path.display()))
        }
    };
    let have: Vec<&str> = existing.lines().map(str::trim).collect();
    Ok(scaffold::common_gitignore()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter(|line| !have.contains(line))
        .map(str::to_owned)
        .collect())
}

/// The library's files, staged in a hidden folder beside `dir` and renamed into place, so a
/// failure leaves no half-written folder.
fn write_vendored(dir: &Path) -> anyhow::Result<()> {
    let parent = dir.parent().context("the vendor folder has no parent")?;
    fs::create_dir_all(parent)
        .with_context(|| format!("could not create `{}`", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".wasock-init-")
        .tempdir_in(parent)
        .hint_context(
            format!("could not write into `{}`", parent.display()),
            "check that you may write to the package's directory",
        )?;
    for (path, contents) in vendor::runtime_library_files() {
        let target = staging.path().join(path);
        if let Some(folder) = target.parent() {
            fs::create_dir_all(folder)
                .with_context(|| format!("could not create `{}`", folder.display()))?;
        }
        fs::write(&target, contents)
            .with_context(|| format!("could not write `{}`", target.display()))?;
    }
    let staged: PathBuf = staging.keep();
    fs::rename(&staged, dir).with_context(|| {
        let _ = fs::remove_dir_all(&staged);
        format!("could not move the library into `{}`", dir.display())
    })
}

/// Replace `path`'s contents through a temporary file in its folder, keeping its mode.
fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("could not write into `{}`", dir.display()))?;
    file.write_all(contents)
        .with_context(|| format!("could not write `{}`", path.display()))?;
    if let Ok(meta) = fs::metadata(path) {
        let _ = fs::set_permissions(file.path(), meta.permissions());
    }
    file.persist(path)
        .map_err(|error| error.error)
        .with_context(|| format!("could not write `{}`", path.display()))?;
    Ok(())
}

/// Append `lines` to the file at `path` (created when missing), on a line of their own.
fn append_lines(path: &Path, lines: &[String]) -> anyhow::Result<()> {
    let existing = fs::read(path).unwrap_or_default();
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("could not open `{}`", path.display()))?;
    let mut text = String::new();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        text.push('\n');
    }
    text.push_str("# cargo-wasock: build output and local settings\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    file.write_all(text.as_bytes())
        .with_context(|| format!("could not write `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_gains_the_dependency_and_metadata_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        let original = "# my package\n[package]\nname = \"mine\" # keep me\nversion = \"0.2.0\"\nedition = \"2021\"\n\n[dependencies]\nserde = \"1\"\n";
        fs::write(&manifest, original).unwrap();
        let steps = init(&manifest).unwrap();
        assert!(
            matches!(steps[0], Step::AddedDependency { .. }),
            "{steps:?}"
        );
        let text = fs::read_to_string(&manifest).unwrap();
        // Every line of the user's, comments included, in its order.
        let mut rest = text.as_str();
        for line in original.lines().filter(|line| !line.is_empty()) {
            let at = rest
                .find(line)
                .unwrap_or_else(|| panic!("lost {line:?}:\n{text}"));
            rest = &rest[at + line.len()..];
        }
        let parsed: toml::Table = text.parse().unwrap();
        let path = parsed["dependencies"]["wasock"]["path"].as_str().unwrap();
        assert!(path.starts_with("vendor/wasock-"), "{path}");
        assert!(dir.path().join(path).join("Cargo.toml").is_file());
        let wasock = &parsed["package"]["metadata"]["wasock"];
        assert!(wasock["env"].as_table().unwrap().is_empty(), "{text}");
        assert!(wasock["dirs"].as_array().unwrap().is_empty(), "{text}");

        // A second run changes nothing.
        let again = init(&manifest).unwrap();
        assert_eq!(fs::read_to_string(&manifest).unwrap(), text);
        assert!(again.contains(&Step::HadDependency), "{again:?}");
        assert!(again.contains(&Step::HadMetadata), "{again:?}");
        assert!(!again
            .iter()
            .any(|step| matches!(step, Step::Ignored { .. })));
    }
}
