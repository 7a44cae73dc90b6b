//! The embedded engine: runs modules written for WasmEdge's socket extension on wasmtime.
//!
//! wasmtime (Cranelift, synchronous) runs the guest; wasmtime-wasi's preview1 provides
//! everything that is not a socket; [`sockets`] implements WasmEdge's socket extension
//! on real OS sockets and [`poll`] its level-triggered `poll_oneoff`; [`host`] wires the
//! two together in one linker. [`cache`] keeps precompiled modules for `build --aot`.
//!
//! One guest per process: `run` executes it on the calling thread, so a signal that ends
//! the CLI ends the guest with it.

mod abi;
mod cache;
mod host;
mod poll;
mod sockets;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use wasmtime::{Config, Engine, Module, OptLevel, Store, TypedFunc};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::launch_spec::LaunchSpec;
use host::HostState;

/// The wasmtime release linked in; `tests::version_matches_the_lock_file` keeps it honest.
const WASMTIME_VERSION: &str = "48.0.8";

/// The exit code of a guest that trapped (WasmEdge's CLI also exits with 1).
pub const TRAP_EXIT_CODE: i32 = 1;

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
fn engine() -> anyhow::Result<Engine> {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    if let Some(engine) = ENGINE.get() {
        return Ok(engine.clone());
    }
    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::Speed);
    let engine = Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("could not create the wasmtime engine")?;
    Ok(ENGINE.get_or_init(|| engine).clone())
}

/// Compile `module` ahead of time into `cache_dir`, reusing a previous result.
pub fn precompile(module: &Path, cache_dir: &Path) -> anyhow::Result<Precompiled> {
    cache::precompile(module, cache_dir)
}

/// A guest compiled, linked and instantiated, ready to run.
pub struct PreparedApp {
    store: Store<HostState>,
    start: TypedFunc<(), ()>,
    program: String,
    startup: Duration,
}

fn build_wasi(spec: &LaunchSpec) -> anyhow::Result<WasiP1Ctx> {
    let mut builder = WasiCtxBuilder::new();
    builder.inherit_stdio();
    builder.arg(spec.program_name());
    builder.args(&spec.args);
    builder.envs(&spec.env);
    for dir in &spec.dirs {
        let perms = if dir.readonly {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        builder.preopened_dir(&dir.host, &dir.guest, perms).map_err(anyhow::Error::from).with_context(|| {
            format!("could not open `{}` for `--dir {dir}`\nhelp: check that the host directory exists", dir.host.display())
        })?;
    }
    Ok(builder.build_p1())
}

/// Compile (or load `precompiled`), link and instantiate the app described by `spec`.
pub fn prepare(spec: &LaunchSpec, precompiled: Option<&Path>) -> anyhow::Result<PreparedApp> {
    let began = Instant::now();
    let engine = engine()?;
    let module = match precompiled {
        // SAFETY: the file comes from our own cache, written by `precompile` with this
        // engine's configuration; wasmtime still checks its header and version.
        Some(path) => unsafe { Module::deserialize_file(&engine, path) }.map_err(anyhow::Error::from).with_context(|| {
            format!("could not load the precompiled module `{}`\nhelp: run `cargo wasock build --aot` again", path.display())
        })?,
        None => Module::from_file(&engine, &spec.module)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("could not compile `{}`\nhelp: check that it is a wasm module built for wasm32-wasip1", spec.module.display()))?,
    };
    let mut store = Store::new(&engine, HostState::new(build_wasi(spec)?));
    let mut linker = host::link(&engine, &module)?;

    let missing: Vec<String> = module
        .imports()
        .filter(|import| linker.get_by_import(&mut store, import).is_none())
        .map(|import| format!("{}::{}", import.module(), import.name()))
        .collect();
    if !missing.is_empty() {
        bail!(
            "`{}` imports {} that the embedded engine does not provide: {}\nhelp: run it on WasmEdge (`--runtime wasmedge`) or drop the dependency that needs it",
            spec.program_name(),
            if missing.len() == 1 { "a function" } else { "functions" },
            missing.join(", ")
        );
    }

    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("could not instantiate `{}`", spec.module.display()))?;
    let memory = instance.get_memory(&mut store, "memory");
    store.data_mut().memory = memory;
    if let Some(memory) = memory {
        host::attach_preview1(&mut linker, &mut store, memory)?;
    }
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start").map_err(anyhow::Error::from).with_context(|| {
        format!("`{}` has no `_start` function\nhelp: build a binary crate (src/main.rs), not a library", spec.module.display())
    })?;
    Ok(PreparedApp {
        store,
        start,
        program: spec.program_name(),
        startup: began.elapsed(),
    })
}

impl PreparedApp {
    /// How long `prepare` took: the cold start.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Run the guest to completion on this thread and return its exit code.
    pub fn run(mut self) -> anyhow::Result<i32> {
        let outcome = self.start.call(&mut self.store, ());
        // The CLI may leave through `process::exit`, which skips std's buffered stdout.
        let _ = std::io::stdout().flush();
        match outcome {
            Ok(()) => Ok(0),
            Err(error) => {
                if let Some(exit) = error.downcast_ref::<I32Exit>() {
                    return Ok(exit.0);
                }
                // `{:?}` includes wasmtime's wasm backtrace.
                eprintln!("error: `{}` trapped: {error:?}", self.program);
                Ok(TRAP_EXIT_CODE)
            }
        }
    }
}
