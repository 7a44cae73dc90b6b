//! Module specifiers to files, the way Node resolves them (nodejs.org/api/esm.html,
//! "Resolution Algorithm Specification", and `require`'s lookup in modules.html): relative
//! and absolute paths, `#imports`, a package's own name (PACKAGE_SELF_RESOLVE), and bare
//! specifiers from `node_modules` folders walking up, through `package.json`'s `exports`
//! (conditions, subpath patterns), else the entry fields ([`IMPORT_ENTRY_FIELDS`]) and
//! `index.js`. A package without `exports` may also swap files and modules for web ones
//! through its `browser` field, as bundlers do (github.com/defunctzombie/package-browser-field-spec).
//! Pure Rust over a [`Files`] view (the disk, or an app's embedded bundle), so the same code
//! runs in the runtime and in a project's build script.
//!
//! Paths are `/`-separated and normalized (no `.` or `..` segments, no trailing `/`):
//! relative to the guest's working directory (`src/main.js`; the empty string is that
//! directory) or absolute (`/data/x.js`). Beyond Node's ES module rules, a relative or
//! package path without an extension also tries `.js`, `.mjs`, `.cjs`, `.json` and a
//! folder's `index` (as `require` and bundlers do), so scripts written for either work.

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;

/// The export conditions an `import` matches, in no particular order (the package's order
/// decides): web-standard builds first, as workerd picks them; `node` is not among them, so
/// packages choose builds that use `fetch`/`crypto` globals rather than Node's modules.
pub const IMPORT_CONDITIONS: &[&str] = &["worker", "browser", "import", "module", "default"];
/// The export conditions a `require` matches.
pub const REQUIRE_CONDITIONS: &[&str] = &["worker", "browser", "require", "default"];

/// The `package.json` fields an `import` takes a package's entry from when it has no
/// `exports`, first found file wins: a string `browser` (the web build, for the same reason
/// as the `browser` condition), then `module` (the ES build), then `main`; then `index.js`.
/// The order of webpack's and esbuild's `mainFields` for browser targets. An object
/// `browser` is no entry: it maps the file the other fields chose (see [`EMPTY_MODULE`]).
pub const IMPORT_ENTRY_FIELDS: &[&str] = &["browser", "module", "main"];
/// The entry fields for `require`: a string `browser`, then `main` (`module` is ES syntax).
pub const REQUIRE_ENTRY_FIELDS: &[&str] = &["browser", "main"];

/// What a module mapped to `false` by a package's `browser` object resolves to (a name no
/// resolved path takes: resolved paths are normalized files, and this one has no folder
/// and a `:`). The loader gives it as an empty CommonJS module: `module.exports` is `{}`,
/// the default export of an `import`. One module shared by every package that maps to it.
pub const EMPTY_MODULE: &str = "wasock:empty-module";

/// Extensions tried after the exact path, in order (Node's `require` tries `.js`, `.json`).
const EXTENSIONS: &[&str] = &[".js", ".mjs", ".cjs", ".json"];

/// Read access to the files modules come from.
pub trait Files {
    /// The file's bytes, or `None` when it is not a readable file.
    fn read(&self, path: &str) -> Option<Cow<'_, [u8]>>;
    /// Whether `path` is a file.
    fn is_file(&self, path: &str) -> bool;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &str) -> bool;
}

/// The guest's file system through WASI (or the host's, natively); relative paths are
/// relative to the working directory, the script's directory under `run --js`.
pub struct Disk;

impl Disk {
    fn os_path(path: &str) -> &str {
        if path.is_empty() {
            "."
        } else {
            path
        }
    }
}

impl Files for Disk {
    fn read(&self, path: &str) -> Option<Cow<'_, [u8]>> {
        std::fs::read(Self::os_path(path)).ok().map(Cow::Owned)
    }
    fn is_file(&self, path: &str) -> bool {
        std::fs::metadata(Self::os_path(path)).is_ok_and(|meta| meta.is_file())
    }
    fn is_dir(&self, path: &str) -> bool {
        std::fs::metadata(Self::os_path(path)).is_ok_and(|meta| meta.is_dir())
    }
}

/// Who asks: `import` (ES module rules and [`IMPORT_CONDITIONS`]) or `require`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Import,
    Require,
}

impl Kind {
    fn conditions(self) -> &'static [&'static str] {
        match self {
            Kind::Import => IMPORT_CONDITIONS,
            Kind::Require => REQUIRE_CONDITIONS,
        }
    }

    fn entry_fields(self) -> &'static [&'static str] {
        match self {
            Kind::Import => IMPORT_ENTRY_FIELDS,
            Kind::Require => REQUIRE_ENTRY_FIELDS,
        }
    }
}

/// How a file is evaluated (Node's "format", from its extension and the nearest
/// `package.json`'s `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.mjs`, or `.js` under `"type": "module"`.
    Module,
    /// `.cjs`, or `.js` under `"type": "commonjs"`.
    CommonJs,
    /// `.js` with no `type`: module syntax decides, as Node's detection does.
    Detect,
    /// `.json`.
    Json,
}

/// Why a specifier did not resolve: the message a script's error carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError(pub String);

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resolver over `files`, caching the `package.json` files it reads.
pub struct Resolver<F: Files> {
    pub files: F,
    packages: HashMap<String, Option<Rc<Value>>>,
}

impl<F: Files> Resolver<F> {
    pub fn new(files: F) -> Self {
        Resolver {
            files,
            packages: HashMap::new(),
        }
    }

    /// The file `specifier` names when `referrer` (a normalized path) imports or requires
    /// it, or [`EMPTY_MODULE`]. Builtin module names are the caller's to recognize first (so
    /// a builtin wins over a `browser` field's replacement of its name).
    pub fn resolve(
        &mut self,
        specifier: &str,
        referrer: &str,
        kind: Kind,
    ) -> Result<String, ResolveError> {
        if is_bare(specifier) {
            if let Some(replaced) = self.browser_module(specifier, referrer, kind)? {
                return Ok(replaced);
            }
        }
        let found = self.resolve_unmapped(specifier, referrer, kind)?;
        self.browser_file(found, specifier, referrer, kind)
    }

    /// [`Resolver::resolve`] before the `browser` field's replacements.
    fn resolve_unmapped(
        &mut self,
        specifier: &str,
        referrer: &str,
        kind: Kind,
    ) -> Result<String, ResolveError> {
        let from = dirname(referrer);
        let not_found = |what: &str| {
            ResolveError(format!(
                "Cannot find {what} '{specifier}' imported from {}",
                display_path(referrer)
            ))
        };
        if specifier.starts_with("./")
            || specifier.starts_with("../")
            || specifier == "."
            || specifier == ".."
            || specifier.starts_with('/')
        {
            let path = join(from, specifier);
            return self
                .file_or_directory(&path)
                .ok_or_else(|| not_found("module"));
        }
        if let Some(rest) = specifier.strip_prefix("file://") {
            return self
                .file_or_directory(&normalize(rest))
                .ok_or_else(|| not_found("module"));
        }
        if specifier.starts_with('#') {
            return self.package_imports(specifier, from, kind, referrer);
        }
        let (name, subpath) = split_package(specifier).ok_or_else(|| {
            ResolveError(format!(
                "Invalid module specifier '{specifier}' imported from {}",
                display_path(referrer)
            ))
        })?;
        if let Some(scope) = self.self_reference(name, from) {
            return self.package_entry(&scope, &subpath, kind, specifier, referrer);
        }
        let mut dir = Some(from.to_string());
        while let Some(at) = dir {
            if !at.ends_with("node_modules") {
                let package = join(&join(&at, "node_modules"), name);
                if self.files.is_dir(&package) {
                    return self.package_entry(&package, &subpath, kind, specifier, referrer);
                }
            }
            dir = parent(&at);
        }
        Err(not_found("package"))
    }

    /// A file or, for a folder, its `package.json` `main` or `index`.
    fn file_or_directory(&mut self, path: &str) -> Option<String> {
        if let Some(file) = self.file_with_extensions(path) {
            return Some(file);
        }
        if self.files.is_dir(path) {
            if let Some(main) = self
                .package_json(path)
                .and_then(|json| json.get("main").and_then(Value::as_str).map(String::from))
            {
                if let Some(file) = self.file_with_extensions(&join(path, &main)) {
                    return Some(file);
                }
                if let Some(file) = self.index(&join(path, &main)) {
                    return Some(file);
                }
            }
            return self.index(path);
        }
        None
    }

    fn file_with_extensions(&self, path: &str) -> Option<String> {
        if self.files.is_file(path) {
            return Some(path.to_string());
        }
        EXTENSIONS
            .iter()
            .map(|extension| format!("{path}{extension}"))
            .find(|candidate| self.files.is_file(candidate))
    }

    fn index(&self, dir: &str) -> Option<String> {
        self.file_with_extensions(&join(dir, "index"))
    }

    /// Inside a package folder: `exports` when it has one, else the legacy fields.
    fn package_entry(
        &mut self,
        package: &str,
        subpath: &str,
        kind: Kind,
        specifier: &str,
        referrer: &str,
    ) -> Result<String, ResolveError> {
        let json = self.package_json(package);
        if let Some(exports) = json.as_ref().and_then(|json| json.get("exports")) {
            if !exports.is_null() {
                let found = exports_resolve(package, subpath, exports, kind.conditions()).map_err(
                    |message| {
                        ResolveError(format!(
                            "{message} in {}, imported as '{specifier}' from {}",
                            package_json_path(package),
                            display_path(referrer)
                        ))
                    },
                )?;
                return self.existing(found, specifier, referrer);
            }
        }
        if subpath == "." {
            for field in kind.entry_fields() {
                if let Some(main) = json
                    .as_ref()
                    .and_then(|json| json.get(*field))
                    .and_then(Value::as_str)
                {
                    if let Some(file) = self.file_or_directory(&join(package, main)) {
                        return Ok(file);
                    }
                }
            }
            return self.index(package).ok_or_else(|| {
                ResolveError(format!(
                    "Cannot find the entry point of package '{specifier}' ({}: no `exports`, `{}` or index.js) imported from {}",
                    display_path(package),
                    kind.entry_fields().join("`, `"),
                    display_path(referrer)
                ))
            });
        }
        self.file_or_directory(&join(package, subpath))
            .ok_or_else(|| {
                ResolveError(format!(
                    "Cannot find module '{specifier}' imported from {}",
                    display_path(referrer)
                ))
            })
    }

    /// PACKAGE_SELF_RESOLVE: the folder of the package scope of `from` when its
    /// `package.json` is named `name` and has `exports` (through which the name resolves,
    /// never through `node_modules`); `None` otherwise.
    fn self_reference(&mut self, name: &str, from: &str) -> Option<String> {
        let scope = self.package_scope(from)?;
        let json = self.package_json(&scope)?;
        let named = json.get("name").and_then(Value::as_str) == Some(name);
        let exports = json
            .get("exports")
            .is_some_and(|exports| !exports.is_null());
        (named && exports).then_some(scope)
    }

    /// The object form of the `browser` field of the package scope of `dir`, with the
    /// scope's folder; `None` when the package has `exports` (which wins, as in bundlers).
    fn browser_map(&mut self, dir: &str) -> Option<(String, Rc<Value>)> {
        let scope = self.package_scope(dir)?;
        let json = self.package_json(&scope)?;
        if json
            .get("exports")
            .is_some_and(|exports| !exports.is_null())
            || !json.get("browser").is_some_and(Value::is_object)
        {
            return None;
        }
        Some((scope, json))
    }

    /// A bare `specifier` that the `browser` object of the referrer's package replaces
    /// (`"fs": false`, `"node-fetch": "./fetch-shim.js"`, `"a": "b"`).
    fn browser_module(
        &mut self,
        specifier: &str,
        referrer: &str,
        kind: Kind,
    ) -> Result<Option<String>, ResolveError> {
        let Some((scope, json)) = self.browser_map(dirname(referrer)) else {
            return Ok(None);
        };
        match json["browser"].get(specifier) {
            Some(value) => self.browser_target(&scope, specifier, value, specifier, referrer, kind),
            None => Ok(None),
        }
    }

    /// `path`, or its replacement when the `browser` object of its package maps it (keys
    /// are `./` paths from the package's folder, matched with or without an extension).
    fn browser_file(
        &mut self,
        path: String,
        specifier: &str,
        referrer: &str,
        kind: Kind,
    ) -> Result<String, ResolveError> {
        if path == EMPTY_MODULE {
            return Ok(path);
        }
        let Some((scope, json)) = self.browser_map(dirname(&path)) else {
            return Ok(path);
        };
        let Some(map) = json["browser"].as_object() else {
            return Ok(path);
        };
        for (key, value) in map {
            if !key.starts_with("./") {
                continue;
            }
            let file = join(&scope, key);
            if file == path || self.file_with_extensions(&file).as_deref() == Some(path.as_str()) {
                let replaced =
                    self.browser_target(&scope, key, value, specifier, referrer, kind)?;
                return Ok(replaced.unwrap_or(path));
            }
        }
        Ok(path)
    }

    /// A `browser` object's value for `key`: `false` is [`EMPTY_MODULE`], a `./` path a file
    /// of the package, another string a module resolved from the package's folder (without
    /// further `browser` replacement, so a map cannot loop); other values are ignored
    /// (`Ok(None)`), as bundlers ignore them.
    fn browser_target(
        &mut self,
        scope: &str,
        key: &str,
        value: &Value,
        specifier: &str,
        referrer: &str,
        kind: Kind,
    ) -> Result<Option<String>, ResolveError> {
        match value {
            Value::Bool(false) => Ok(Some(EMPTY_MODULE.to_string())),
            Value::String(target) if target.starts_with("./") || target.starts_with("../") => {
                let path = join(scope, target);
                self.file_or_directory(&path).map(Some).ok_or_else(|| {
                    ResolveError(format!(
                        "Cannot find module '{}' (the `browser` field's replacement for '{key}' in {}, asked for as '{specifier}') imported from {}",
                        display_path(&path),
                        package_json_path(scope),
                        display_path(referrer)
                    ))
                })
            }
            Value::String(target) => self
                .resolve_unmapped(target, &join(scope, "package.json"), kind)
                .map(Some)
                .map_err(|error| {
                    ResolveError(format!(
                        "{error} (the `browser` field's replacement for '{key}' in {}, asked for as '{specifier}' from {})",
                        package_json_path(scope),
                        display_path(referrer)
                    ))
                }),
            _ => Ok(None),
        }
    }

    /// An `exports`/`imports` target must exist as written (Node adds no extension).
    fn existing(
        &self,
        path: String,
        specifier: &str,
        referrer: &str,
    ) -> Result<String, ResolveError> {
        if self.files.is_file(&path) {
            Ok(path)
        } else {
            Err(ResolveError(format!(
                "Cannot find module '{}' (the package's target for '{specifier}') imported from {}",
                display_path(&path),
                display_path(referrer)
            )))
        }
    }

    /// `#name`: the nearest `package.json`'s `imports` field (PACKAGE_IMPORTS_RESOLVE).
    fn package_imports(
        &mut self,
        specifier: &str,
        from: &str,
        kind: Kind,
        referrer: &str,
    ) -> Result<String, ResolveError> {
        let not_defined = || {
            ResolveError(format!(
                "Package import specifier '{specifier}' is not defined, imported from {}",
                display_path(referrer)
            ))
        };
        let scope = self.package_scope(from).ok_or_else(not_defined)?;
        let json = self.package_json(&scope).ok_or_else(not_defined)?;
        let Some(imports) = json.get("imports").and_then(Value::as_object) else {
            return Err(not_defined());
        };
        match imports_exports_resolve(specifier, imports, &scope, true, kind.conditions()) {
            Ok(Some(Target::Path(path))) => self.existing(path, specifier, referrer),
            Ok(Some(Target::Bare(bare))) => {
                self.resolve(&bare, &join(&scope, "package.json"), kind)
            }
            Ok(None) => Err(not_defined()),
            Err(message) => Err(ResolveError(format!(
                "{message} in {}, imported as '{specifier}' from {}",
                package_json_path(&scope),
                display_path(referrer)
            ))),
        }
    }

    /// How `path` is evaluated: by extension, then the `type` of its package scope
    /// ([`EMPTY_MODULE`] is CommonJS).
    pub fn format(&mut self, path: &str) -> Format {
        if path.ends_with(".mjs") {
            return Format::Module;
        }
        if path.ends_with(".cjs") || path == EMPTY_MODULE {
            return Format::CommonJs;
        }
        if path.ends_with(".json") {
            return Format::Json;
        }
        let package_type = self
            .package_scope(dirname(path))
            .and_then(|scope| self.package_json(&scope))
            .and_then(|json| json.get("type").and_then(Value::as_str).map(String::from));
        match package_type.as_deref() {
            Some("module") => Format::Module,
            Some("commonjs") => Format::CommonJs,
            _ => Format::Detect,
        }
    }

    /// The nearest folder at or above `dir` with a `package.json` (LOOKUP_PACKAGE_SCOPE:
    /// the search stops at a `node_modules` folder).
    fn package_scope(&mut self, dir: &str) -> Option<String> {
        let mut at = Some(dir.to_string());
        while let Some(dir) = at {
            if dir.ends_with("node_modules") {
                return None;
            }
            if self.package_json(&dir).is_some() {
                return Some(dir);
            }
            at = parent(&dir);
        }
        None
    }

    /// `dir/package.json`, parsed (cached; `None` when missing or not valid JSON).
    fn package_json(&mut self, dir: &str) -> Option<Rc<Value>> {
        if let Some(known) = self.packages.get(dir) {
            return known.clone();
        }
        let parsed = self
            .files
            .read(&join(dir, "package.json"))
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .filter(Value::is_object)
            .map(Rc::new);
        self.packages.insert(dir.to_string(), parsed.clone());
        parsed
    }
}

/// What a target string resolves to: a path inside the package, or (only in `imports`) a
/// bare specifier to resolve as a package.
enum Target {
    Path(String),
    Bare(String),
}

/// PACKAGE_EXPORTS_RESOLVE: `subpath` (`.` or `./x`) through `exports`.
fn exports_resolve(
    package: &str,
    subpath: &str,
    exports: &Value,
    conditions: &[&str],
) -> Result<String, String> {
    let dotted = |object: &serde_json::Map<String, Value>| {
        let dots = object.keys().filter(|key| key.starts_with('.')).count();
        if dots != 0 && dots != object.len() {
            Err(
                "Invalid package configuration (`exports` mixes subpaths and conditions)"
                    .to_string(),
            )
        } else {
            Ok(dots != 0)
        }
    };
    let subpaths = match exports {
        Value::Object(object) if dotted(object)? => Some(object),
        _ => None,
    };
    let found = match (subpath, subpaths) {
        (".", Some(object)) => match object.get(".") {
            Some(main) => target_resolve(package, main, None, false, conditions)?,
            None => None,
        },
        (".", None) => target_resolve(package, exports, None, false, conditions)?,
        (_, Some(object)) => imports_exports_resolve(subpath, object, package, false, conditions)?,
        (_, None) => None,
    };
    match found {
        Some(Target::Path(path)) => Ok(path),
        _ => Err(format!(
            "Package subpath '{subpath}' is not defined by \"exports\" for the conditions {conditions:?}"
        )),
    }
}

/// PACKAGE_IMPORTS_EXPORTS_RESOLVE: an exact key, else the most specific `*` pattern.
fn imports_exports_resolve(
    key: &str,
    object: &serde_json::Map<String, Value>,
    package: &str,
    imports: bool,
    conditions: &[&str],
) -> Result<Option<Target>, String> {
    if !key.contains('*') {
        if let Some(target) = object.get(key) {
            return target_resolve(package, target, None, imports, conditions);
        }
    }
    let mut patterns: Vec<&String> = object
        .keys()
        .filter(|candidate| candidate.matches('*').count() == 1)
        .collect();
    patterns.sort_by(|a, b| pattern_key_compare(a, b));
    for pattern in patterns {
        let (base, trailer) = pattern.split_once('*').expect("one `*`");
        if key.starts_with(base)
            && key != base
            && (trailer.is_empty() || (key.ends_with(trailer) && key.len() >= pattern.len()))
        {
            let matched = &key[base.len()..key.len() - trailer.len()];
            return target_resolve(
                package,
                &object[pattern.as_str()],
                Some(matched),
                imports,
                conditions,
            );
        }
    }
    Ok(None)
}

/// PATTERN_KEY_COMPARE: longer prefix before `*` first, then longer keys.
fn pattern_key_compare(a: &str, b: &str) -> std::cmp::Ordering {
    let base = |key: &str| key.find('*').map_or(key.len(), |at| at + 1);
    base(b).cmp(&base(a)).then(b.len().cmp(&a.len()))
}

/// PACKAGE_TARGET_RESOLVE: a string target, the first matching condition of an object, or
/// the first valid entry of an array. `Ok(None)`: no match (or an explicit `null`).
fn target_resolve(
    package: &str,
    target: &Value,
    matched: Option<&str>,
    imports: bool,
    conditions: &[&str],
) -> Result<Option<Target>, String> {
    match target {
        Value::String(target) => {
            let substituted = match matched {
                Some(matched) => target.replace('*', matched),
                None => target.clone(),
            };
            if !target.starts_with("./") {
                if imports && !target.starts_with("../") && !target.starts_with('/') {
                    return Ok(Some(Target::Bare(substituted)));
                }
                return Err(format!("Invalid package target \"{target}\""));
            }
            let invalid = |path: &str| {
                path.split(['/', '\\'])
                    .skip(1)
                    .any(|segment| matches!(segment, "" | "." | ".." | "node_modules"))
            };
            if invalid(target.trim_end_matches('*'))
                || matched.is_some_and(|m| {
                    m.split('/')
                        .any(|s| matches!(s, "." | ".." | "node_modules"))
                })
            {
                return Err(format!("Invalid package target \"{target}\""));
            }
            Ok(Some(Target::Path(join(package, &substituted))))
        }
        Value::Object(object) => {
            for (condition, value) in object {
                if condition == "default" || conditions.contains(&condition.as_str()) {
                    if let Some(found) =
                        target_resolve(package, value, matched, imports, conditions)?
                    {
                        return Ok(Some(found));
                    }
                }
            }
            Ok(None)
        }
        Value::Array(targets) => {
            let mut last_error = None;
            for target in targets {
                match target_resolve(package, target, matched, imports, conditions) {
                    Ok(Some(found)) => return Ok(Some(found)),
                    Ok(None) => {}
                    Err(error) => last_error = Some(error),
                }
            }
            match last_error {
                Some(error) => Err(error),
                None => Ok(None),
            }
        }
        Value::Null => Ok(None),
        other => Err(format!("Invalid package target {other}")),
    }
}

/// Whether `specifier` names a package (not a path, a `file:` URL or an `#import`).
fn is_bare(specifier: &str) -> bool {
    !(specifier.starts_with("./")
        || specifier.starts_with("../")
        || specifier == "."
        || specifier == ".."
        || specifier.starts_with('/')
        || specifier.starts_with("file://")
        || specifier.starts_with('#'))
}

/// A bare specifier's package name (`pkg` or `@scope/pkg`) and subpath (`.` or `./rest`).
fn split_package(specifier: &str) -> Option<(&str, String)> {
    let end = if specifier.starts_with('@') {
        let slash = specifier.find('/')?;
        specifier[slash + 1..]
            .find('/')
            .map_or(specifier.len(), |at| slash + 1 + at)
    } else {
        specifier.find('/').unwrap_or(specifier.len())
    };
    let name = &specifier[..end];
    if name.is_empty() || name.starts_with('.') || name.contains(['\\', '%']) || name.ends_with('/')
    {
        return None;
    }
    Some((name, format!(".{}", &specifier[end..])))
}

/// The folder of a normalized path (`""` for a file in the working directory).
pub fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(at) => &path[..at],
        None => "",
    }
}

/// The folder above `dir`, or `None` at the top (`""` or `/`).
fn parent(dir: &str) -> Option<String> {
    if dir.is_empty() || dir == "/" {
        None
    } else {
        Some(dirname(dir).to_string())
    }
}

/// `relative` joined to `dir` and normalized; an absolute `relative` replaces `dir`.
pub fn join(dir: &str, relative: &str) -> String {
    if relative.starts_with('/') {
        normalize(relative)
    } else if dir.is_empty() {
        normalize(relative)
    } else {
        normalize(&format!("{dir}/{relative}"))
    }
}

/// Drops `.` and empty segments and applies `..` (never above the top).
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    let joined = segments.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// The `package.json` of the package folder `dir`, as messages show it.
fn package_json_path(dir: &str) -> String {
    display_path(&join(dir, "package.json"))
}

/// A path as messages show it (`./` for the working directory's files, as scripts write them).
pub fn display_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("./{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Memory(BTreeMap<String, String>);

    impl Files for Memory {
        fn read(&self, path: &str) -> Option<Cow<'_, [u8]>> {
            self.0.get(path).map(|text| Cow::Borrowed(text.as_bytes()))
        }
        fn is_file(&self, path: &str) -> bool {
            self.0.contains_key(path)
        }
        fn is_dir(&self, path: &str) -> bool {
            let prefix = if path.is_empty() {
                String::new()
            } else {
                format!("{path}/")
            };
            self.0.keys().any(|key| key.starts_with(&prefix))
        }
    }

    fn resolver(files: &[(&str, &str)]) -> Resolver<Memory> {
        Resolver::new(Memory(
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        ))
    }

    #[test]
    fn paths() {
        assert_eq!(join("src", "../lib/./a.js"), "lib/a.js");
        assert_eq!(join("", "./a.js"), "a.js");
        assert_eq!(join("/x", "../../a.js"), "/a.js");
        assert_eq!(dirname("a.js"), "");
        assert_eq!(dirname("/a.js"), "/");
        assert_eq!(
            split_package("@s/p/x/y.js"),
            Some(("@s/p", "./x/y.js".into()))
        );
        assert_eq!(split_package("p"), Some(("p", ".".into())));
        assert_eq!(split_package("@s"), None);
    }

    #[test]
    fn exports_conditions_patterns_and_legacy_fields() {
        let mut r = resolver(&[
            ("src/main.js", ""),
            (
                "node_modules/p/package.json",
                r#"{"exports":{".":{"node":"./node.js","browser":{"import":"./web.mjs","require":"./web.cjs"},"default":"./d.js"},
                   "./feature/*.js":"./lib/*.js","./feature/internal/*":null,"./x":["bad:",  "./x.js"]}}"#,
            ),
            ("node_modules/p/web.mjs", ""),
            ("node_modules/p/web.cjs", ""),
            ("node_modules/p/lib/a.js", ""),
            ("node_modules/p/x.js", ""),
            (
                "node_modules/@s/q/package.json",
                r#"{"module":"esm/i.js","main":"cjs/i.js"}"#,
            ),
            ("node_modules/@s/q/esm/i.js", ""),
            ("node_modules/@s/q/cjs/i.js", ""),
            ("node_modules/r/index.js", ""),
            (
                "package.json",
                r##"{"imports":{"#dep":"p","#util/*":"./src/util/*.js"}}"##,
            ),
            ("src/util/a.js", ""),
        ]);
        let at = |r: &mut Resolver<Memory>, s: &str, k| r.resolve(s, "src/main.js", k);
        assert_eq!(
            at(&mut r, "p", Kind::Import).unwrap(),
            "node_modules/p/web.mjs"
        );
        assert_eq!(
            at(&mut r, "p", Kind::Require).unwrap(),
            "node_modules/p/web.cjs"
        );
        assert_eq!(
            at(&mut r, "p/feature/a.js", Kind::Import).unwrap(),
            "node_modules/p/lib/a.js"
        );
        assert_eq!(
            at(&mut r, "p/x", Kind::Import).unwrap(),
            "node_modules/p/x.js"
        );
        assert!(at(&mut r, "p/feature/internal/a", Kind::Import).is_err());
        let error = at(&mut r, "p/lib/a.js", Kind::Import).unwrap_err().0;
        assert!(error.contains("'./lib/a.js' is not defined"), "{error}");
        assert_eq!(
            at(&mut r, "@s/q", Kind::Import).unwrap(),
            "node_modules/@s/q/esm/i.js"
        );
        assert_eq!(
            at(&mut r, "@s/q", Kind::Require).unwrap(),
            "node_modules/@s/q/cjs/i.js"
        );
        assert_eq!(
            at(&mut r, "r", Kind::Import).unwrap(),
            "node_modules/r/index.js"
        );
        assert_eq!(
            at(&mut r, "#dep", Kind::Import).unwrap(),
            "node_modules/p/web.mjs"
        );
        assert_eq!(
            at(&mut r, "#util/a", Kind::Import).unwrap(),
            "src/util/a.js"
        );
        let error = at(&mut r, "missing", Kind::Import).unwrap_err().0;
        assert_eq!(
            error,
            "Cannot find package 'missing' imported from ./src/main.js"
        );
        assert_eq!(r.format("node_modules/p/web.mjs"), Format::Module);
        assert_eq!(r.format("src/main.js"), Format::Detect);
    }

    #[test]
    fn self_reference_through_exports() {
        let mut r = resolver(&[
            (
                "package.json",
                r#"{"name":"app","exports":{".":"./src/index.js","./util":{"import":"./src/util.mjs","require":"./src/util.cjs"}}}"#,
            ),
            ("src/main.js", ""),
            ("src/index.js", ""),
            ("src/util.mjs", ""),
            ("src/util.cjs", ""),
            // Never chosen: a package refers to itself through its own `exports`.
            ("node_modules/app/index.js", ""),
            ("node_modules/app/util.js", ""),
            (
                "node_modules/p/package.json",
                r#"{"name":"p","exports":{"./a":"./a.js"}}"#,
            ),
            ("node_modules/p/a.js", ""),
            ("node_modules/p/lib/x.js", ""),
            // No `exports`: no self-reference, `node_modules` as before.
            ("other/package.json", r#"{"name":"q","main":"main.js"}"#),
            ("other/main.js", ""),
            ("other/x.js", ""),
            ("node_modules/q/index.js", ""),
            ("nulled/package.json", r#"{"name":"q","exports":null}"#),
            ("nulled/x.js", ""),
        ]);
        let main = "src/main.js";
        assert_eq!(
            r.resolve("app", main, Kind::Import).unwrap(),
            "src/index.js"
        );
        assert_eq!(
            r.resolve("app/util", main, Kind::Import).unwrap(),
            "src/util.mjs"
        );
        assert_eq!(
            r.resolve("app/util", main, Kind::Require).unwrap(),
            "src/util.cjs"
        );
        let error = r.resolve("app/util.js", main, Kind::Import).unwrap_err().0;
        assert_eq!(
            error,
            "Package subpath './util.js' is not defined by \"exports\" for the conditions \
             [\"worker\", \"browser\", \"import\", \"module\", \"default\"] in ./package.json, \
             imported as 'app/util.js' from ./src/main.js"
        );
        let inside = "node_modules/p/lib/x.js";
        assert_eq!(
            r.resolve("p/a", inside, Kind::Import).unwrap(),
            "node_modules/p/a.js"
        );
        let error = r.resolve("p", inside, Kind::Import).unwrap_err().0;
        assert!(
            error.starts_with("Package subpath '.' is not defined")
                && error.ends_with(
                    "in ./node_modules/p/package.json, imported as 'p' from ./node_modules/p/lib/x.js"
                ),
            "{error}"
        );
        assert_eq!(
            r.resolve("q", "other/x.js", Kind::Import).unwrap(),
            "node_modules/q/index.js"
        );
        assert_eq!(
            r.resolve("q", "nulled/x.js", Kind::Import).unwrap(),
            "node_modules/q/index.js"
        );
        // Another package's name still comes from `node_modules`.
        assert_eq!(
            r.resolve("p/a", main, Kind::Import).unwrap(),
            "node_modules/p/a.js"
        );
    }

    #[test]
    fn browser_string_is_the_entry() {
        let mut r = resolver(&[
            ("src/main.js", ""),
            (
                "node_modules/b/package.json",
                r#"{"main":"./node.js","module":"./esm.js","browser":"./web.js"}"#,
            ),
            ("node_modules/b/node.js", ""),
            ("node_modules/b/esm.js", ""),
            ("node_modules/b/web.js", ""),
            (
                "node_modules/gone/package.json",
                r#"{"main":"./node.js","module":"./esm.js","browser":"./missing.js"}"#,
            ),
            ("node_modules/gone/node.js", ""),
            ("node_modules/gone/esm.js", ""),
            (
                "node_modules/e/package.json",
                r#"{"exports":"./e.js","browser":"./web.js"}"#,
            ),
            ("node_modules/e/e.js", ""),
            ("node_modules/e/web.js", ""),
        ]);
        let main = "src/main.js";
        assert_eq!(
            r.resolve("b", main, Kind::Import).unwrap(),
            "node_modules/b/web.js"
        );
        assert_eq!(
            r.resolve("b", main, Kind::Require).unwrap(),
            "node_modules/b/web.js"
        );
        // Subpaths are files of the package; the string form only names the entry.
        assert_eq!(
            r.resolve("b/node", main, Kind::Import).unwrap(),
            "node_modules/b/node.js"
        );
        // A `browser` file that is not there falls through to the next field.
        assert_eq!(
            r.resolve("gone", main, Kind::Import).unwrap(),
            "node_modules/gone/esm.js"
        );
        assert_eq!(
            r.resolve("gone", main, Kind::Require).unwrap(),
            "node_modules/gone/node.js"
        );
        // `exports` wins.
        assert_eq!(
            r.resolve("e", main, Kind::Import).unwrap(),
            "node_modules/e/e.js"
        );
        let mut r = resolver(&[
            ("src/main.js", ""),
            ("node_modules/none/package.json", r#"{"browser":"./no.js"}"#),
        ]);
        assert_eq!(
            r.resolve("none", main, Kind::Require).unwrap_err().0,
            "Cannot find the entry point of package 'none' (./node_modules/none: no `exports`, \
             `browser`, `main` or index.js) imported from ./src/main.js"
        );
    }

    #[test]
    fn browser_object_replaces_files_and_modules() {
        let mut r = resolver(&[
            ("src/main.js", ""),
            (
                "node_modules/c/package.json",
                r#"{"main":"./lib/node.js","browser":{"./lib/node.js":"./lib/web.js","./lib/fs-helper":false,
                   "fs":false,"node-fetch":"./lib/fetch.js","buffer":"buf-shim","./lib/gone.js":"./lib/missing.js",
                   "stream":"no-such-package","./lib/ignored.js":true}}"#,
            ),
            ("node_modules/c/lib/node.js", ""),
            ("node_modules/c/lib/web.js", ""),
            ("node_modules/c/lib/fs-helper.js", ""),
            ("node_modules/c/lib/fetch.js", ""),
            ("node_modules/c/lib/gone.js", ""),
            ("node_modules/c/lib/ignored.js", ""),
            ("node_modules/buf-shim/index.js", ""),
            (
                "node_modules/d/package.json",
                r#"{"exports":{".":"./d.js","./node":"./node.js"},"browser":{"./d.js":"./web.js","./node.js":false,"fs":false}}"#,
            ),
            ("node_modules/d/d.js", ""),
            ("node_modules/d/node.js", ""),
            ("node_modules/d/web.js", ""),
        ]);
        let main = "src/main.js";
        for kind in [Kind::Import, Kind::Require] {
            assert_eq!(
                r.resolve("c", main, kind).unwrap(),
                "node_modules/c/lib/web.js"
            );
        }
        assert_eq!(
            r.resolve("c/lib/node.js", main, Kind::Import).unwrap(),
            "node_modules/c/lib/web.js"
        );
        assert_eq!(
            r.resolve("c/lib/node", main, Kind::Import).unwrap(),
            "node_modules/c/lib/web.js"
        );
        let inside = "node_modules/c/lib/web.js";
        let at = |r: &mut Resolver<Memory>, s: &str| r.resolve(s, inside, Kind::Import);
        assert_eq!(
            at(&mut r, "./node.js").unwrap(),
            "node_modules/c/lib/web.js"
        );
        assert_eq!(at(&mut r, "./node").unwrap(), "node_modules/c/lib/web.js");
        assert_eq!(at(&mut r, "./fs-helper.js").unwrap(), EMPTY_MODULE);
        assert_eq!(at(&mut r, "fs").unwrap(), EMPTY_MODULE);
        assert_eq!(
            r.resolve("fs", inside, Kind::Require).unwrap(),
            EMPTY_MODULE
        );
        assert_eq!(
            at(&mut r, "node-fetch").unwrap(),
            "node_modules/c/lib/fetch.js"
        );
        assert_eq!(
            at(&mut r, "buffer").unwrap(),
            "node_modules/buf-shim/index.js"
        );
        assert_eq!(
            at(&mut r, "./ignored.js").unwrap(),
            "node_modules/c/lib/ignored.js"
        );
        assert_eq!(r.format(EMPTY_MODULE), Format::CommonJs);
        let error = at(&mut r, "./gone.js").unwrap_err().0;
        assert_eq!(
            error,
            "Cannot find module './node_modules/c/lib/missing.js' (the `browser` field's replacement \
             for './lib/gone.js' in ./node_modules/c/package.json, asked for as './gone.js') \
             imported from ./node_modules/c/lib/web.js"
        );
        let error = at(&mut r, "stream").unwrap_err().0;
        assert_eq!(
            error,
            "Cannot find package 'no-such-package' imported from ./node_modules/c/package.json \
             (the `browser` field's replacement for 'stream' in ./node_modules/c/package.json, \
             asked for as 'stream' from ./node_modules/c/lib/web.js)"
        );
        // Only the package's own files and imports are replaced.
        let error = r.resolve("fs", main, Kind::Import).unwrap_err().0;
        assert_eq!(
            error,
            "Cannot find package 'fs' imported from ./src/main.js"
        );
        // `exports` wins over the whole `browser` field.
        assert_eq!(
            r.resolve("d", main, Kind::Import).unwrap(),
            "node_modules/d/d.js"
        );
        assert_eq!(
            r.resolve("d/node", main, Kind::Import).unwrap(),
            "node_modules/d/node.js"
        );
        let error = r
            .resolve("fs", "node_modules/d/d.js", Kind::Import)
            .unwrap_err()
            .0;
        assert_eq!(
            error,
            "Cannot find package 'fs' imported from ./node_modules/d/d.js"
        );
    }

    #[test]
    fn pattern_order() {
        let mut keys = vec!["./*", "./a/*", "./a/*.js"];
        keys.sort_by(|a, b| pattern_key_compare(a, b));
        assert_eq!(keys, ["./a/*.js", "./a/*", "./*"]);
    }
}
