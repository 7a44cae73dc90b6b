//! `cargo-wasock`: scaffold, build and run WasmEdge socket apps (invoked as `cargo wasock`).

mod launch_spec;
#[cfg(feature = "embedded")]
mod engine;

fn main() {
    println!("cargo-wasock (skeleton)");
}
