//! `cargo wasock build`: compile the app to WASI, optionally ahead of time.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::aot::AotBy;
use crate::app::{aot_compiler, build_app};
use crate::cargo_build::CargoFlags;
use crate::messages::MessageFormatArgs;
use crate::metadata::ResolveFlags;
use crate::printer::Printer;
use crate::wasmedge;

/// The `cargo build` options `build` and `run` accept and pass through.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Cargo options")]
pub struct CargoArgs {
    /// Build with the release profile
    #[arg(short, long, conflicts_with = "profile")]
    pub release: bool,
    /// Build with the given profile
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Package to build
    #[arg(short, long, value_name = "SPEC")]
    pub package: Option<String>,
    /// Binary to build (when the package has several)
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// Features to activate (space or comma separated; repeatable)
    #[arg(short = 'F', long, value_name = "FEATURES")]
    pub features: Vec<String>,
    /// Activate all features
    #[arg(long)]
    pub all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long)]
    pub no_default_features: bool,
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Directory for all generated artifacts
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Assert that Cargo.lock will remain unchanged
    #[arg(long)]
    pub locked: bool,
    /// Run without accessing the network
    #[arg(long)]
    pub offline: bool,
    /// Equivalent to --locked and --offline
    #[arg(long)]
    pub frozen: bool,
}

impl CargoArgs {
    pub fn resolve_flags(&self) -> ResolveFlags {
        ResolveFlags {
            locked: self.locked,
            offline: self.offline,
            frozen: self.frozen,
        }
    }

    pub fn to_flags(&self) -> CargoFlags {
        CargoFlags {
            release: self.release,
            profile: self.profile.clone(),
            package: self.package.clone(),
            bin: self.bin.clone(),
            features: self
                .features
                .iter()
                .flat_map(|f| f.split([' ', ',']))
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
            all_features: self.all_features,
            no_default_features: self.no_default_features,
            manifest_path: self.manifest_path.clone(),
            target_dir: self.target_dir.clone(),
            resolve: self.resolve_flags(),
            env: Vec::new(),
        }
    }

    /// cargo's name of the profile built: `dev`, `release`, or `--profile`'s.
    pub fn profile_name(&self) -> &str {
        match (&self.profile, self.release) {
            (Some(profile), _) => profile,
            (None, true) => "release",
            (None, false) => "dev",
        }
    }

    /// The directory rustup should consult for a toolchain file.
    pub fn project_dir(&self) -> PathBuf {
        match self.manifest_path.as_deref().and_then(Path::parent) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

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
