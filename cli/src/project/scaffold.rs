//! `new`'s engine room: the embedded templates, package-name rules, rendering and vendoring.
//!
//! Templates and the runtime library are compiled into the binary (`include_dir!`), so an
//! installed `cargo-wasock` scaffolds without this repository. A project is rendered into a
//! hidden temporary directory beside its destination and renamed into place at the end, so
//! a failure half-way leaves nothing behind.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use include_dir::{include_dir, Dir};
use serde::Deserialize;

use crate::project::vendor;
use crate::ui::errors::{hint, usage_error, HintExt as _};

static TEMPLATES: Dir<'static> = include_dir!("$WASOCK_TEMPLATES_DIR");

/// Files every project gets before its template's own.
const COMMON_TEMPLATE: &str = "_common";
/// Files every JavaScript project gets next (`Cargo.toml`, `build.rs` bundling the module
/// graph, `src/main.rs` embedding it, `package.json`), before its template's own.
const JS_TEMPLATE: &str = "_js";
/// The port a generated app uses when neither `new --port` nor `PORT` says otherwise; the
/// one the READMEs show.
pub const DEFAULT_PORT: u16 = 8080;

/// One selectable template, from its `template.toml`.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub description: String,
    pub aliases: Vec<String>,
    /// A JavaScript app: its project also vendors the JS runtime (`wasock-js`).
    pub js: bool,
}

#[derive(Deserialize)]
struct TemplateManifest {
    description: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    js: bool,
}

/// All templates, sorted by name.
pub fn templates() -> anyhow::Result<Vec<Template>> {
    let mut found = Vec::new();
    for dir in TEMPLATES.dirs() {
        let name = dir_name(dir);
        if name == COMMON_TEMPLATE {
            continue;
        }
        let manifest_path = dir.path().join("template.toml");
        let Some(file) = TEMPLATES.get_file(&manifest_path) else {
            continue;
        };
        let text = file.contents_utf8().with_context(|| {
            format!(
                "embedded `templates/{}` is not UTF-8",
                manifest_path.display()
            )
        })?;
        let manifest: TemplateManifest = toml::from_str(text)
            .with_context(|| format!("invalid embedded `templates/{}`", manifest_path.display()))?;
        found.push(Template {
            name,
            description: manifest.description,
            aliases: manifest.aliases,
            js: manifest.js,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

fn dir_name(dir: &Dir<'_>) -> String {
    dir.path()
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The template called `name` or having it as an alias.
pub fn find_template(name: &str) -> anyhow::Result<Template> {
    let all = templates()?;
    if let Some(template) = all
        .iter()
        .find(|t| t.name == name || t.aliases.iter().any(|alias| alias == name))
    {
        return Ok(template.clone());
    }
    let valid: Vec<String> = all
        .iter()
        .map(|t| {
            if t.aliases.is_empty() {
                t.name.clone()
            } else {
                format!("{} (alias {})", t.name, t.aliases.join(", "))
            }
        })
        .collect();
    Err(hint(
        format!("unknown template `{name}`"),
        format!(
            "choose one of: {}; `cargo wasock templates` describes them",
            valid.join(", ")
        ),
    ))
}

/// Names that would break the project or cargo even though they are made of valid characters.
const RESERVED_NAMES: &[&str] = &[
    // The standard library's crates and the test harness.
    "std",
    "core",
    "alloc",
    "proc_macro",
    "proc-macro",
    "test",
    // Folders cargo creates in its target directory.
    "build",
    "deps",
    "examples",
    "incremental",
    // Our own library: a package cannot depend on a crate of its own name.
    "wasock",
    // Windows device names.
    "con",
    "prn",
    "aux",
    "nul",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
];

const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Cargo's package-name rules, plus the names that would not compile as a crate.
pub fn validate_package_name(name: &str) -> anyhow::Result<()> {
    let help = "use letters, digits, `-` and `_`, starting with a letter, e.g. `my-server`";
    let Some(first) = name.chars().next() else {
        return Err(usage_error("the package name is empty", help));
    };
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(usage_error(
            format!("invalid character `{bad}` in package name `{name}`"),
            help,
        ));
    }
    if first.is_ascii_digit() {
        return Err(usage_error(
            format!("the package name `{name}` starts with a digit"),
            help,
        ));
    }
    if first == '-' {
        return Err(usage_error(
            format!("the package name `{name}` starts with `-`"),
            help,
        ));
    }
    let crate_name = name.replace('-', "_");
    if RUST_KEYWORDS.contains(&name) || RUST_KEYWORDS.contains(&crate_name.as_str()) {
        return Err(usage_error(
            format!("the package name `{name}` is a Rust keyword"),
            format!("pick another name, e.g. `{name}-app`"),
        ));
    }
    let lower = name.to_ascii_lowercase();
    if RESERVED_NAMES.contains(&lower.as_str()) || RESERVED_NAMES.contains(&crate_name.as_str()) {
        return Err(usage_error(
            format!("the package name `{name}` is reserved"),
            format!("pick another name, e.g. `{name}-app`"),
        ));
    }
    Ok(())
}

/// The `.gitignore` every project gets (`templates/_common/files/.gitignore`), for `init`.
pub fn common_gitignore() -> &'static str {
    TEMPLATES
        .get_file(format!("{COMMON_TEMPLATE}/files/.gitignore"))
        .and_then(|file| file.contents_utf8())
        .unwrap_or("")
}

/// What `new` was asked to create.
pub struct NewProject {
    pub name: String,
    pub template: Template,
    pub port: u16,
    pub destination: PathBuf,
}

/// Refuse a destination that holds anything (or is not a directory).
pub fn check_destination(destination: &Path) -> anyhow::Result<()> {
    match fs::read_dir(destination) {
        Ok(mut entries) => {
            if entries.next().is_none() {
                return Ok(());
            }
            let help = if destination.join("Cargo.toml").is_file() {
                // The usual cause: the same `new` run a second time.
                format!(
                    "it is a cargo project already: to run it, `cd {}` and `cargo wasock run`; to create another, choose another name or pass `--path DIR`",
                    destination.display()
                )
            } else {
                "choose another name or pass `--path DIR` with a new or empty directory".to_owned()
            };
            Err(hint(
                format!(
                    "destination `{}` already exists and is not empty",
                    destination.display()
                ),
                help,
            ))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if destination.exists() => Err(hint(
            format!(
                "destination `{}` already exists and is not a directory",
                destination.display()
            ),
            "choose another name or pass `--path DIR` with a new or empty directory",
        )),
        Err(error) => {
            Err(error).with_context(|| format!("could not read `{}`", destination.display()))
        }
    }
}

/// Render the project and move it into place; returns the files written, relative to it.
pub fn create(project: &NewProject) -> anyhow::Result<Vec<PathBuf>> {
    check_destination(&project.destination)?;
    let files = render(project)?;

    let destination = absolute(&project.destination)?;
    // An existing (empty) directory stays, and may be the user's working directory: the
    // project is staged inside it and its entries moved up. A new one is staged beside
    // its future place and renamed into it.
    let existing = destination.is_dir();
    let staging_parent = if existing {
        destination.clone()
    } else {
        let parent = destination
            .parent()
            .context("the destination has no parent directory")?
            .to_path_buf();
        fs::create_dir_all(&parent)
            .with_context(|| format!("could not create `{}`", parent.display()))?;
        parent
    };
    let staging = tempfile::Builder::new()
        .prefix(".wasock-new-")
        .tempdir_in(&staging_parent)
        .hint_context(
            format!(
                "could not create a temporary directory in `{}`",
                staging_parent.display()
            ),
            "check that the directory is writable",
        )?;
    for (relative, contents) in &files {
        let path = staging.path().join(relative);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .with_context(|| format!("could not create `{}`", dir.display()))?;
        }
        fs::write(&path, contents)
            .with_context(|| format!("could not write `{}`", path.display()))?;
    }

    let moved = if existing {
        move_entries(staging.path(), &destination)
    } else {
        fs::rename(staging.path(), &destination)
    };
    moved.with_context(|| {
        format!(
            "could not move the new project into `{}`",
            destination.display()
        )
    })?;
    Ok(files.into_keys().collect())
}

/// Move every entry of `from` into `to`; on failure, take back what was moved.
fn move_entries(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut moved = Vec::new();
    let result = (|| {
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            let target = to.join(entry.file_name());
            fs::rename(entry.path(), &target)?;
            moved.push(target);
        }
        Ok(())
    })();
    if result.is_err() {
        for path in moved {
            let _ = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        }
    }
    result
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("could not resolve `{}`", path.display()))
}

/// Every file of the project, keyed by its path inside it; later layers replace earlier ones.
fn render(project: &NewProject) -> anyhow::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let version = vendor::runtime_version()?;
    let vendor = vendor::vendor_dir(&version);
    let variables = serde_json::json!({
        "name": project.name,
        "crate_name": project.name.replace('-', "_"),
        "port": project.port,
        "template": project.template.name,
        "wasock_version": version,
        "wasock_dir": vendor,
        "wasock_js_dir": vendor::js_vendor_dir(),
        "cli_version": env!("CARGO_PKG_VERSION"),
    });
    let mut handlebars = handlebars::Handlebars::new();
    handlebars.set_strict_mode(true);
    handlebars.register_escape_fn(handlebars::no_escape);

    let mut files = BTreeMap::new();
    let layers = [
        Some(COMMON_TEMPLATE),
        project.template.js.then_some(JS_TEMPLATE),
        Some(project.template.name.as_str()),
    ];
    for layer in layers.into_iter().flatten() {
        let root = Path::new(layer).join("files");
        let Some(dir) = TEMPLATES.get_dir(&root) else {
            continue;
        };
        let mut layer_files = Vec::new();
        vendor::collect_files(dir, &mut layer_files);
        for file in layer_files {
            let relative = file
                .path()
                .strip_prefix(&root)
                .context("template file outside its folder")?;
            let template_path = format!("templates/{}", file.path().display());
            if relative.extension().is_some_and(|ext| ext == "hbs") {
                let text = file
                    .contents_utf8()
                    .with_context(|| format!("{template_path} is not UTF-8"))?;
                let rendered = handlebars
                    .render_template(text, &variables)
                    .with_context(|| format!("could not render {template_path}"))?;
                files.insert(relative.with_extension(""), rendered.into_bytes());
            } else {
                files.insert(relative.to_path_buf(), file.contents().to_vec());
            }
        }
    }
    if files.is_empty() {
        bail!("template `{}` has no files", project.template.name);
    }

    let vendor_path = PathBuf::from(&vendor);
    for (path, contents) in vendor::runtime_library_files() {
        files.insert(vendor_path.join(path), contents.to_vec());
    }
    if project.template.js {
        let js_vendor = PathBuf::from(vendor::js_vendor_dir());
        for (path, contents) in vendor::js_vendored_files(&vendor)? {
            files.insert(js_vendor.join(path), contents);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["hello", "my-server", "my_server2", "a"] {
            validate_package_name(name).unwrap();
        }
    }

    #[test]
    fn refuses_bad_names() {
        for name in [
            "", "1app", "-app", "my app", "café", "fn", "test", "std", "wasock", "self", "con",
        ] {
            assert!(
                validate_package_name(name).is_err(),
                "{name:?} was accepted"
            );
        }
    }
}
