//! `wasock-engine`: runs modules written for WasmEdge's socket extension on wasmtime.
//!
//! wasmtime (Cranelift, synchronous) runs the guest; wasmtime-wasi's preview1 provides
//! everything that is not a socket; `sockets` implements WasmEdge's socket extension
//! (WasmEdge 0.17.1's function names, signatures and memory layouts) on real OS sockets
//! and `poll` its level-triggered `poll_oneoff` (on `poll_set`'s epoll set); `host` wires
//! the two together in one linker. The store's state they share (`HostState`, the guest's
//! `SocketTable`) is `state`'s, below all three. `cache` keeps precompiled modules ([`ModuleCache`]), through which `prepare`
//! goes when given one, so a module compiles once and later starts load native code.
//!
//! One guest per process: [`PreparedApp::run`] executes it on the calling thread, so a
//! signal that ends the process ends the guest with it.
//!
//! ```no_run
//! let guest = wasock_engine::GuestSpec::new("app.wasm");
//! let cache = wasock_engine::ModuleCache::new("/home/me/.cache/my-tool/engine");
//! let app = wasock_engine::prepare(&guest, Some(&cache))?;
//! let exit_code = app.run();
//! # Ok::<(), wasock_engine::EngineError>(())
//! ```

mod abi;
mod cache;
mod host;
mod instances;
mod policy;
mod poll;
mod poll_set;
mod sockets;
mod state;
#[cfg(test)]
mod tests;

mod error;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmtime::{Config, Engine, Module, OptLevel, Store, TypedFunc};
use wasmtime_wasi::cli::OutputFile;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

pub use cache::{CacheUsage, ModuleCache, Precompiled};
pub use error::EngineError;
pub use policy::{
    default_max_sockets, Blocked, Direction, Host, Policy, Rule, RuleError, Sandbox, SandboxEvent,
    HOST_RESERVED_FDS, MAX_REPORTED, REFUSED,
};
pub use poll::POLL_HOST_BYTES_CAP;
use state::HostState;

/// The wasmtime release linked in; `tests::version_matches_the_lock_file` keeps it honest.
const WASMTIME_VERSION: &str = "48.0.8";

/// The exit code of a guest that trapped, as WasmEdge 0.17.1 exits after any trap (an
/// `unreachable`, which is how a Rust panic ends, an access out of bounds, a division by
/// zero, a mistyped indirect call, an exhausted call stack): `128 + SIGABRT`, returned by its
/// CLI (`lib/driver/runtimeTool.cpp`) though nothing aborts. A shell reads it as SIGABRT.
pub const TRAP_EXIT_CODE: i32 = 134;

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
    /// What it may reach and use (`policy.rs`); the default allows what WasmEdge allows.
    pub sandbox: Sandbox,
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
            sandbox: Sandbox::default(),
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

/// Engine identity, e.g. `wasmtime 48.0.8`; part of the precompile cache's key.
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
    // Tables filled at instantiation: every `call_indirect` then skips the check for a
    // slot not yet initialized. Interpreters in wasm (QuickJS: its C function hooks, its
    // allocator) make one on most operations; the filling costs microseconds once.
    config.table_lazy_init(false);
    let engine = Engine::new(&config).map_err(|source| EngineError::Create {
        source: error::boxed(source),
    })?;
    Ok(ENGINE.get_or_init(|| engine).clone())
}

/// Where a prepared guest's native code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    /// Loaded from the precompile cache: no compile at all.
    Cache,
    /// Compiled now and stored in the cache for the next start.
    CompiledAndCached,
    /// Compiled now in memory only: no cache was given, or it could not be used
    /// (see [`PreparedApp::cache_error`]).
    Compiled,
}

/// A guest compiled, linked and instantiated, ready to run.
pub struct PreparedApp {
    store: Store<HostState>,
    start: TypedFunc<(), ()>,
    program: String,
    startup: Duration,
    source: CodeSource,
    cache_error: Option<EngineError>,
    events: policy::Events,
}

/// The socket cap `sandbox` asks for, shared by the instances it is given to.
fn socket_budget(sandbox: &Sandbox) -> std::sync::Arc<policy::SocketBudget> {
    std::sync::Arc::new(policy::SocketBudget::new(
        sandbox.max_sockets.unwrap_or_else(default_max_sockets),
    ))
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

/// The module `spec` names, through `cache` when given: loaded from it, or compiled
/// and stored in it. A cache that cannot be read or written does not stop the guest: it
/// is compiled in memory and the cache's error comes back beside it.
fn load_module(
    engine: &Engine,
    spec: &GuestSpec,
    cache: Option<&ModuleCache>,
) -> Result<(Module, CodeSource, Option<EngineError>), EngineError> {
    let compile = || {
        Module::from_file(engine, &spec.module).map_err(|source| EngineError::Compile {
            path: spec.module.clone(),
            source: error::boxed(source),
        })
    };
    let Some(cache) = cache else {
        return Ok((compile()?, CodeSource::Compiled, None));
    };
    let precompiled = match cache.precompile(&spec.module) {
        Ok(precompiled) => precompiled,
        // An unreadable module or an invalid one fails the same way without the cache.
        Err(error @ EngineError::Io { .. }) if spec.module.is_file() => {
            return Ok((compile()?, CodeSource::Compiled, Some(error)));
        }
        Err(error) => return Err(error),
    };
    // SAFETY: the file is a cache entry written by `ModuleCache::precompile` with this
    // engine's configuration and named by that configuration's hash; wasmtime still
    // checks its header, version and settings.
    match unsafe { Module::deserialize_file(engine, &precompiled.path) } {
        Ok(module) if precompiled.reused => Ok((module, CodeSource::Cache, None)),
        Ok(module) => Ok((module, CodeSource::CompiledAndCached, None)),
        Err(source) => {
            // A damaged entry: drop it so the next start stores a good one.
            cache.discard(&precompiled.path);
            let error = EngineError::LoadPrecompiled {
                path: precompiled.path,
                source: error::boxed(source),
            };
            Ok((compile()?, CodeSource::Compiled, Some(error)))
        }
    }
}

/// Compile the guest `spec` describes (through `cache`, see [`ModuleCache`]), link and
/// instantiate it.
///
/// Errors: the module cannot be read or compiled, it imports functions the engine does
/// not provide ([`EngineError::MissingImports`], naming them), it has no `_start`, or a
/// preopened directory or an output file cannot be opened. A cache that cannot be used
/// is not an error: see [`PreparedApp::cache_error`].
pub fn prepare(spec: &GuestSpec, cache: Option<&ModuleCache>) -> Result<PreparedApp, EngineError> {
    let began = Instant::now();
    let engine = engine()?;
    let (module, source, cache_error) = load_module(&engine, spec, cache)?;
    let budget = socket_budget(&spec.sandbox);
    instantiate(
        &engine,
        &module,
        spec,
        None,
        budget,
        began,
        source,
        cache_error,
    )
}

/// [`prepare`] for several instances of one module (`cargo wasock run --instances N`): the
/// module is compiled (or loaded from `cache`) once, from the first spec's module, and each
/// spec becomes an instance with its own memory, environment, preopens and sockets. The
/// instances share their ports (see `instances.rs`): every socket they bind gets
/// `SO_REUSEPORT`, and a port-0 bind takes the port the same bind of the first instance
/// got. Run each on a thread of its own ([`PreparedApp`] is `Send`). The first spec's
/// socket cap ([`Sandbox::max_sockets`]) holds for all instances together (they share the
/// process's descriptors); each has its own policy and memory limit.
///
/// Errors: those of [`prepare`]; an empty `specs` is [`EngineError::NoInstances`].
pub fn prepare_instances(
    specs: &[GuestSpec],
    cache: Option<&ModuleCache>,
) -> Result<Vec<PreparedApp>, EngineError> {
    let began = Instant::now();
    let first = specs.first().ok_or(EngineError::NoInstances)?;
    let engine = engine()?;
    let (module, source, cache_error) = load_module(&engine, first, cache)?;
    let shared = std::sync::Arc::new(instances::SharedPorts::default());
    let budget = socket_budget(&first.sandbox);
    // The cache's answer is the first instance's to report.
    let mut cache_error = Some(cache_error);
    let mut apps = Vec::with_capacity(specs.len());
    for spec in specs {
        let ports = instances::InstancePorts::new(std::sync::Arc::clone(&shared));
        apps.push(instantiate(
            &engine,
            &module,
            spec,
            Some(ports),
            std::sync::Arc::clone(&budget),
            began,
            source,
            cache_error.take().flatten(),
        )?);
    }
    Ok(apps)
}

/// Link and instantiate `module` for `spec`, with `shared_ports` when it is one of several
/// instances, its sockets counted in `budget`.
#[allow(clippy::too_many_arguments)]
fn instantiate(
    engine: &Engine,
    module: &Module,
    spec: &GuestSpec,
    shared_ports: Option<instances::InstancePorts>,
    budget: std::sync::Arc<policy::SocketBudget>,
    began: Instant,
    source: CodeSource,
    cache_error: Option<EngineError>,
) -> Result<PreparedApp, EngineError> {
    let mut state = HostState::new(build_wasi(spec)?);
    state.sockets.shared_ports = shared_ports;
    let events = policy::Events::default();
    state.sockets.guard = policy::Guard::new(spec.sandbox.policy.clone(), events.clone());
    state.sockets.budget = budget;
    state.limiter = policy::MemoryLimiter::new(spec.sandbox.memory_limit, events.clone());
    let mut store = Store::new(engine, state);
    if spec.sandbox.memory_limit.is_some() {
        store.limiter(|state| &mut state.limiter);
    }
    let link_error = |source: anyhow::Error| EngineError::Link {
        path: spec.module.clone(),
        source: source.into(),
    };
    let mut linker = host::link(engine, module).map_err(link_error)?;

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
        .instantiate(&mut store, module)
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
        source,
        cache_error,
        events,
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

    /// Have `observer` told what the sandbox refused ([`SandboxEvent`]): each refused
    /// destination once (at most [`MAX_REPORTED`]), and the memory limit the first time a
    /// `memory.grow` fails at it. It runs on the guest's thread inside the call: keep it
    /// quick. A later call replaces the observer.
    pub fn on_sandbox_event(&mut self, observer: impl FnMut(SandboxEvent) + Send + 'static) {
        self.events.set(Box::new(observer));
    }

    /// Where the guest's native code came from.
    pub fn code_source(&self) -> CodeSource {
        self.source
    }

    /// Why the cache given to `prepare` could not be used, when it could not.
    pub fn cache_error(&self) -> Option<&EngineError> {
        self.cache_error.as_ref()
    }

    /// Run the guest to completion on this thread and return its exit code: its
    /// `proc_exit` code, whatever its value (as WasmEdge 0.17.1, which exits with 126, 200
    /// and 255 too; the process's exit status is its low 8 bits), 0 when `_start` returns,
    /// [`TRAP_EXIT_CODE`] after a trap (whose wasm backtrace goes to stderr).
    pub fn run(self) -> i32 {
        let program = self.program.clone();
        match self.run_or_trap() {
            Ok(code) => code,
            Err(trap) => {
                eprintln!("error: `{program}` trapped: {}", trap.detail);
                TRAP_EXIT_CODE
            }
        }
    }

    /// As [`PreparedApp::run`], but a trap comes back instead of going to the host's
    /// stderr: a caller that runs many guests at once (the CLI's test runner) says it
    /// where it belongs. `Ok` holds the guest's exit code as for `run`.
    pub fn run_or_trap(mut self) -> Result<i32, GuestTrap> {
        let outcome = self.start.call(&mut self.store, ());
        // The CLI may leave through `process::exit`, which skips std's buffered stdout.
        let _ = std::io::stdout().flush();
        match outcome {
            Ok(()) => Ok(0),
            Err(error) => {
                if let Some(exit) = error.downcast_ref::<I32Exit>() {
                    return Ok(exit.0);
                }
                Err(GuestTrap {
                    reason: error.root_cause().to_string(),
                    detail: guest_report(&error),
                    host_backtrace: host_backtrace(&error),
                })
            }
        }
    }
}

/// How a guest trapped: the trap itself (`wasm trap: wasm `unreachable` instruction
/// executed`, which is how a Rust panic ends on wasm32-wasip1) and the whole report with
/// the wasm backtrace.
#[derive(Debug, Clone)]
pub struct GuestTrap {
    /// The trap alone, one line.
    pub reason: String,
    /// The trap, its causes and the wasm backtrace (function names where the module has
    /// them); never the host's stack.
    pub detail: String,
    /// The engine's own stack when the trap was raised, captured only when
    /// `RUST_BACKTRACE`/`RUST_LIB_BACKTRACE` ask for it: about our code, not the guest's,
    /// so for a bug report (`run -v`), not for the user's crash.
    pub host_backtrace: Option<String>,
}

/// The trap as wasmtime's `{:?}` shows it (the error, `Caused by:` with the wasm
/// backtrace) without the host's `Stack backtrace:` that it appends when a backtrace was
/// captured: with `RUST_BACKTRACE=1` in a Rust developer's environment, that section was
/// most of a crash report and none of it about the app (issue 24).
fn guest_report(error: &wasmtime::Error) -> String {
    let mut report = format!("{error:?}");
    if host_backtrace(error).is_some() {
        if let Some(at) = report.rfind("\nStack backtrace:\n") {
            report.truncate(at);
        }
    }
    report
}

/// The host's stack captured with `error`, when one was.
fn host_backtrace(error: &wasmtime::Error) -> Option<String> {
    let backtrace = error.backtrace();
    (backtrace.status() == std::backtrace::BacktraceStatus::Captured).then(|| backtrace.to_string())
}

/// Instances run on threads of their own (`prepare_instances`).
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<PreparedApp>();
};
