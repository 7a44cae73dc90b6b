//! `new`'s version control: a git repository for the new project unless it lands inside
//! one already, as `cargo new` does (`--vcs none` skips it).
//!
//! Git is run as a program (`git init`), so its own configuration (default branch,
//! templates, hooks) applies as when the user runs it.

use std::path::Path;
use std::process::{Command, Stdio};

use clap::ValueEnum;

use crate::ui::printer::Printer;

/// `new --vcs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Vcs {
    /// A git repository (unless the project is inside one)
    Git,
    /// No version control
    None,
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Initialized,
    /// The project is inside the work tree of this repository.
    InsideRepository(String),
    Skipped,
}

/// Initialise `vcs` in the freshly created `project`. A failure to do so does not undo
/// the project: it is reported as a warning and the project stays.
pub fn init(vcs: Vcs, project: &Path, printer: &Printer) -> Outcome {
    if vcs == Vcs::None {
        return Outcome::Skipped;
    }
    let parent = project.parent().unwrap_or(project);
    if let Some(top) = enclosing_work_tree(parent) {
        printer.verbose(format!(
            "no git repository created: `{}` is inside the one at `{top}`",
            project.display()
        ));
        return Outcome::InsideRepository(top);
    }
    let result = Command::new("git")
        .arg("init")
        .arg("--quiet")
        .arg(project)
        .stdin(Stdio::null())
        .output();
    match result {
        Ok(output) if output.status.success() => Outcome::Initialized,
        Ok(output) => {
            printer.warn(format!(
                "`git init {}` failed ({}): {}; the project was created without a repository",
                project.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
            Outcome::Skipped
        }
        Err(error) => {
            printer.warn(format!(
                "could not run `git` ({error}); the project was created without a repository (pass `--vcs none` to skip this)"
            ));
            Outcome::Skipped
        }
    }
}

/// The top of the git work tree `dir` is in, if any (what `git rev-parse` says there).
fn enclosing_work_tree(dir: &Path) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let top = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !top.is_empty()).then_some(top)
}
