//! An app's files in one blob, embedded in its module: how a JS project runs without a
//! mapped directory. A project's build script ([`build_script`], run natively by cargo)
//! collects the entry's folder and the npm packages the project depends on, and writes the
//! bundle into `OUT_DIR`; `main.rs` embeds it with `include_bytes!` and hands it to
//! `run_bundle`, whose module loader reads files from it instead of the disk.
//!
//! What goes in (paths relative to the project, `/`-separated): `package.json`, every
//! `.js`/`.mjs`/`.cjs`/`.json` file under the entry's folder, and the same files of each
//! package in `node_modules` reachable from `package.json`'s `dependencies`,
//! `optionalDependencies` and `peerDependencies` (each package's own, transitively, found
//! as Node finds them: its own `node_modules`, then the folders above). `devDependencies`
//! stay out. This is a superset of the module graph (files a package ships but the app
//! never imports come along): choosing by package rather than by parsing every import keeps
//! it exact for dynamic `import()` and `require` of computed names.
//!
//! Format: `wasock-js-bundle 1\n`, then little-endian `u32` lengths: the entry's path, the
//! file count, and per file its path and contents.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use crate::resolve::{self, Files};

const MAGIC: &[u8] = b"wasock-js-bundle 1\n";
/// The extensions of the files a bundle carries.
const CARRIED: &[&str] = &["js", "mjs", "cjs", "json"];

/// A decoded bundle: the entry's path and the files by path.
pub struct Bundle {
    pub entry: String,
    files: BTreeMap<String, &'static [u8]>,
    dirs: HashSet<String>,
}

impl Bundle {
    /// Reads a bundle written by [`encode`]; the error says what is wrong with it.
    pub fn decode(bytes: &'static [u8]) -> Result<Bundle, String> {
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or("not a wasock-js bundle (rebuild the project)")?;
        let mut cursor = Cursor(rest);
        let entry = cursor.text()?;
        let count = cursor.number()?;
        let mut files = BTreeMap::new();
        let mut dirs = HashSet::new();
        for _ in 0..count {
            let path = cursor.text()?;
            let len = cursor.number()?;
            let contents = cursor.take(len)?;
            let mut dir = resolve::dirname(&path);
            loop {
                dirs.insert(dir.to_string());
                if dir.is_empty() || dir == "/" {
                    break;
                }
                dir = resolve::dirname(dir);
            }
            files.insert(path, contents);
        }
        Ok(Bundle { entry, files, dirs })
    }
}

/// Reads a bundle front to back.
struct Cursor(&'static [u8]);

impl Cursor {
    fn take(&mut self, len: usize) -> Result<&'static [u8], String> {
        if self.0.len() < len {
            return Err("truncated bundle (rebuild the project)".into());
        }
        let (head, tail) = self.0.split_at(len);
        self.0 = tail;
        Ok(head)
    }
    fn number(&mut self) -> Result<usize, String> {
        self.take(4)
            .map(|bytes| u32::from_le_bytes(bytes.try_into().expect("4 bytes")) as usize)
    }
    fn text(&mut self) -> Result<String, String> {
        let len = self.number()?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| "a bundle path is not UTF-8".to_string())
    }
}

impl Files for Bundle {
    fn read(&self, path: &str) -> Option<Cow<'_, [u8]>> {
        self.files.get(path).map(|bytes| Cow::Borrowed(*bytes))
    }
    fn is_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
    fn is_dir(&self, path: &str) -> bool {
        self.dirs.contains(path)
    }
}

/// The bundle's bytes: `entry` and `files` (path, contents).
pub fn encode(entry: &str, files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    let put = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    put(&mut out, entry.as_bytes());
    out.extend_from_slice(&(files.len() as u32).to_le_bytes());
    for (path, contents) in files {
        put(&mut out, path.as_bytes());
        put(&mut out, contents);
    }
    out
}

/// What a build script bundles: the files by path, and the paths cargo should watch.
pub struct Collected {
    pub files: BTreeMap<String, Vec<u8>>,
    pub watched: BTreeSet<PathBuf>,
}

/// Collects the bundle of the project at `root` whose entry is `entry` (relative, e.g.
/// `src/main.js`). Errors name the file and what to do.
pub fn collect(root: &Path, entry: &str) -> Result<Collected, String> {
    let entry = resolve::normalize(entry);
    if !root.join(&entry).is_file() {
        return Err(format!(
            "the entry `{}` does not exist\nhelp: a JS project's code starts in `{entry}`",
            root.join(&entry).display()
        ));
    }
    let mut collected = Collected {
        files: BTreeMap::new(),
        watched: BTreeSet::new(),
    };
    let manifest = root.join("package.json");
    collected.watched.insert(manifest.clone());
    collected.watched.insert(root.join("package-lock.json"));
    let mut queue = Vec::new();
    if manifest.is_file() {
        let text = read(&manifest)?;
        let dependencies = dependencies(&manifest, &text)?;
        collected.files.insert("package.json".into(), text);
        queue.extend(dependencies.into_iter().map(|name| (String::new(), name)));
    }
    let source_dir = resolve::dirname(&entry).to_string();
    add_tree(root, &source_dir, &mut collected)?;
    let mut packages = HashSet::new();
    while let Some((from, name)) = queue.pop() {
        let Some(package) = find_package(root, &from, &name) else {
            // An optional or peer dependency may be absent; an import of it fails at run
            // time with the resolver's message, naming the file that asked.
            continue;
        };
        if !packages.insert(package.clone()) {
            continue;
        }
        let manifest = root.join(&package).join("package.json");
        if manifest.is_file() {
            let text = read(&manifest)?;
            queue.extend(
                dependencies(&manifest, &text)?
                    .into_iter()
                    .map(|dependency| (package.clone(), dependency)),
            );
        }
        add_tree(root, &package, &mut collected)?;
    }
    Ok(collected)
}

/// The folder of package `name` as seen from the package folder `from` (or the root):
/// `from/node_modules/name`, then in the folders above.
fn find_package(root: &Path, from: &str, name: &str) -> Option<String> {
    let mut at = Some(from.to_string());
    while let Some(dir) = at {
        if !dir.ends_with("node_modules") {
            let candidate = resolve::join(&resolve::join(&dir, "node_modules"), name);
            if root.join(&candidate).is_dir() {
                return Some(candidate);
            }
        }
        at = if dir.is_empty() {
            None
        } else {
            Some(resolve::dirname(&dir).to_string())
        };
    }
    None
}

fn dependencies(manifest: &Path, text: &[u8]) -> Result<Vec<String>, String> {
    let json: serde_json::Value = serde_json::from_slice(text).map_err(|error| {
        format!(
            "`{}` is not valid JSON: {error}\nhelp: fix the file (npm reads it too)",
            manifest.display()
        )
    })?;
    let mut names = Vec::new();
    for field in ["dependencies", "optionalDependencies", "peerDependencies"] {
        if let Some(object) = json.get(field).and_then(|value| value.as_object()) {
            names.extend(object.keys().cloned());
        }
    }
    Ok(names)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("cannot read `{}`: {error}", path.display()))
}

/// Adds the carried files under `dir` (relative to `root`), not descending into
/// `node_modules` or hidden folders (packages are added as packages).
fn add_tree(root: &Path, dir: &str, collected: &mut Collected) -> Result<(), String> {
    collected.watched.insert(root.join(dir));
    let mut stack = vec![dir.to_string()];
    while let Some(at) = stack.pop() {
        let full = root.join(&at);
        let entries = std::fs::read_dir(&full)
            .map_err(|error| format!("cannot list `{}`: {error}", full.display()))?;
        let mut names: Vec<(String, bool)> = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|error| format!("cannot list `{}`: {error}", full.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Follows links, as Node does (npm workspaces link packages).
            let is_dir = entry.path().is_dir();
            names.push((name, is_dir));
        }
        for (name, is_dir) in names {
            let path = resolve::join(&at, &name);
            if is_dir {
                if name != "node_modules" && !name.starts_with('.') {
                    stack.push(path);
                }
            } else if Path::new(&name)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| CARRIED.contains(&e))
            {
                let contents = read(&root.join(&path))?;
                collected.files.insert(path, contents);
            }
        }
    }
    Ok(())
}

/// The whole build script of a JS project: `fn main() { wasock_js::bundle::build_script("src/main.js") }`.
/// Writes `$OUT_DIR/app.bundle` (for `include_bytes!(concat!(env!("OUT_DIR"), "/app.bundle"))`)
/// and tells cargo to rerun when the sources, `package.json` or the bundled packages change.
/// A failure stops the build with the message.
pub fn build_script(entry: &str) {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("run by cargo"));
    let collected = match collect(&root, entry) {
        Ok(collected) => collected,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(1);
        }
    };
    for path in &collected.watched {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let bytes = encode(&resolve::normalize(entry), &collected.files);
    let target = out.join("app.bundle");
    if let Err(error) = std::fs::write(&target, bytes) {
        eprintln!("error: cannot write `{}`: {error}", target.display());
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut files = BTreeMap::new();
        files.insert("src/main.js".to_string(), b"import './a.js'".to_vec());
        files.insert("node_modules/p/index.js".to_string(), b"x".to_vec());
        let bytes: &'static [u8] = Box::leak(encode("src/main.js", &files).into_boxed_slice());
        let bundle = Bundle::decode(bytes).unwrap();
        assert_eq!(bundle.entry, "src/main.js");
        assert_eq!(
            bundle.read("node_modules/p/index.js").unwrap().as_ref(),
            b"x"
        );
        assert!(
            bundle.is_dir("node_modules/p") && bundle.is_dir("node_modules") && bundle.is_dir("")
        );
        assert!(!bundle.is_file("src") && !bundle.is_dir("src/main.js"));
        assert!(Bundle::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(Bundle::decode(b"nope").is_err());
    }
}
