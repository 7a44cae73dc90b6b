//! The embedded engine's errors as the CLI shows them: each with a `help:` line saying
//! what to do (feature `embedded`).

use wasock_engine::EngineError;

use crate::ui::errors::hint_on;

/// The engine's error under `message`, with what to do about it.
pub fn explain(error: EngineError, message: impl Into<String>) -> anyhow::Error {
    let help = match &error {
        EngineError::Create { .. } => "this is a bug in cargo-wasock; please report it",
        EngineError::Io { .. } => {
            "check that the path exists and that you may read and write there"
        }
        EngineError::Compile { .. } => "check that it is a wasm module built for wasm32-wasip1",
        EngineError::LoadPrecompiled { .. } => "run `cargo wasock cache clean`, then try again",
        EngineError::MissingImports { .. } => {
            "run it on WasmEdge (`--runtime wasmedge`) or drop the dependency that needs it"
        }
        EngineError::Link { .. } => "check that the module was built for wasm32-wasip1",
        EngineError::NoStart { .. } => "build a binary crate (src/main.rs), not a library",
        EngineError::Preopen { .. } => "check that the host directory exists and is readable",
        _ => "run with `-v` for more detail",
    };
    hint_on(error, message, help)
}
