//! `cargo wasock cache`: where compiled code is kept, how much, and clearing it.

use clap::{Args, Subcommand};

use crate::cache;
use crate::ui::printer::{human_size, Printer};

#[derive(Args, Debug)]
#[command(
    about = "Show or clear the cache of compiled code",
    long_about = "Show or clear the cache of compiled code.\n\n\
The embedded engine compiles a module once and keeps the native code, so later starts of the \
same module skip compiling; `wasmedge compile` output for `--wasm` modules is kept there too \
(a cargo build's NAME.aot.wasm stays in its target directory). The cache lives in \
$XDG_CACHE_HOME/cargo-wasock (else ~/.cache/cargo-wasock), or in $CARGO_WASOCK_CACHE_DIR when \
set, and each part is bounded to 1 GiB: the least recently used entries go first.",
    after_help = "Examples:\n  cargo wasock cache dir\n  cargo wasock cache size\n  cargo wasock cache clean"
)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
}

#[derive(Subcommand, Debug)]
pub enum CacheAction {
    /// Print the cache directory
    Dir,
    /// Print how many compiled modules the cache holds and their size
    Size,
    /// Remove every compiled module from the cache
    Clean,
}

pub fn run(args: CacheArgs, printer: &Printer) -> anyhow::Result<i32> {
    match args.action {
        CacheAction::Dir => println!("{}", cache::root()?.display()),
        CacheAction::Size => {
            let (engine, wasmedge) = cache::usage()?;
            println!(
                "embedded engine  {} modules, {}",
                engine.entries,
                human_size(engine.bytes)
            );
            println!(
                "wasmedge         {} modules, {}",
                wasmedge.entries,
                human_size(wasmedge.bytes)
            );
        }
        CacheAction::Clean => {
            let removed = cache::clean()?;
            printer.status(
                "Removed",
                format!(
                    "{} compiled modules ({}) from {}",
                    removed.entries,
                    human_size(removed.bytes),
                    cache::root()?.display()
                ),
            );
        }
    }
    Ok(0)
}
