//! `wasock-js`: JavaScript on QuickJS (through rquickjs) with WasmEdge-style socket modules,
//! on wasock's single-threaded async runtime. The `wasock-js` binary runs a script file
//! (`wasmedge --dir .:. wasock-js.wasm script.js`); JS projects embed their files as a
//! bundle and run with [`run_bundle`] (older apps embed one script with [`run_embedded`]).
//!
//! A script runs as an ES module when it uses module syntax (import/export declarations,
//! `import.meta`, top-level `await`: it does not compile as a classic script but does as a
//! module, as Node detects it), else as a classic script. Modules import the builtins
//! `wasi_net`, `wasi_http` and `http`, files, JSON and npm packages (`modules`, resolved
//! as Node does by `resolve`); CommonJS files and classic scripts get `require`. Its
//! arguments are `scriptArgs` (the script's name first, as in QuickJS) and `process.argv`.
//!
//! The process ends when no promise, timer or socket operation is pending: exit code 0;
//! an uncaught error prints the JS stack and exits with 1.
//!
//! Without the default feature `engine`, only `resolve` and `bundle` are built: what a JS
//! project's build script needs, natively.

pub mod bundle;
pub mod resolve;

#[cfg(feature = "engine")]
mod bytes;
#[cfg(feature = "engine")]
mod errors;
#[cfg(feature = "engine")]
mod fetch;
#[cfg(feature = "engine")]
mod fields;
#[cfg(feature = "engine")]
mod globals;
#[cfg(feature = "engine")]
mod modules;
#[cfg(feature = "engine")]
mod node;
#[cfg(feature = "engine")]
mod serve;
#[cfg(feature = "engine")]
mod wasi_http;
#[cfg(feature = "engine")]
mod wasi_net;
#[cfg(feature = "engine")]
mod web;

#[cfg(feature = "engine")]
pub use engine::*;

#[cfg(feature = "engine")]
mod engine {
    use std::io::Write;

    use rquickjs::loader::ModuleLoader;
    use rquickjs::{AsyncContext, AsyncRuntime, CatchResultExt, CaughtError, Module};

    use crate::modules::{self, AnyFiles, FileLoader, ModuleResolver};
    use crate::{errors, fetch, globals, node, resolve, serve, wasi_http, wasi_net, web};

    /// Exit code of a script that ended with an uncaught error.
    pub use errors::UNCAUGHT_EXIT_CODE;

    /// Runs `source` (named `name` in stacks and `scriptArgs[0]`) with `args` after it, until
    /// nothing is pending, then exits the process: 0, or 1 after an uncaught error. Its
    /// imports are read from the disk, relative to the working directory.
    pub fn run_script(name: &str, source: Vec<u8>, args: Vec<String>) -> ! {
        run_with(name, source, Box::new(resolve::Disk), args)
    }

    fn run_with(name: &str, source: Vec<u8>, files: AnyFiles, args: Vec<String>) -> ! {
        let mut script_args = vec![name.to_string()];
        script_args.extend(args);
        wasock::rt::block_on(run(name.to_string(), source, files, script_args));
        let _ = std::io::stdout().flush();
        // Exit without tearing the JS heap down: nothing is left to run and QuickJS's
        // teardown would only spend time freeing memory the process gives back anyway.
        std::process::exit(0)
    }

    /// The entry point of an app that embeds one script: `main.rs` is
    /// `fn main() { wasock_js::run_embedded("main.js", include_bytes!("main.js")) }`.
    /// The app's own arguments follow the name in `scriptArgs`.
    pub fn run_embedded(name: &str, source: &[u8]) -> ! {
        run_script(name, source.to_vec(), std::env::args().skip(1).collect())
    }

    /// The entry point of a JS project: `main.rs` is
    /// `fn main() { wasock_js::run_bundle(include_bytes!(concat!(env!("OUT_DIR"), "/app.bundle"))) }`
    /// over the bundle its build script wrote (`bundle::build_script`). Every import is read
    /// from the bundle; the app's own arguments follow the entry's path in `scriptArgs`.
    pub fn run_bundle(bytes: &'static [u8]) -> ! {
        let bundle = match crate::bundle::Bundle::decode(bytes) {
            Ok(bundle) => bundle,
            Err(error) => {
                eprintln!("error: the app's embedded files are unreadable: {error}");
                std::process::exit(errors::UNCAUGHT_EXIT_CODE);
            }
        };
        let entry = bundle.entry.clone();
        let Some(source) = resolve::Files::read(&bundle, &entry).map(|s| s.into_owned()) else {
            eprintln!("error: the app's bundle has no entry `{entry}`\nhelp: rebuild the project");
            std::process::exit(errors::UNCAUGHT_EXIT_CODE);
        };
        run_with(
            &entry,
            source,
            Box::new(bundle),
            std::env::args().skip(1).collect(),
        )
    }

    /// The native modules scripts import by name (Node's, `node:events`…, are added from
    /// `node::MODULES`; `node:http` is `http`).
    const BUILTINS: &[&str] = &["wasi_net", "wasi_http", "http"];

    async fn run(name: String, source: Vec<u8>, files: AnyFiles, args: Vec<String>) {
        let runtime = match AsyncRuntime::new() {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("error: cannot start the JavaScript runtime: {error}");
                std::process::exit(errors::UNCAUGHT_EXIT_CODE);
            }
        };
        // Paths are normalized (`./app.js` is `app.js`), so each file is one module.
        let path = resolve::normalize(&name);
        let builtins = BUILTINS
            .iter()
            .map(|name| name.to_string())
            .chain(node::MODULES.iter().map(|(name, _)| format!("node:{name}")))
            .collect();
        let modules = modules::Modules::new(files, builtins);
        let native = (
            ModuleLoader::default()
                .with_module("wasi_net", wasi_net::WasiNet)
                .with_module("wasi_http", wasi_http::WasiHttp)
                .with_module("http", fetch::HttpModule),
            node::NodeLoader,
        );
        runtime
            .set_loader(
                ModuleResolver(modules.clone()),
                FileLoader {
                    modules: modules.clone(),
                    native: Box::new(native),
                },
            )
            .await;
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
                    .and_then(|()| ctx.globals().set("scriptArgs", args))
                    .and_then(|()| modules::install(&ctx, &modules, &path));
                if let Err(error) = setup {
                    errors::exit_uncaught(&ctx, error, "error: cannot set up globals:");
                }
                let outcome = if modules::compiles_as_script(&ctx, &path, &source) {
                    let mut options = rquickjs::context::EvalOptions::default();
                    options.filename = Some(path.clone());
                    options.strict = false;
                    ctx.eval_with_options::<(), _>(source, options).catch(&ctx)
                } else {
                    Module::declare(ctx.clone(), path.as_str(), source)
                        .and_then(|module| {
                            modules::set_meta(&module, &path)?;
                            module.eval()
                        })
                        .catch(&ctx)
                        .map(|(module, promise)| {
                            // A module that throws while evaluating rejects this promise at once.
                            if let Some(Err(error)) = promise.result::<rquickjs::Value>() {
                                errors::exit_uncaught(&ctx, error, "Uncaught");
                            }
                            serve::serve_default_export(&ctx, module, promise);
                        })
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
}
