//! What `watch` watches: the package's sources minus what is ignored, through a debounced
//! `notify` watcher that sends each batch of relevant changes as one [`Event`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::DebounceEventResult;

use crate::project::metadata::Project;
use crate::ui::errors::{hint, usage_error};
use crate::ui::printer::Printer;

/// How long the file system must be quiet before a change starts a cycle: an editor's save
/// (write, rename, chmod) is one change.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// What reaches the watch loop: a batch of changes, a watcher failure, or a stop signal.
pub enum Event {
    Changed(BTreeSet<PathBuf>),
    WatchFailed(String),
    /// `delivered`: the signal came from the terminal and already reached the app.
    Stop {
        signal: i32,
        delivered: bool,
    },
}

/// The file watcher with its debouncing.
type Debouncer = notify_debouncer_full::Debouncer<
    notify::RecommendedWatcher,
    notify_debouncer_full::RecommendedCache,
>;

/// The debounced watcher over `sources`, sending relevant changes on `events`.
pub fn start_watching(sources: &Arc<Sources>, events: Sender<Event>) -> anyhow::Result<Debouncer> {
    let filter = Arc::clone(sources);
    let handler = move |result: DebounceEventResult| {
        let event = match result {
            Ok(batch) => {
                let paths: BTreeSet<PathBuf> = batch
                    .iter()
                    .filter(|event| is_change(&event.kind))
                    .flat_map(|event| event.paths.iter())
                    .filter(|path| filter.is_relevant(path))
                    .cloned()
                    .collect();
                if paths.is_empty() {
                    return;
                }
                Event::Changed(paths)
            }
            Err(failures) => Event::WatchFailed(
                failures
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        };
        let _ = events.send(event);
    };
    let mut debouncer =
        notify_debouncer_full::new_debouncer(DEBOUNCE, None, handler).map_err(|error| {
            hint(
                format!("could not watch files: {error}"),
                "check the inotify limits (`sysctl fs.inotify.max_user_instances`)",
            )
        })?;
    for (path, mode) in sources.watch_roots() {
        debouncer.watch(&path, mode).map_err(|error| {
            hint(
                format!("could not watch `{}`: {error}", path.display()),
                "check that it exists and is readable; raise `fs.inotify.max_user_watches` if the limit was reached",
            )
        })?;
    }
    Ok(debouncer)
}

/// Whether an event of this kind changes a file: not the reads cargo and editors make.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// What is watched and what is ignored; see the module docs.
pub struct Sources {
    /// The package's directory; paths are shown relative to it.
    root: PathBuf,
    /// Watched recursively.
    dirs: Vec<PathBuf>,
    /// Watched through their parent directory.
    files: Vec<PathBuf>,
    /// Files named with `--watch`: watched even when a `.gitignore` lists them.
    explicit_files: Vec<PathBuf>,
    /// Target directories: never a source.
    target_dirs: Vec<PathBuf>,
    gitignores: Vec<Gitignore>,
    /// `--ignore` patterns, rooted at `root`.
    user_ignores: Gitignore,
}

/// The package's own inputs, as cargo sees them, relative to its directory.
const PACKAGE_DIRS: [&str; 4] = ["src", "tests", "benches", "examples"];
const PACKAGE_FILES: [&str; 3] = ["Cargo.toml", "Cargo.lock", "build.rs"];

impl Sources {
    /// The sources of the package `project` is about (else its workspace's root), its path
    /// dependencies (the vendored `wasock`), and `extra`; `ignores` in gitignore syntax.
    pub fn of_project(
        project: &Project,
        extra: &[PathBuf],
        ignores: &[String],
    ) -> anyhow::Result<Sources> {
        let workspace_root = project.metadata.workspace_root.clone().into_std_path_buf();
        let root = project
            .package
            .as_ref()
            .and_then(|package| package.manifest_path.parent())
            .map(|dir| dir.to_path_buf().into_std_path_buf())
            .unwrap_or_else(|| workspace_root.clone());
        let mut dirs: Vec<PathBuf> = PACKAGE_DIRS.iter().map(|dir| root.join(dir)).collect();
        let mut files: Vec<PathBuf> = PACKAGE_FILES.iter().map(|file| root.join(file)).collect();
        // A member of a workspace: the lock file and manifest at the workspace's root.
        files.push(workspace_root.join("Cargo.lock"));
        files.push(workspace_root.join("Cargo.toml"));
        let mut target_dirs = vec![
            project
                .metadata
                .target_directory
                .clone()
                .into_std_path_buf(),
            root.join("target"),
        ];
        if let Some(package) = &project.package {
            for dependency in &package.dependencies {
                if let Some(path) = &dependency.path {
                    let path = path.clone().into_std_path_buf();
                    target_dirs.push(path.join("target"));
                    dirs.push(path);
                }
            }
        }
        let mut explicit_files = Vec::new();
        for path in extra {
            let absolute = std::path::absolute(path)
                .with_context(|| format!("could not resolve `{}`", path.display()))?;
            if absolute.is_dir() {
                dirs.push(absolute);
            } else if absolute.is_file() {
                explicit_files.push(absolute.clone());
                files.push(absolute);
            } else {
                return Err(usage_error(
                    format!("`--watch {}`: no such file or directory", path.display()),
                    "pass an existing file or directory (relative to the current directory)",
                ));
            }
        }
        dirs.sort();
        dirs.dedup();
        files.sort();
        files.dedup();

        let mut user = GitignoreBuilder::new(&root);
        for glob in ignores {
            user.add_line(None, glob).map_err(|error| {
                usage_error(
                    format!("`--ignore {glob}` is not a valid pattern: {error}"),
                    "use gitignore syntax, e.g. `--ignore 'src/generated/**'` or `--ignore '*.log'`",
                )
            })?;
        }
        let user_ignores = user
            .build()
            .context("could not build the `--ignore` patterns")?;
        Ok(Sources {
            gitignores: gitignores_above(&root),
            root,
            dirs,
            files,
            explicit_files,
            target_dirs,
            user_ignores,
        })
    }

    /// The existing directories and files' parents to hand the watcher, once each.
    pub fn watch_roots(&self) -> Vec<(PathBuf, RecursiveMode)> {
        let mut roots: Vec<(PathBuf, RecursiveMode)> = self
            .dirs
            .iter()
            .filter(|dir| dir.is_dir())
            .map(|dir| (dir.clone(), RecursiveMode::Recursive))
            .collect();
        let mut parents: Vec<PathBuf> = self
            .files
            .iter()
            .filter_map(|file| file.parent().map(Path::to_path_buf))
            .filter(|parent| parent.is_dir())
            .collect();
        parents.sort();
        parents.dedup();
        roots.extend(
            parents
                .into_iter()
                .map(|parent| (parent, RecursiveMode::NonRecursive)),
        );
        roots
    }

    /// A source directory that appeared after watching began (`tests/` made later, `src/`
    /// replaced by a checkout) is watched from now on; the change that announced it is a
    /// change like any other. Watching one already watched changes nothing.
    pub fn watch_new_dirs(
        &self,
        changed: &BTreeSet<PathBuf>,
        debouncer: &mut Debouncer,
        printer: &Printer,
    ) {
        for dir in self.dirs.iter().filter(|dir| changed.contains(*dir)) {
            if !dir.is_dir() {
                continue;
            }
            match debouncer.watch(dir, RecursiveMode::Recursive) {
                Ok(()) => printer.verbose(format!("watching `{}`", dir.display())),
                Err(error) => {
                    printer.warn(format!("could not watch `{}`: {error}", dir.display()));
                    printer.help("restart `cargo wasock watch` to watch it");
                }
            }
        }
    }

    /// Whether a change to `path` should start a cycle.
    pub fn is_relevant(&self, path: &Path) -> bool {
        if self.target_dirs.iter().any(|dir| path.starts_with(dir)) {
            return false;
        }
        if path
            .file_name()
            .is_some_and(|name| is_scratch_file(&name.to_string_lossy()))
        {
            return false;
        }
        let watched = self.files.iter().any(|file| file == path)
            || self.dirs.iter().any(|dir| path.starts_with(dir));
        if !watched {
            return false;
        }
        let is_dir = path.is_dir();
        if path.starts_with(&self.root)
            && self
                .user_ignores
                .matched_path_or_any_parents(path, is_dir)
                .is_ignore()
        {
            return false;
        }
        if self.explicit_files.iter().any(|file| file == path) {
            return true;
        }
        !self.gitignores.iter().any(|gitignore| {
            path.starts_with(gitignore.path())
                && gitignore
                    .matched_path_or_any_parents(path, is_dir)
                    .is_ignore()
        })
    }

    /// `path` as the user knows it: relative to the package's directory when inside it.
    pub fn show(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// The `Cargo.lock` files watched (the package's, the workspace's).
    pub fn lock_files(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.files
            .iter()
            .filter(|file| file.file_name().is_some_and(|name| name == "Cargo.lock"))
            .cloned()
    }

    /// `src/, Cargo.toml, vendor/wasock-0.1.0/` for the first status line.
    pub fn describe_watched(&self) -> String {
        let dirs = self
            .dirs
            .iter()
            .filter(|dir| dir.is_dir())
            .map(|dir| format!("{}/", self.show(dir)));
        let files = self
            .files
            .iter()
            .filter(|file| file.is_file())
            .map(|file| self.show(file));
        dirs.chain(files).collect::<Vec<_>>().join(", ")
    }

    /// `src/main.rs changed`, `src/a.rs, src/b.rs and 3 more changed`.
    pub fn describe_changes(&self, paths: &BTreeSet<PathBuf>) -> String {
        let mut shown: Vec<String> = paths.iter().take(2).map(|path| self.show(path)).collect();
        if paths.len() > 2 {
            shown.push(format!("{} more", paths.len() - 2));
        }
        format!("{} changed", shown.join(", "))
    }
}

/// Editors' temporary files: vim's swap files and its `4913` write probe, backups (`~`),
/// Emacs's lock and auto-save files.
fn is_scratch_file(name: &str) -> bool {
    name == "4913"
        || name.ends_with('~')
        || [".swp", ".swo", ".swx"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
}

/// The `.gitignore` files in `dir` and its parents, up to the repository's root (the
/// first directory with a `.git`); each matcher is rooted where its file is.
fn gitignores_above(dir: &Path) -> Vec<Gitignore> {
    let mut found = Vec::new();
    for ancestor in dir.ancestors() {
        let file = ancestor.join(".gitignore");
        if file.is_file() {
            let mut builder = GitignoreBuilder::new(ancestor);
            // A line that does not parse is skipped, as git skips it.
            let _ = builder.add(&file);
            if let Ok(gitignore) = builder.build() {
                found.push(gitignore);
            }
        }
        if ancestor.join(".git").exists() {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_by_cargo_do_not_count_as_changes() {
        use notify::event::{CreateKind, DataChange, MetadataKind, ModifyKind};
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::Any
        ))));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
    }

    #[test]
    fn editor_scratch_files_are_not_sources() {
        for name in ["4913", "main.rs~", ".main.rs.swp", ".#main.rs", "#main.rs#"] {
            assert!(is_scratch_file(name), "{name}");
        }
        for name in ["main.rs", "Cargo.toml", "lib.rs.in"] {
            assert!(!is_scratch_file(name), "{name}");
        }
    }

    fn sources_in(root: &Path, ignores: &[&str]) -> Sources {
        let mut user = GitignoreBuilder::new(root);
        for glob in ignores {
            user.add_line(None, glob).unwrap();
        }
        Sources {
            root: root.to_path_buf(),
            dirs: vec![root.join("src"), root.join("vendor/wasock-0.1.0")],
            files: vec![root.join("Cargo.toml")],
            explicit_files: Vec::new(),
            target_dirs: vec![root.join("target")],
            gitignores: gitignores_above(root),
            user_ignores: user.build().unwrap(),
        }
    }

    #[test]
    fn gitignore_target_and_ignore_globs_are_respected() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join(".gitignore"), "/target\nsrc/generated.rs\n").unwrap();
        let sources = sources_in(root, &["*.log"]);
        assert!(sources.is_relevant(&root.join("src/main.rs")));
        assert!(sources.is_relevant(&root.join("Cargo.toml")));
        assert!(sources.is_relevant(&root.join("vendor/wasock-0.1.0/src/lib.rs")));
        assert!(!sources.is_relevant(&root.join("src/generated.rs")));
        assert!(!sources.is_relevant(&root.join("src/debug.log")));
        assert!(!sources.is_relevant(&root.join("target/debug/app.wasm")));
        assert!(!sources.is_relevant(&root.join("README.md")));
        assert!(!sources.is_relevant(&root.join("src/.main.rs.swp")));
        assert_eq!(
            sources.describe_changes(&[root.join("src/a.rs")].into_iter().collect()),
            "src/a.rs changed"
        );
    }
}
