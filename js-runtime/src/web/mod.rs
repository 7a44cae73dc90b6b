//! The web-standard globals (WinterCG's common minimum, as far as a socket runtime needs):
//! `fetch`, `Request`, `Response`, `Headers`, `URL`, `URLSearchParams`, `Event`,
//! `EventTarget`, `AbortController`, `AbortSignal`, `DOMException`, `setInterval`,
//! `queueMicrotask`, `structuredClone`, `atob`/`btoa`, `crypto`, `performance` and a
//! `console` that formats as Node's does (`%s %d %i %f %o %O %j %c`, objects inspected).
//!
//! The classes are JavaScript (`prelude.js`, evaluated once per context with the host
//! functions of `host.rs`); what needs the host is Rust: URL parsing by the `url` crate
//! (WHATWG's URL Standard, its setters through `url::quirks`), random bytes from WASI's
//! `random_get` (`getrandom`), the monotonic clock, the HTTP exchange of `fetch` on wasock's
//! client (abortable), and serving through wasock's async server (`crate::serve`).
//! Streaming bodies (`ReadableStream`) are not supported: `body` throws a `TypeError` that
//! names the methods to use instead.

mod host;

use rquickjs::{Ctx, Function, Object, Result};

/// The prelude: a function expression taking the host object. It keeps its internals
/// (`serveFetch`, `inspect`, `format`, the host object, …) for Rust and the Node prelude
/// on the global object under `Symbol.for('wasock.internals')`, not enumerable.
const PRELUDE: &str = include_str!("prelude.js");

/// Installs the web globals on `ctx` (after [`crate::globals::install`], whose `setTimeout`,
/// `TextEncoder` and `process` the prelude uses).
pub fn install(ctx: &Ctx<'_>) -> Result<()> {
    let host = host::object(ctx)?;
    let prelude: Function = evaluate(ctx, "wasock:web", PRELUDE)?;
    prelude.call((host,))
}

/// Evaluates a prelude's source (a function expression) named `name` in stacks.
pub(crate) fn evaluate<'js, T: rquickjs::FromJs<'js>>(ctx: &Ctx<'js>, name: &str, source: &str) -> Result<T> {
    let mut options = rquickjs::context::EvalOptions::default();
    options.filename = Some(name.into());
    options.strict = true;
    ctx.eval_with_options(source, options)
}

/// The web prelude's internals (after [`install`]).
pub(crate) fn internals<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    ctx.eval("globalThis[Symbol.for('wasock.internals')]")
}
