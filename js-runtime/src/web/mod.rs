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
//! client (abortable), serving through wasock's async server (`crate::serve`), and
//! `crypto.subtle`'s hashing (`subtle.rs`: RustCrypto's `sha1`, `sha2`, `hmac`).
//! `crypto.subtle`'s keys and errors, `Blob`, `File`, `FormData` (with multipart/form-data,
//! RFC 7578) and the text stream classes are JavaScript in `lazy.js`, evaluated on first use.
//!
//! WHATWG Streams (`ReadableStream`, `WritableStream`, `TransformStream`, …) are the vendored
//! web-streams-polyfill 4.3.0 (MIT, `vendor/web-streams-polyfill/`), evaluated on first use
//! (the globals are accessors until then) so that start-up does not pay for them. Bodies are
//! still whole on the wire: a stream given as a body is read to its end before the request or
//! response goes out, and `body` streams bytes already received.

mod host;
mod url_record;
mod subtle;

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
