//! The run stage: from `run`'s flags to a running app. Runtime choice, the app's environment
//! (metadata, env files, flags), the runtime-neutral launch spec, the WasmEdge child and its
//! signals, the embedded engine, and readiness (where the app listens, observed), and the sandbox (policy and limits). `app.rs`
//! is the pipeline `run` and `watch` share. May use `js/`, `build/`, `project/` and the
//! shared modules.

pub mod app;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod env_file;
pub mod environment;
pub mod flags;
pub mod launch;
pub mod launch_spec;
pub mod readiness;
pub mod runtime;
pub mod sandbox;
pub mod tls;
