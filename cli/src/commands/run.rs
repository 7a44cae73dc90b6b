//! `cargo wasock run`: build (as `cargo run` does), then launch on WasmEdge or the embedded engine.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::build::CargoArgs;
use crate::aot::AotBy;
use crate::app::{aot_compiler, build_app, existing_wasmedge_aot, prebuilt};
use crate::environment::{self, EnvArg};
use crate::launch;
use crate::launch_spec::{DirMapping, LaunchSpec};
use crate::messages::MessageFormatArgs;
use crate::metadata::WasockDefaults;
use crate::printer::Printer;
use crate::runtime::{self, Chosen, Runtime};
use crate::wasmedge::WasmEdge;

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
cargo wasock run --js server.js --port 8000"
)]
pub struct RunArgs {
    #[command(flatten)]
    pub format: MessageFormatArgs,

    #[command(flatten)]
    pub flags: RunFlags,
}

/// `--message-format json`'s `runtime`: which runtime runs the app, and why.
#[derive(Serialize)]
pub struct RuntimeMessage {
    /// `wasmedge` or `embedded`.
    name: &'static str,
    /// WasmEdge's version, or the engine's (`wasmtime 48.0.8`).
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    /// Why this one: `requested`, `WasmEdge found`, `WasmEdge not found`. (Not `reason`,
    /// which every message's framing uses for its kind.)
    why: &'static str,
}

impl RuntimeMessage {
    pub fn new(runtime: &Chosen, requested: Runtime) -> RuntimeMessage {
        match runtime {
            Chosen::WasmEdge(found) => RuntimeMessage {
                name: "wasmedge",
                version: Some(found.version.clone()),
                why: if requested == Runtime::Wasmedge {
                    "requested"
                } else {
                    "WasmEdge found"
                },
            },
            Chosen::Embedded(why) => RuntimeMessage {
                name: "embedded",
                #[cfg(feature = "embedded")]
                version: Some(wasock_engine::version()),
                #[cfg(not(feature = "embedded"))]
                version: None,
                why,
            },
        }
    }
}

/// `--message-format json`'s `exit`: the app's exit code, `run`'s own.
#[derive(Serialize)]
pub struct ExitMessage {
    pub code: i32,
}

/// `run`'s flags without its help text, so `watch` can flatten them too.
#[derive(Args, Debug)]
pub struct RunFlags {
    /// Compile ahead of time before running
    #[arg(long)]
    pub aot: bool,

    /// Set a variable for the app (KEY=VALUE), or copy the host's (KEY); repeatable
    #[arg(short, long = "env", value_name = "KEY=VALUE|KEY")]
    pub env: Vec<EnvArg>,

    /// Read variables from a file of KEY=VALUE lines (literal values; format below)
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    /// Port the app listens on (sets PORT; 0: the OS picks); checked free before launch
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,

    /// Map a host directory into the app: GUEST:HOST or GUEST:HOST:readonly; repeatable
    #[arg(long, value_name = "GUEST:HOST[:readonly]")]
    pub dir: Vec<DirMapping>,

    /// Which runtime runs the app
    #[arg(long, value_enum, default_value_t = Runtime::Auto)]
    pub runtime: Runtime,

    /// Run this prebuilt module instead of building (no cargo, no package metadata)
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "release", "profile", "package", "bin", "features", "all_features", "no_default_features",
        "manifest_path", "target_dir", "locked", "offline", "frozen",
    ])]
    pub wasm: Option<PathBuf>,

    /// Run a JavaScript file on the bundled JS runtime (built once into the cache); the
    /// file's directory is the app's `.`, as with `wasmedge --dir .:. RUNTIME FILE`
    #[arg(long, value_name = "FILE.js", conflicts_with_all = [
        "wasm", "release", "profile", "package", "bin", "features", "all_features",
        "no_default_features", "manifest_path", "target_dir", "locked", "offline", "frozen",
    ])]
    pub js: Option<PathBuf>,

    /// Arguments for the app
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,

    // Last, because its help heading applies to every argument after it.
    #[command(flatten)]
    pub cargo: CargoArgs,
}

/// Everything the flags say about the app's environment and directories, checked before
/// building so a typo fails fast (and `--port N` is checked free).
pub struct FlagValues {
    env: Vec<(String, String)>,
    dirs: Vec<DirMapping>,
}

impl RunFlags {
    pub fn check(&self) -> anyhow::Result<FlagValues> {
        let env = environment::from_flags(self.env_file.as_deref(), &self.env)?;
        let dirs = DirMapping::resolve_all(self.dir.clone())?;
        if let Some(port) = self.port {
            launch::check_port_free(port)?;
        }
        Ok(FlagValues { env, dirs })
    }
}

impl FlagValues {
    /// The app's environment and directories: the package's defaults under the flags'.
    pub fn for_app(
        &self,
        defaults: &WasockDefaults,
        port: Option<u16>,
        printer: &Printer,
    ) -> anyhow::Result<(Vec<(String, String)>, Vec<DirMapping>)> {
        let env = environment::assemble(defaults, self.env.clone(), port);
        environment::note_unclaimed_port(&env, port, printer);
        let mut dirs = DirMapping::resolve_all(defaults.dirs.clone())?;
        dirs.extend(self.dirs.iter().cloned());
        Ok((env, dirs))
    }
}

/// Who compiles ahead of time for `--aot` on the chosen runtime.
pub fn aot_by(runtime: &Chosen, aot: bool) -> anyhow::Result<AotBy<'_>> {
    match (runtime, aot) {
        (_, false) => Ok(AotBy::Nobody),
        (Chosen::WasmEdge(found), true) => aot_compiler(Some(found)),
        (Chosen::Embedded(_), true) => aot_compiler(None),
    }
}

/// The module WasmEdge runs: `--aot`'s output, else an up-to-date one an earlier `--aot`
/// left, else the plain module; and whether it is AOT code.
pub fn wasmedge_module(
    found: &WasmEdge,
    module: PathBuf,
    aot_output: Option<PathBuf>,
    prebuilt_module: bool,
    printer: &Printer,
) -> anyhow::Result<(PathBuf, bool)> {
    let aot_output = match aot_output {
        Some(output) => Some(output),
        None => existing_wasmedge_aot(found, &module, prebuilt_module, printer)?,
    };
    let aot = aot_output.is_some();
    Ok((aot_output.unwrap_or(module), aot))
}

pub fn run(args: RunArgs, printer: &Printer) -> anyhow::Result<i32> {
    let printer = &printer.with_message_format(args.format);
    let code = run_app(args.flags, printer)?;
    printer.message("exit", &ExitMessage { code });
    Ok(code)
}

fn run_app(args: RunFlags, printer: &Printer) -> anyhow::Result<i32> {
    let runtime = runtime::choose(args.runtime)?;
    printer.message("runtime", &RuntimeMessage::new(&runtime, args.runtime));
    let aot_by = aot_by(&runtime, args.aot)?;
    let values = args.check()?;

    let script = args
        .js
        .as_deref()
        .map(crate::js::script_launch)
        .transpose()?;
    // A module we did not build (`--wasm`, the JS runtime): its AOT output is in the cache.
    let prebuilt_module = args.wasm.is_some() || script.is_some();
    let (module, aot_output, defaults) = match (&args.wasm, &script) {
        (Some(wasm), _) => prebuilt(wasm, aot_by, printer)?,
        (None, Some(_)) => prebuilt(&crate::js::runtime_module(printer)?, aot_by, printer)?,
        (None, None) => {
            let built = build_app(&args.cargo, aot_by, printer)?;
            let defaults = built.project.defaults()?;
            (built.module.path, built.aot, defaults)
        }
    };

    let (env, mut dirs) = values.for_app(&defaults, args.port, printer)?;
    let mut app_args = args.args;
    if let Some((script_dir, script_name)) = script {
        dirs.insert(
            0,
            DirMapping {
                guest: ".".into(),
                host: script_dir,
                readonly: false,
            },
        );
        app_args.insert(0, script_name);
    }
    // Again: the build may have taken long enough for something else to take the port.
    if let Some(port) = args.port {
        launch::check_port_free(port)?;
    }

    match runtime {
        Chosen::WasmEdge(found) => {
            let (module, aot) =
                wasmedge_module(&found, module, aot_output, prebuilt_module, printer)?;
            let spec = LaunchSpec {
                module,
                args: app_args,
                env,
                dirs,
            };
            launch::run_on_wasmedge(&found, &spec, aot, args.port, printer)
        }
        #[cfg(feature = "embedded")]
        Chosen::Embedded(why) => {
            let spec = LaunchSpec {
                module,
                args: app_args,
                env,
                dirs,
            };
            // `--aot` precompiled into the engine's cache, which `run` goes through anyway.
            crate::embedded::run(&spec, why, args.port, printer)
        }
        #[cfg(not(feature = "embedded"))]
        Chosen::Embedded(_) => {
            unreachable!(
                "runtime::choose never picks the embedded engine when it is not compiled in"
            )
        }
    }
}
