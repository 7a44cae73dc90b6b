//! `cargo-wasock`: scaffold, build and run WasmEdge socket apps (invoked as `cargo wasock`).
//!
//! This file only parses the command line and maps results to exit codes; each subcommand
//! lives in `commands/`, the work below it in folders by stage (see ARCHITECTURE.md).

// Shared, below every stage.
mod cache;
mod ui;
mod util;
// Stages, in pipeline order; each may use the ones before it and the shared modules.
mod build;
mod js;
mod project;
mod run;
mod ship;
mod test;
mod watch;
// One module per subcommand, over the stages.
mod commands;
#[cfg(test)]
mod layout;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

use crate::ui::errors;
use crate::ui::printer::{Printer, Verbosity};

#[derive(Parser, Debug)]
#[command(
    name = "cargo-wasock",
    bin_name = "cargo wasock",
    version,
    about = "Scaffold, build and run WasmEdge network socket apps written in Rust",
    long_about = "Scaffold, build and run WasmEdge network socket apps written in Rust.\n\n\
Apps build for wasm32-wasip1 and run on WasmEdge when it is installed, or on the engine built \
into cargo-wasock when it is not. Status goes to stderr; stdout belongs to the app.",
    after_help = "Quick start:\n  cargo wasock new hello --template poll\n  cd hello\n  cargo wasock run --port 8080\n\n\
`run` builds the app; the first start compiles it to native code, which later starts reuse \
(`cargo wasock cache` shows where). Run `cargo wasock doctor` to check the set-up."
)]
struct Cli {
    /// Print only errors and warnings
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    quiet: bool,

    /// Print more detail, including the commands run
    #[arg(short, long, global = true, help_heading = "Global options")]
    verbose: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
// No doc comments here: they would replace the long help each Args struct defines.
enum Command {
    New(commands::new::NewArgs),
    Init(commands::init::InitArgs),
    Templates(commands::templates::TemplatesArgs),
    Build(commands::build::BuildArgs),
    Run(commands::run::RunArgs),
    Test(commands::test::TestArgs),
    Watch(commands::watch::WatchArgs),
    Doctor(commands::doctor::DoctorArgs),
    Package(commands::package::PackageArgs),
    Push(commands::push::PushArgs),
    Deploy(commands::deploy::DeployArgs),
    Cache(commands::cache::CacheArgs),
    #[command(name = "__test-runner", hide = true)]
    TestRunner(commands::test::RunnerArgs),
}

/// Cargo runs `cargo-wasock wasock ARGS` for `cargo wasock ARGS`; drop that word.
fn arguments() -> Vec<OsString> {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|arg| arg == "wasock") {
        args.remove(1);
    }
    args
}

fn main() {
    let cli = Cli::parse_from(arguments());
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let printer = Printer::new(verbosity);
    let result = match cli.command {
        Command::New(args) => commands::new::run(args, &printer),
        Command::Init(args) => commands::init::run(args, &printer),
        Command::Templates(args) => commands::templates::run(args, &printer),
        Command::Build(args) => commands::build::run(args, &printer),
        Command::Run(args) => commands::run::run(args, &printer),
        Command::Test(args) => commands::test::run(args, &printer),
        Command::Doctor(args) => commands::doctor::run(args, &printer),
        Command::Package(args) => commands::package::run(args, &printer),
        Command::Push(args) => commands::push::run(args, &printer),
        Command::Deploy(args) => commands::deploy::run(args, &printer),
        Command::Cache(args) => commands::cache::run(args, &printer),
        Command::TestRunner(args) => commands::test::run_runner(args, &printer),
        Command::Watch(args) => commands::watch::run(args, &printer),
    };
    let code = match result {
        Ok(code) => code,
        Err(error) => {
            errors::report(&error, &printer);
            errors::exit_code(&error)
        }
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
