//! `RunFlags`: `run`'s flags (clap), flattened into `run`'s and `watch`'s arguments and read
//! by the run stage (`app.rs`) and `watch`.

use std::path::PathBuf;

use clap::Args;

use crate::build::args::CargoArgs;
use crate::project::dirs::DirMapping;
use crate::run::environment::EnvArg;
use crate::run::runtime::Runtime;

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

    #[command(flatten)]
    pub tls: crate::run::tls::TlsFlags,

    /// Which runtime runs the app
    #[arg(long, value_enum, default_value_t = Runtime::Auto)]
    pub runtime: Runtime,

    /// Serve the app from N instances on the embedded engine, one per thread, sharing its
    /// ports (N >= 1, or `auto`: one per core); each gets WASOCK_INSTANCE and WASOCK_INSTANCES
    #[arg(long, value_name = "N|auto", value_parser = crate::project::metadata::parse_instances)]
    pub instances: Option<u32>,

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

    /// Let the app connect to HOST[:PORT] only (a name, an IP or a CIDR block; a port or
    /// `*`); repeatable, added to the metadata's `allow-connect`; enforced by the engine
    #[arg(long, value_name = "HOST[:PORT]")]
    pub allow_connect: Vec<String>,

    /// Let the app listen on ADDR[:PORT] only; repeatable, added to the metadata's
    /// `allow-listen`; enforced by the engine
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub allow_listen: Vec<String>,

    /// An `allow-connect` list with no entry (how `watch` hands its child a package's
    /// empty list, which refuses every connect)
    #[arg(long, hide = true)]
    pub allow_connect_none: bool,

    /// An `allow-listen` list with no entry, likewise
    #[arg(long, hide = true)]
    pub allow_listen_none: bool,

    /// The most memory the app may have (e.g. 64MiB, 1GiB); on both runtimes
    #[arg(long, value_name = "SIZE", value_parser = crate::project::metadata::parse_size)]
    pub memory_limit: Option<u64>,

    /// The most sockets the app may have open at once (the engine); more get EMFILE
    #[arg(long, value_name = "N", value_parser = crate::run::sandbox::parse_max_sockets)]
    pub max_sockets: Option<usize>,

    /// Arguments for the app
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,

    // Last, because its help heading applies to every argument after it.
    #[command(flatten)]
    pub cargo: CargoArgs,
}
