//! The `wasock-js` binary: runs a JavaScript file on QuickJS (through rquickjs) with WasmEdge-style
//! socket modules, on wasock's single-threaded async runtime.
//!
//! Usage: `wasock-js SCRIPT.js [ARGS]...`, on WasmEdge as the reference docs run their
//! runtime: `wasmedge --dir .:. wasock-js.wasm script.js`. What scripts get is described
//! in the library's docs (`src/lib.rs`). Exit codes: 0 when nothing is left to run, 1 after
//! an uncaught error, 2 when the script cannot be read.

use std::process::ExitCode;

/// Exit code when the script cannot be read (a usage error, as for a missing file in Node).
const USAGE_EXIT_CODE: u8 = 2;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("error: no script given\nhelp: usage: wasock-js SCRIPT.js [ARGS]...");
        return ExitCode::from(USAGE_EXIT_CODE);
    };
    let source = match std::fs::read(&path) {
        Ok(source) => source,
        Err(error) => {
            eprintln!(
                "error: cannot read script `{path}`: {error}\nhelp: check the path; on WasmEdge the \
                 script's directory must be mapped, e.g. `--dir .:.`"
            );
            return ExitCode::from(USAGE_EXIT_CODE);
        }
    };
    wasock_js::run_script(&path, source, args.collect())
}
