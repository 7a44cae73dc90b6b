//! `wasock-js`: JavaScript on QuickJS (through rquickjs) with WasmEdge-style socket modules,
//! on wasock's single-threaded async runtime. The `wasock-js` binary runs a script file
//! (`wasmedge --dir .:. wasock-js.wasm script.js`); apps made from the `js-*` templates embed
//! their script with [`run_embedded`].
//!
//! A script is evaluated as an ES module when a line starts with `import`/`export`, else as
//! a classic script; it may import `wasi_net`, `wasi_http`, `http` and (run from a file)
//! files relative to the working directory. Its arguments are `scriptArgs` (the script's
//! name first, as in QuickJS) and `process.argv`.
//!
//! The process ends when no promise, timer or socket operation is pending: exit code 0;
//! an uncaught error prints the JS stack and exits with 1.

mod bytes;
mod errors;
mod fetch;
mod fields;
mod globals;
mod node;
mod serve;
mod web;
mod wasi_http;
mod wasi_net;

use std::io::Write;

use rquickjs::loader::{BuiltinResolver, FileResolver, ModuleLoader, ScriptLoader};
use rquickjs::{AsyncContext, AsyncRuntime, CatchResultExt, CaughtError, Module};

/// Exit code of a script that ended with an uncaught error.
pub use errors::UNCAUGHT_EXIT_CODE;

/// Runs `source` (named `name` in stacks and `scriptArgs[0]`) with `args` after it, until
/// nothing is pending, then exits the process: 0, or 1 after an uncaught error.
pub fn run_script(name: &str, source: Vec<u8>, args: Vec<String>) -> ! {
    let mut script_args = vec![name.to_string()];
    script_args.extend(args);
    wasock::rt::block_on(run(name.to_string(), source, script_args));
    let _ = std::io::stdout().flush();
    // Exit without tearing the JS heap down: nothing is left to run and QuickJS's
    // teardown would only spend time freeing memory the process gives back anyway.
    std::process::exit(0)
}

/// The entry point of an app that embeds its script: `main.rs` is
/// `fn main() { wasock_js::run_embedded("main.js", include_bytes!("main.js")) }`.
/// The app's own arguments follow the name in `scriptArgs`.
pub fn run_embedded(name: &str, source: &[u8]) -> ! {
    run_script(name, source.to_vec(), std::env::args().skip(1).collect())
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
        node::NodeResolver,
        FileResolver::default().with_path("."),
    );
    let loader = (
        ModuleLoader::default()
            .with_module("wasi_net", wasi_net::WasiNet)
            .with_module("wasi_http", wasi_http::WasiHttp)
            .with_module("http", fetch::HttpModule),
        node::NodeLoader,
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
            let setup = globals::install(&ctx)
                .and_then(|()| web::install(&ctx))
                .and_then(|()| node::install(&ctx))
                .and_then(|()| ctx.globals().set("scriptArgs", args));
            if let Err(error) = setup {
                errors::exit_uncaught(&ctx, error, "error: cannot set up globals:");
            }
            let is_module = is_module(&source);
            let outcome = if is_module {
                Module::declare(ctx.clone(), path.as_str(), source)
                    .and_then(|module| module.eval())
                    .catch(&ctx)
                    .map(|(module, promise)| {
                        // A module that throws while evaluating rejects this promise at once.
                        if let Some(Err(error)) = promise.result::<rquickjs::Value>() {
                            errors::exit_uncaught(&ctx, error, "Uncaught");
                        }
                        serve::serve_default_export(&ctx, module, promise);
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
