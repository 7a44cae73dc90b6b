//! `cargo wasock run`: build (as `cargo run` does), then launch on WasmEdge or the embedded engine.

use clap::Args;

use crate::run::app::{run_app, ExitMessage};
use crate::run::environment;
use crate::run::flags::RunFlags;
use crate::ui::messages::MessageFormatArgs;
use crate::ui::printer::Printer;

#[derive(Args, Debug)]
#[command(
    about = "Build and run the app on WasmEdge or the embedded engine",
    long_about = "Build the app, then run it on WasmEdge or on the embedded engine.\n\n\
WasmEdge is looked for on PATH, then in $WASMEDGE_DIR/bin and ~/.wasmedge/bin. It does not \
inherit the host environment, so variables are passed explicitly: from [package.metadata.wasock], \
then --env-file, then --env, then --port (later ones win). Values pass through verbatim.\n\n\
--port N sets PORT=N and says the app listens on N: a busy port is refused before launch, and \
run warns if the app listens elsewhere. --port 0 lets the OS pick and prints the URL the app \
got. A PORT from --env, --env-file or the metadata is passed through unchecked. run never \
connects to the app: it observes the app's listening sockets (the engine's sock_listen, or the \
kernel's socket table for a WasmEdge child); -v prints every one.\n\n\
The env file format: one KEY=VALUE per line; blank lines and lines starting with # are \
ignored; an `export ` prefix is allowed; one pair of surrounding double or single quotes is \
removed; nothing else is interpreted (no $NAME expansion, no escapes, no inline comments), so \
PASSWORD=pa$word123 arrives as pa$word123.\n\n\
The app's exit code is run's exit code, 0 to 255 (128 + N when it dies by signal N). Ctrl-C, \
SIGINT and SIGTERM stop the app; SIGHUP and SIGQUIT do too, unless run was started with them \
ignored (as `nohup` does), in which case they stay ignored.\n\n\
The WasmEdge command line is always, in this order:\n  \
wasmedge [--dir GUEST:HOST[:readonly]]... [--env KEY=VALUE]... [--run-mode=aot] MODULE [ARGS]...\n\
where --run-mode=aot is given for an --aot module on WasmEdge 0.17 or later.\n\n\
--message-format json adds one JSON object per line on stdout: cargo's own messages, then \
`runtime`, `artifact`, `aot`, `listening` and `exit`. The app's own stdout passes through \
unchanged between them, so a consumer reads the lines that start with {\"reason\": (as with \
`cargo run --message-format json`). Status on stderr is unchanged.",
    after_help = "Examples:\n  cargo wasock run --port 8080\n  cargo wasock run --port 0\n  cargo wasock run --release --aot --env RUST_LOG=debug --env HOME --env-file .env\n  \
cargo wasock run --dir /data:./data:readonly -- --verbose input.txt\n  cargo wasock run --runtime embedded --wasm target/wasm32-wasip1/debug/hello.wasm\n  \
cargo wasock run --js server.js --port 8000\n  cargo wasock run --release --instances auto --port 8080"
)]
pub struct RunArgs {
    #[command(flatten)]
    pub format: MessageFormatArgs,

    #[command(flatten)]
    pub flags: RunFlags,

    /// Take the app's variables from this process's environment, where `watch` puts them
    /// for its engine child (see `environment::pass_to_child`): values stay off the
    /// command line, which every user can read.
    #[arg(long, hide = true)]
    pub inherit_app_env: bool,

    /// Write the messages (`--message-format json`'s lines) to this inherited descriptor,
    /// where `watch` reads its engine child's `blocked` messages; stdout stays the app's.
    #[arg(long, hide = true, value_name = "FD")]
    pub messages_fd: Option<i32>,
}

pub fn run(mut args: RunArgs, printer: &Printer) -> anyhow::Result<i32> {
    let printer = &printer.with_message_format(args.format);
    let printer = &match args.messages_fd {
        Some(fd) => printer.with_messages_to(crate::util::process::inherited_fd(fd)?),
        None => printer.clone(),
    };
    if args.inherit_app_env {
        args.flags.env.extend(environment::from_parent()?);
    }
    let code = run_app(args.flags, printer)?;
    printer.message("exit", &ExitMessage { code });
    Ok(code)
}
