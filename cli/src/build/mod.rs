//! The build stage: the app's module. The WASI target (chosen and installed), cargo with its
//! JSON messages and progress, ahead-of-time compilation (`wasmedge compile` or the engine's
//! precompile cache), and `app.rs`, which puts them together or takes a prebuilt `--wasm`.
//! `args.rs` holds the cargo options the commands flatten; `cc.rs` finds the C compiler
//! crates with C inside (ring) need for the WASI target. May use `project/` and the
//! shared modules.

pub mod aot;
pub mod app;
pub mod args;
pub mod cargo;
pub mod cc;
pub mod target;
