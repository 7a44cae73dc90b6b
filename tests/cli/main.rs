//! Integration tests of the `cargo-wasock` binary: real cargo builds to wasm32-wasip1, a
//! recording stand-in `wasmedge` for exact command lines, the real WasmEdge beside the
//! engine where it is installed (the same module on both, compared), and every refusal.

#[cfg(feature = "embedded")]
mod async_apps;
mod build;
mod cache;
mod doctor;
#[cfg(feature = "embedded")]
mod embedded;
mod help;
#[cfg(feature = "embedded")]
mod instances;
mod js;
mod js_modules;
mod js_web;
mod new;
#[cfg(feature = "embedded")]
mod parity;
#[cfg(feature = "embedded")]
mod policy;
mod run;
mod ship;
mod support;
#[cfg(feature = "embedded")]
mod test_cmd;
#[cfg(feature = "embedded")]
mod tls;
#[cfg(feature = "embedded")]
mod watch;
