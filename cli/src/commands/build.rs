//! `cargo wasock build`: compile the app to WASI, optionally ahead of time.

use clap::Args;

use crate::build::aot::AotBy;
use crate::build::app::{aot_compiler, build_app};
use crate::build::args::CargoArgs;
use crate::ui::messages::MessageFormatArgs;
use crate::ui::printer::Printer;
use crate::util::wasmedge;

#[derive(Args, Debug)]
#[command(
    about = "Build the app for WASI (and optionally ahead of time)",
    long_about = "Build the app for WASI (wasm32-wasip1; wasm32-wasi before Rust 1.78).\n\n\
The target is installed with rustup when missing. The module is found from cargo's JSON \
messages, and its path is printed on stdout, one line (also with --quiet and --aot), so scripts \
can use it; status goes to stderr.\n\n\
--aot compiles ahead of time now, so the first run starts at full speed: with WasmEdge, \
`wasmedge compile` writes NAME.aot.wasm beside the module (skipped when the module, the \
WasmEdge version and the flags are unchanged), and `run` uses it while it is up to date; \
without WasmEdge the embedded engine precompiles into its cache (see `cargo wasock cache`), \
which `run` fills by itself anyway on the first start.\n\n\
--message-format json prints one JSON object per line on stdout instead of the path: cargo's \
own messages (compiler-artifact, build-finished, ...) as cargo prints them, then an \
`artifact` message {\"reason\":\"artifact\",\"path\":…,\"profile\":…,\"target\":…} and, with \
--aot, an `aot` message {\"path\":…,\"cached\":…}.",
    after_help = "Examples:\n  cargo wasock build\n  cargo wasock build --release --aot\n  cargo wasock build -p api --bin server --features tls\n  wasm=\"$(cargo wasock build --release)\""
)]
pub struct BuildArgs {
    /// Also compile ahead of time now (WasmEdge's `compile`, or the embedded engine's cache)
    #[arg(long)]
    pub aot: bool,

    #[command(flatten)]
    pub format: MessageFormatArgs,

    #[command(flatten)]
    pub cargo: CargoArgs,
}

pub fn run(args: BuildArgs, printer: &Printer) -> anyhow::Result<i32> {
    let printer = &printer.with_message_format(args.format);
    let wasmedge = if args.aot { wasmedge::detect()? } else { None };
    let aot_by = if args.aot {
        aot_compiler(wasmedge.as_ref())?
    } else {
        AotBy::Nobody
    };
    let built = build_app(&args.cargo, aot_by, printer)?;
    // The one machine-readable result: the module's path, whatever the verbosity (with
    // `--message-format json`, the `artifact` message says it instead).
    if !printer.json_messages() {
        println!("{}", built.module.path.display());
    }
    Ok(0)
}
