//! Integration tests of the `cargo-wasock` binary: real cargo builds to wasm32-wasip1, a
//! recording stand-in `wasmedge` for exact command lines, and every refusal.

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
mod new;
mod run;
mod ship;
mod support;
#[cfg(feature = "embedded")]
mod test_cmd;
#[cfg(feature = "embedded")]
mod watch;
