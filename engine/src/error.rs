//! The engine's errors: what failed and on which path; the caller adds what to do next.

use std::path::PathBuf;

/// A failure to compile, load, link or start a guest, or to use the precompile cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("could not create the wasmtime engine")]
    Create {
        #[source]
        source: BoxError,
    },
    /// Reading the module or writing the cache.
    #[error("{action} `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The module is not valid wasm (or WAT), or Cranelift refused it.
    #[error("could not compile `{}`", path.display())]
    Compile {
        path: PathBuf,
        #[source]
        source: BoxError,
    },
    /// A precompiled file that this engine cannot load (another engine version, a torn file).
    #[error("could not load the precompiled module `{}`", path.display())]
    LoadPrecompiled {
        path: PathBuf,
        #[source]
        source: BoxError,
    },
    /// The guest imports functions neither preview1 nor WasmEdge's socket extension has.
    #[error("`{program}` imports {} that the embedded engine does not provide: {}",
        if imports.len() == 1 { "a function" } else { "functions" }, imports.join(", "))]
    MissingImports {
        program: String,
        /// `module::name` of each missing import.
        imports: Vec<String>,
    },
    /// Wiring the host functions to the guest, or instantiating it, failed.
    #[error("could not instantiate `{}`", path.display())]
    Link {
        path: PathBuf,
        #[source]
        source: BoxError,
    },
    /// The module is a library (no WASI command entry point).
    #[error("`{}` has no `_start` function", path.display())]
    NoStart { path: PathBuf },
    /// `prepare_instances` was given no spec.
    #[error("no instance to prepare")]
    NoInstances,
    #[error("could not open `{}` for the guest directory `{guest}`", host.display())]
    Preopen {
        host: PathBuf,
        guest: String,
        #[source]
        source: BoxError,
    },
}

/// A lower-level error kept as the source of an [`EngineError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// wasmtime's errors are not `std::error::Error`; keep their whole chain as text-bearing sources.
pub(crate) fn boxed(error: impl Into<anyhow::Error>) -> BoxError {
    error.into().into()
}
