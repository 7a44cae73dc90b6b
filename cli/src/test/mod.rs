//! The test stage: `cargo test` for the WASI target with our runner, and libtest's text
//! (arguments, listing, outcomes, the report). May use `run/`, `build/`, `project/` and the
//! shared modules.

pub mod libtest;
pub mod runner;
