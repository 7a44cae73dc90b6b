//! The source layout's rules, checked on the source itself (ARCHITECTURE.md, "Layers"):
//! `commands/` → stages → shared, nothing below `commands/` reaches back up to it, a stage
//! uses only the stages before it, and no two files import each other (directly or round
//! a longer circle).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and its layer: a module may use only modules of lower layers (and
/// itself). `main.rs` is above everything.
const LAYERS: &[(&str, u8)] = &[
    ("ui", 0),
    ("util", 1),
    ("cache", 2),
    ("project", 3),
    ("build", 4),
    ("js", 5),
    ("run", 6),
    ("ship", 7),
    ("test", 7),
    ("watch", 7),
    ("commands", 8),
];

fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/` but `main.rs`, by its path relative to `src/`.
fn source_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![source_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(source_dir()).unwrap().to_path_buf();
                if relative != Path::new("main.rs") {
                    files.push(relative);
                }
            }
        }
    }
    files.sort();
    files
}

/// The module path of a file: `run/app.rs` → `run::app`, `watch/mod.rs` → `watch`.
fn module_of(file: &Path) -> String {
    let mut parts: Vec<String> = file
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The module paths a file names: `crate::a::b::Item` → `a::b::Item`, and `super::x` /
/// `self::x` resolved against the file's own module. Test modules count too: a test that
/// reaches across layers is a dependency like any other.
fn references(file: &Path, text: &str) -> Vec<String> {
    let own = module_of(file);
    let is_mod_rs = file.file_name().is_some_and(|name| name == "mod.rs");
    // `super` of module `a::b` (file `a/b.rs`) is `a`; of `a` (`a/mod.rs`), the crate root.
    let parent = own.rsplit_once("::").map_or("", |(parent, _)| parent);
    let mut found = Vec::new();
    for (prefix, base) in [
        ("crate::", String::new()),
        ("super::", parent.to_owned()),
        ("self::", own.clone()),
    ] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let path = path.trim_end_matches(':');
            if path.is_empty() || path == "*" {
                continue;
            }
            if prefix == "self::" && !is_mod_rs {
                // `self::` in a leaf file names its own items.
                continue;
            }
            found.push(if base.is_empty() {
                path.to_owned()
            } else {
                format!("{base}::{path}")
            });
        }
    }
    found
}

fn layer(top: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(name, _)| *name == top)
        .map(|(_, layer)| *layer)
        .unwrap_or_else(|| {
            panic!("top-level module `{top}` has no layer: add it to LAYERS in src/layout.rs and to ARCHITECTURE.md")
        })
}

#[test]
fn every_top_level_module_has_a_layer() {
    let tops: BTreeSet<String> = source_files()
        .iter()
        .map(|file| module_of(file).split("::").next().unwrap().to_owned())
        .filter(|top| top != "layout")
        .collect();
    for top in &tops {
        layer(top);
    }
    assert!(tops.len() >= 10, "found only {tops:?}");
}

#[test]
fn modules_use_only_lower_layers_and_nothing_below_commands_uses_it() {
    let mut violations = Vec::new();
    for file in source_files() {
        let own = module_of(&file);
        let top = own.split("::").next().unwrap().to_owned();
        if top == "layout" {
            continue;
        }
        let text = std::fs::read_to_string(source_dir().join(&file)).unwrap();
        for target in references(&file, &text) {
            let target_top = target.split("::").next().unwrap();
            if target_top == top || !LAYERS.iter().any(|(name, _)| *name == target_top) {
                continue;
            }
            if layer(target_top) >= layer(&top) {
                violations.push(format!("{} uses {target}", file.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "modules that reach up or sideways (see ARCHITECTURE.md's layers):\n{}",
        violations.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other() {
    // Edges between files (modules), from the paths each names: `a::b::Item` is a use of
    // module `a::b` when that module exists, else of `a`.
    let files = source_files();
    let modules: BTreeSet<String> = files.iter().map(|file| module_of(file)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let own = module_of(file);
        let text = std::fs::read_to_string(source_dir().join(file)).unwrap();
        for target in references(file, &text) {
            let parts: Vec<&str> = target.split("::").collect();
            let module = (1..=parts.len())
                .rev()
                .map(|n| parts[..n].join("::"))
                .find(|candidate| modules.contains(candidate));
            if let Some(module) = module {
                // A parent naming its children (`mod.rs` using `self::child`) is how a
                // folder is put together, not a dependency that could form a circle.
                let is_child = module.starts_with(&format!("{own}::"));
                if module != own && !is_child {
                    edges.entry(own.clone()).or_default().insert(module);
                }
            }
        }
    }
    // Depth-first search for a circle.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, bool>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(true) => return None,
            Some(false) => {
                let start = stack.iter().position(|n| n == node).unwrap();
                let mut circle = stack[start..].to_vec();
                circle.push(node.to_owned());
                return Some(circle);
            }
            None => {}
        }
        state.insert(node.to_owned(), false);
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, state, stack) {
                return Some(circle);
            }
        }
        stack.pop();
        state.insert(node.to_owned(), true);
        None
    }
    let mut state = BTreeMap::new();
    for module in &modules {
        if let Some(circle) = visit(module, &edges, &mut state, &mut Vec::new()) {
            panic!("modules import each other: {}", circle.join(" -> "));
        }
    }
    assert!(
        edges.len() > 20,
        "found only {} modules with imports",
        edges.len()
    );
}

#[test]
fn references_resolve_crate_super_and_self_paths() {
    let found = references(
        Path::new("watch/cycle.rs"),
        "use crate::run::app;\nuse super::child::RunningApp;\nuse self::x;\nfoo_crate::y",
    );
    assert_eq!(found, ["run::app", "watch::child::RunningApp"]);
    let found = references(Path::new("watch/mod.rs"), "use self::cycle::Session;");
    assert_eq!(found, ["watch::cycle::Session"]);
}
