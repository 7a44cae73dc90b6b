//! `cargo wasock watch`: run the app, rebuild and restart it when its sources change.

use std::path::PathBuf;

use clap::Args;

use crate::run::flags::RunFlags;
use crate::ui::messages::MessageFormatArgs;
use crate::ui::printer::Printer;
use crate::watch::{self, WatchOptions};

#[derive(Args, Debug)]
#[command(
    about = "Run the app; rebuild and restart it when its sources change",
    long_about = "Run the app as `run` does, watch the package's sources, and on every change \
rebuild it; the app is restarted only when the build succeeds. After a failed build the old \
app keeps serving and cargo's errors are shown.\n\n\
Watched: src/, tests/, benches/, examples/, Cargo.toml, Cargo.lock and build.rs of the \
package, its path dependencies (the vendored wasock library), and every --watch PATH. Not \
watched: the target directory, what the .gitignore files (from the package up to the \
repository's root) list, editors' scratch files, and --ignore GLOBs (gitignore syntax, \
relative to the package).\n\n\
A restart stops the old app as Ctrl-C stops `run`'s (SIGINT, then SIGKILL after 5 s) and waits \
until the addresses it listened on are free before starting the new one. Changes made during \
a build are taken by one more build once it ends. One status line per cycle on stderr, e.g. \
`src/main.rs changed · built in 1.2s · restarted`.\n\n\
Ctrl-C, SIGINT and SIGTERM stop the app and watch; the exit code is the app's (130 after \
Ctrl-C when it dies by the signal). Every flag of `run` is accepted, except --wasm and --js.\n\n\
--message-format json prints run's messages and one `rebuild` message per cycle \
({\"reason\":\"rebuild\",\"changed\":[…],\"ok\":…,\"duration_ms\":…}) on stdout.",
    after_help = "Examples:\n  cargo wasock watch --port 8080\n  cargo wasock watch --clear --release -- --verbose\n  \
cargo wasock watch --watch static --ignore 'src/generated/**'"
)]
pub struct WatchArgs {
    /// Clear the screen before each cycle (on a terminal)
    #[arg(long)]
    pub clear: bool,

    /// Also watch this file or directory; repeatable
    #[arg(long = "watch", value_name = "PATH")]
    pub watch: Vec<PathBuf>,

    /// Ignore changes to paths matching this gitignore-style glob (relative to the package); repeatable
    #[arg(long, value_name = "GLOB")]
    pub ignore: Vec<String>,

    #[command(flatten)]
    pub format: MessageFormatArgs,

    #[command(flatten)]
    pub run: RunFlags,
}

pub fn run(args: WatchArgs, printer: &Printer) -> anyhow::Result<i32> {
    let printer = &printer.with_message_format(args.format);
    let options = WatchOptions {
        clear: args.clear,
        extra: args.watch,
        ignore: args.ignore,
    };
    watch::watch(args.run, options, printer)
}
