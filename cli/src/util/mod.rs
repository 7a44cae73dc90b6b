//! Shared helpers below every stage: digests, child processes, the WasmEdge installation
//! and the embedded engine's errors. May use `ui/` only.

pub mod digest;
#[cfg(feature = "embedded")]
pub mod engine;
pub mod process;
pub mod wasmedge;
