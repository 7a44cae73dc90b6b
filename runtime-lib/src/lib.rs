//! `wasock`: write a network socket app once, run it on WasmEdge (wasm32-wasip1) and natively.

pub mod http;
