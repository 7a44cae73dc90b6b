//! `wasock-js`: runs a JavaScript file on QuickJS (through rquickjs) with WasmEdge-style
//! socket modules, on wasock's single-threaded async runtime.
//!
//! Usage: `wasock-js SCRIPT.js [ARGS]...`, on WasmEdge as the reference docs run their
//! runtime: `wasmedge --dir .:. wasock-js.wasm script.js`. The script is evaluated as an ES
//! module when it has `import`/`export` (QuickJS's own detection), else as a classic
//! script; it may import `wasi_net`, `wasi_http`, `http` and files relative to it.
//! The script's arguments are `scriptArgs` (the script path first, as in QuickJS).
//!
//! The process ends when no promise, timer or socket operation is pending: exit code 0;
//! an uncaught error prints the JS stack and exits with 1; a script that cannot be read,
//! with 2.

mod bytes;
mod errors;
mod fetch;
mod globals;
mod wasi_http;
mod wasi_net;

use std::io::Write;
use std::process::ExitCode;

use rquickjs::loader::{BuiltinResolver, FileResolver, ModuleLoader, ScriptLoader};
use rquickjs::{AsyncContext, AsyncRuntime, CatchResultExt, CaughtError, Module};

/// Exit code when the script cannot be read (a usage error, as for a missing file in Node).
const USAGE_EXIT_CODE: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first().cloned() else {
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
    wasock::rt::block_on(run(path, source, args));
    let _ = std::io::stdout().flush();
    // Exit without tearing the JS heap down: nothing is left to run and QuickJS's
    // teardown would only spend time freeing memory the process gives back anyway.
    std::process::exit(0)
}

async fn run(path: String, source: Vec<u8>, args: Vec<String>) {
    let runtime = match AsyncRuntime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the JavaScript runtime: {error}");
            std::process::exit(errors::UNCAUGHT_EXIT_CODE);
        }
    };
    let resolver = (
        BuiltinResolver::default()
            .with_module("wasi_net")
            .with_module("wasi_http")
            .with_module("http"),
        FileResolver::default().with_path("."),
    );
    let loader = (
        ModuleLoader::default()
            .with_module("wasi_net", wasi_net::WasiNet)
            .with_module("wasi_http", wasi_http::WasiHttp)
            .with_module("http", fetch::HttpModule),
        ScriptLoader::default(),
    );
    runtime.set_loader(resolver, loader).await;
    runtime
        .set_host_promise_rejection_tracker(Some(Box::new(errors::track_rejection)))
        .await;
    let context = match AsyncContext::full(&runtime).await {
        Ok(context) => context,
        Err(error) => {
            eprintln!("error: cannot create a JavaScript context: {error}");
            std::process::exit(errors::UNCAUGHT_EXIT_CODE);
        }
    };

    context
        .with(|ctx| {
            let setup = globals::install(&ctx).and_then(|()| ctx.globals().set("scriptArgs", args));
            if let Err(error) = setup {
                errors::exit_uncaught(&ctx, error, "error: cannot set up globals:");
            }
            let is_module = is_module(&source);
            let outcome = if is_module {
                Module::declare(ctx.clone(), path.as_str(), source)
                    .and_then(|module| module.eval())
                    .map(|(_, promise)| promise)
                    .catch(&ctx)
                    .map(|promise| {
                        // A module that throws while evaluating rejects this promise at once.
                        if let Some(Err(error)) = promise.result::<rquickjs::Value>() {
                            errors::exit_uncaught(&ctx, error, "Uncaught");
                        }
                    })
            } else {
                let mut options = rquickjs::context::EvalOptions::default();
                options.filename = Some(path.clone());
                options.strict = false;
                ctx.eval_with_options::<(), _>(source, options).catch(&ctx)
            };
            if let Err(caught) = outcome {
                match caught {
                    CaughtError::Exception(exception) => {
                        errors::exit_with(&ctx, exception.into_value(), "Uncaught")
                    }
                    CaughtError::Value(value) => errors::exit_with(&ctx, value, "Uncaught"),
                    CaughtError::Error(error) => {
                        let _ = writeln!(std::io::stderr(), "Uncaught {error}");
                        std::process::exit(errors::UNCAUGHT_EXIT_CODE);
                    }
                }
            }
        })
        .await;
    runtime.idle().await;
}

/// Whether `source` is an ES module: a line that starts with an `import` or `export`
/// declaration (not `import(` or `import.meta`). Other scripts run as classic scripts
/// (sloppy mode, top-level `var`s on the global object). QuickJS's `JS_DetectModule`
/// answers whether the source *compiles* as a module, which almost every script does.
fn is_module(source: &[u8]) -> bool {
    let text = String::from_utf8_lossy(source);
    text.lines().any(|line| {
        let line = line.trim_start();
        let declares = |keyword: &str| {
            line.strip_prefix(keyword).is_some_and(|rest| {
                rest.starts_with(|c: char| c.is_whitespace() || matches!(c, '{' | '*' | '"' | '\''))
            })
        };
        declares("import") || declares("export")
    })
}
