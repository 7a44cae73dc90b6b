//! `wasock-engine`: runs modules written for WasmEdge's socket extension on wasmtime.
//!
//! wasmtime (Cranelift, synchronous) runs the guest; wasmtime-wasi's preview1 provides
//! everything that is not a socket; `sockets` implements WasmEdge's socket extension
//! (WasmEdge 0.17.1's function names, signatures and memory layouts) on real OS sockets
//! and `poll` its level-triggered `poll_oneoff`; `host` wires the two together in one
//! linker. `cache` keeps precompiled modules.
//!
//! One guest per process: [`PreparedApp::run`] executes it on the calling thread, so a
//! signal that ends the process ends the guest with it.
//!
//! ```no_run
//! let guest = wasock_engine::GuestSpec::new("app.wasm");
//! let app = wasock_engine::prepare(&guest, None)?;
//! let exit_code = app.run();
//! # Ok::<(), wasock_engine::EngineError>(())
//! ```

mod abi;
mod cache;
mod host;
mod poll;
mod sockets;
#[cfg(test)]
mod tests;

mod error;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmtime::{Config, Engine, Module, OptLevel, Store, TypedFunc};
use wasmtime_wasi::cli::OutputFile;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

pub use error::EngineError;
use host::HostState;

/// The wasmtime release linked in; `tests::version_matches_the_lock_file` keeps it honest.
const WASMTIME_VERSION: &str = "48.0.8";

/// The exit code of a guest that trapped (WasmEdge's CLI also exits with 1).
pub const TRAP_EXIT_CODE: i32 = 1;

/// What to run: the module and everything the guest sees of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestSpec {
    /// The wasm module (binary, or WAT text).
    pub module: PathBuf,
    /// `argv[0]`; WasmEdge gives the module's file name.
    pub program_name: String,
    /// `argv[1..]`.
    pub args: Vec<String>,
    /// The guest's whole environment, in order; nothing is inherited from the host.
    pub env: Vec<(String, String)>,
    /// Host directories preopened for the guest.
    pub preopens: Vec<Preopen>,
    /// Where the guest's stdout goes (the host's own stdout unless told otherwise).
    pub stdout: GuestOutput,
    /// Where the guest's stderr goes.
    pub stderr: GuestOutput,
}

/// Where one of the guest's output streams goes. The guest runs in the host's process,
/// so inherited output is the host's own stream; a test harness that captures its
/// output (libtest) needs `File` to keep guest output out of a passing run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GuestOutput {
    /// The host process's stream, shared with the host.
    #[default]
    Inherit,
    /// This file, created or truncated by [`prepare`].
    File(PathBuf),
}

impl GuestSpec {
    /// A guest with no arguments, no environment and no directories, named after the
    /// module's file name as WasmEdge names it.
    pub fn new(module: impl Into<PathBuf>) -> Self {
        let module = module.into();
        let program_name = module
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "app.wasm".to_owned());
        GuestSpec {
            module,
            program_name,
            args: Vec::new(),
            env: Vec::new(),
            preopens: Vec::new(),
            stdout: GuestOutput::Inherit,
            stderr: GuestOutput::Inherit,
        }
    }
}

/// A host directory visible to the guest at `guest` (WasmEdge's `--dir GUEST:HOST[:readonly]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preopen {
    pub guest: String,
    pub host: PathBuf,
    pub readonly: bool,
}

/// A precompiled module in the engine's cache.
#[derive(Debug, Clone)]
pub struct Precompiled {
    pub path: PathBuf,
    /// True when the cache already held a build for this module hash and engine version.
    pub reused: bool,
}

/// Engine identity, e.g. `wasmtime 48.0.8`; part of the AOT cache key.
pub fn version() -> String {
    format!("wasmtime {WASMTIME_VERSION}")
}

/// The one engine, built on first use and shared by `precompile` and `prepare` (a
/// `run` that precompiles first builds it once), so that a serialized module always
/// matches the engine that loads it.
fn engine() -> Result<Engine, EngineError> {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    if let Some(engine) = ENGINE.get() {
        return Ok(engine.clone());
    }
    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::Speed);
    let engine = Engine::new(&config).map_err(|source| EngineError::Create {
        source: error::boxed(source),
    })?;
    Ok(ENGINE.get_or_init(|| engine).clone())
}

/// Compile `module` ahead of time into `cache_dir`, reusing a previous result.
///
/// Errors: [`EngineError::Io`] when the module cannot be read or the cache written,
/// [`EngineError::Compile`] when it is not a valid module.
pub fn precompile(module: &Path, cache_dir: &Path) -> Result<Precompiled, EngineError> {
    cache::precompile(module, cache_dir)
}

/// A guest compiled, linked and instantiated, ready to run.
pub struct PreparedApp {
    store: Store<HostState>,
    start: TypedFunc<(), ()>,
    program: String,
    startup: Duration,
}

/// The stream `output` names, opened for the guest.
fn output_file(output: &GuestOutput) -> Result<Option<OutputFile>, EngineError> {
    match output {
        GuestOutput::Inherit => Ok(None),
        GuestOutput::File(path) => std::fs::File::create(path)
            .map(|file| Some(OutputFile::new(file)))
            .map_err(|source| EngineError::Io {
                action: "could not create the guest's output file",
                path: path.clone(),
                source,
            }),
    }
}

fn build_wasi(spec: &GuestSpec) -> Result<WasiP1Ctx, EngineError> {
    let mut builder = WasiCtxBuilder::new();
    builder.inherit_stdio();
    if let Some(file) = output_file(&spec.stdout)? {
        builder.stdout(file);
    }
    if let Some(file) = output_file(&spec.stderr)? {
        builder.stderr(file);
    }
    builder.arg(&spec.program_name);
    builder.args(&spec.args);
    builder.envs(&spec.env);
    for dir in &spec.preopens {
        let perms = if dir.readonly {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        builder
            .preopened_dir(&dir.host, &dir.guest, perms)
            .map_err(|source| EngineError::Preopen {
                host: dir.host.clone(),
                guest: dir.guest.clone(),
                source: error::boxed(source),
            })?;
    }
    Ok(builder.build_p1())
}

/// Compile (or load `precompiled`, a file written by [`precompile`]), link and
/// instantiate the guest `spec` describes.
///
/// Errors: the module cannot be compiled or loaded, it imports functions the engine does
/// not provide ([`EngineError::MissingImports`], naming them), it has no `_start`, or a
/// preopened directory cannot be opened.
pub fn prepare(spec: &GuestSpec, precompiled: Option<&Path>) -> Result<PreparedApp, EngineError> {
    let began = Instant::now();
    let engine = engine()?;
    let module = match precompiled {
        // SAFETY: the file comes from our own cache, written by `precompile` with this
        // engine's configuration; wasmtime still checks its header and version.
        Some(path) => unsafe { Module::deserialize_file(&engine, path) }.map_err(|source| {
            EngineError::LoadPrecompiled {
                path: path.to_path_buf(),
                source: error::boxed(source),
            }
        })?,
        None => {
            Module::from_file(&engine, &spec.module).map_err(|source| EngineError::Compile {
                path: spec.module.clone(),
                source: error::boxed(source),
            })?
        }
    };
    let mut store = Store::new(&engine, HostState::new(build_wasi(spec)?));
    let link_error = |source: anyhow::Error| EngineError::Link {
        path: spec.module.clone(),
        source: source.into(),
    };
    let mut linker = host::link(&engine, &module).map_err(link_error)?;

    let missing: Vec<String> = module
        .imports()
        .filter(|import| linker.get_by_import(&mut store, import).is_none())
        .map(|import| format!("{}::{}", import.module(), import.name()))
        .collect();
    if !missing.is_empty() {
        return Err(EngineError::MissingImports {
            program: spec.program_name.clone(),
            imports: missing,
        });
    }

    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|source| link_error(source.into()))?;
    let memory = instance.get_memory(&mut store, "memory");
    store.data_mut().memory = memory;
    if let Some(memory) = memory {
        host::attach_preview1(&mut linker, &mut store, memory).map_err(link_error)?;
    }
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(|_| EngineError::NoStart {
            path: spec.module.clone(),
        })?;
    Ok(PreparedApp {
        store,
        start,
        program: spec.program_name.clone(),
        startup: began.elapsed(),
    })
}

impl PreparedApp {
    /// How long `prepare` took: the cold start.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Have `observer` told the address of every socket the guest puts into the listening
    /// state, right after its `sock_listen` succeeds: the address the OS bound (so a bind
    /// to port 0 shows the port it got; a wildcard bind shows `0.0.0.0` or `::`).
    ///
    /// This is readiness learned without touching the app: nobody connects to it. The
    /// observer runs on the guest's thread inside the call, so it should be quick (send
    /// on a channel). A later call replaces the observer.
    pub fn on_listen(&mut self, observer: impl FnMut(SocketAddr) + Send + 'static) {
        self.store.data_mut().listen_observer = Some(Box::new(observer));
    }

    /// Run the guest to completion on this thread and return its exit code: its
    /// `proc_exit` code, whatever its value (as WasmEdge 0.17.1, which exits with 126, 200
    /// and 255 too; the process's exit status is its low 8 bits), 0 when `_start` returns,
    /// [`TRAP_EXIT_CODE`] after a trap (whose wasm backtrace goes to stderr).
    pub fn run(mut self) -> i32 {
        let outcome = self.start.call(&mut self.store, ());
        // The CLI may leave through `process::exit`, which skips std's buffered stdout.
        let _ = std::io::stdout().flush();
        match outcome {
            Ok(()) => 0,
            Err(error) => {
                if let Some(exit) = error.downcast_ref::<I32Exit>() {
                    return exit.0;
                }
                // `{:?}` includes wasmtime's wasm backtrace.
                eprintln!("error: `{}` trapped: {error:?}", self.program);
                TRAP_EXIT_CODE
            }
        }
    }
}
