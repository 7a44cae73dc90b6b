//! `cargo wasock init`: make an existing cargo package a wasock app, as `cargo init` sits
//! beside `cargo new`.

use std::path::PathBuf;

use clap::Args;

use crate::project::init::{self, Step};
use crate::ui::printer::{Printer, Verbosity};

#[derive(Args, Debug)]
#[command(
    about = "Add wasock to an existing cargo package",
    long_about = "Add to an existing cargo package what `cargo wasock new` gives a new one, \
without touching its code: the `wasock` dependency with the library's source vendored under \
vendor/wasock-<version>/ (so plain `cargo build --target wasm32-wasip1` works), a \
[package.metadata.wasock] table with the defaults `build` and `run` read, and the .gitignore \
lines for build output and local settings.\n\n\
Only what is missing is added: an existing `wasock` dependency, metadata table or vendor \
folder is left as it is, .gitignore only gains lines, and Cargo.toml keeps its comments and \
order. Everything is checked before anything is written.",
    after_help = "Examples:\n  cargo init --name api && cargo wasock init\n  cargo wasock init --manifest-path services/api/Cargo.toml"
)]
pub struct InitArgs {
    /// Path to the package's Cargo.toml [default: ./Cargo.toml]
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

pub fn run(args: InitArgs, printer: &Printer) -> anyhow::Result<i32> {
    let manifest = args
        .manifest_path
        .unwrap_or_else(|| PathBuf::from("Cargo.toml"));
    let steps = init::init(&manifest)?;
    let mut added = false;
    for step in &steps {
        match step {
            Step::AddedDependency { path } => {
                added = true;
                printer.status(
                    "Added",
                    format!("`wasock = {{ path = \"{path}\" }}` to [dependencies]"),
                );
            }
            Step::HadDependency => printer.status("Kept", "the existing `wasock` dependency"),
            Step::Vendored { dir, version } => {
                added = true;
                printer.status("Vendored", format!("wasock {version} into {dir}/"));
            }
            Step::HadVendored { dir } => printer.status("Kept", format!("{dir}/ as it is")),
            Step::AddedMetadata => {
                added = true;
                printer.status("Added", "[package.metadata.wasock] to Cargo.toml");
            }
            Step::HadMetadata => printer.status("Kept", "the existing [package.metadata.wasock]"),
            Step::Ignored { lines } => {
                added = true;
                printer.status("Added", format!("{} to .gitignore", lines.join(", ")));
            }
        }
    }
    if printer.verbosity() != Verbosity::Quiet {
        if added {
            eprintln!(
                "\nNext: use wasock in your code (its README is in the vendor folder), then\n  cargo wasock run --port 8080"
            );
        } else {
            eprintln!("\nNothing to add: the package is set up for cargo wasock already.");
        }
    }
    Ok(0)
}
