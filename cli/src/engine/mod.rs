//! The embedded engine: runs modules written for WasmEdge's socket extension on wasmtime.
//!
//! (Being built: see ARCHITECTURE.md "Embedded engine interface".)

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::launch_spec::LaunchSpec;

/// A precompiled module in the engine's cache.
#[derive(Debug, Clone)]
pub struct Precompiled {
    pub path: PathBuf,
    /// True when the cache already held a build for this module hash and engine version.
    pub reused: bool,
}

/// Engine identity, e.g. `wasmtime 48.0.8`; part of the AOT cache key.
pub fn version() -> String {
    todo!("embedded engine")
}

/// Compile `module` ahead of time into `cache_dir`, reusing a previous result.
pub fn precompile(_module: &Path, _cache_dir: &Path) -> anyhow::Result<Precompiled> {
    todo!("embedded engine")
}

/// A guest compiled, linked and instantiated, ready to run.
pub struct PreparedApp {}

/// Compile (or load `precompiled`), link and instantiate the app described by `spec`.
pub fn prepare(_spec: &LaunchSpec, _precompiled: Option<&Path>) -> anyhow::Result<PreparedApp> {
    todo!("embedded engine")
}

impl PreparedApp {
    /// How long `prepare` took: the cold start.
    pub fn startup_time(&self) -> Duration {
        todo!("embedded engine")
    }

    /// Run the guest to completion on this thread and return its exit code.
    pub fn run(self) -> anyhow::Result<i32> {
        todo!("embedded engine")
    }
}
