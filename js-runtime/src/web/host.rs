//! The host functions behind the web and Node preludes, on one object (never a global: the
//! preludes receive it as an argument).
//!
//! - `now()` → ms (float) since the runtime started, monotonic (`performance.now`).
//! - `randomBytes(n)` → `ArrayBuffer` of `n` bytes from the system's CSPRNG (WASI
//!   `random_get`; `getrandom` natively); at most 65 536, as `crypto.getRandomValues` allows.
//! - `urlRecord(input, base?)` → WHATWG's URL parse of `input` (against `base`) as a
//!   `UrlRecord` (`get(index)` of its 11 components, `set(part, value)`; see
//!   [`super::url_record`]), or `null` when either is not a valid URL: what `new URL` keeps.
//! - `formParse(text)` / `formSerialize(pairs)`: `application/x-www-form-urlencoded`.
//! - `fetch(method, url, pairs, body, timeoutMs)` → `[promise, id]`: the promise of
//!   `[status, statusText, pairs, ArrayBuffer]` on wasock's client (a new connection each
//!   time; `timeoutMs` bounds the whole exchange, default 30 000); `abort(id)` makes it
//!   reject with `"aborted"` at once and drops the connection.
//! - `serve(host, port, dispatch, announce)` → `[address, port, close, reply]`: see
//!   [`crate::serve`].
//! - `write(fd, text)`: `text` to stdout (1) or stderr (2), flushed.
//! - `defer(job, argument)`: `job(argument)` as a microtask.
//! - `utf8Length(text)`: `text`'s length in UTF-8 (bytes).
//! - `streams()` → the exports of the vendored WHATWG Streams implementation
//!   (`vendor/web-streams-polyfill/`, evaluated anew at each call: the prelude calls it
//!   once, on first use of a stream).
//! - `extras()` → the function expression of `lazy.js` (the web globals evaluated on first
//!   use: crypto.subtle, Blob, File, FormData, the text stream classes).
//! - `digest`, `hmac`, `hmacVerify`: `crypto.subtle`'s hashing (see [`super::subtle`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use futures_util::future::{AbortHandle, Abortable};
use rquickjs::prelude::{Func, Opt};
use rquickjs::{ArrayBuffer, Ctx, Exception, Function, Object, Promise, Result, Value};
use wasock::http::{Method, Request};
use wasock::{Client, ClientConfig};

use crate::bytes::{array_buffer, bytes_of};
use crate::fields::header_map;

/// Most bytes `crypto.getRandomValues` fills at once (WebCrypto's QuotaExceededError limit).
const MAX_RANDOM_BYTES: usize = 65_536;

thread_local! {
    static START: Instant = Instant::now();
    static FETCHES: RefCell<HashMap<u32, AbortHandle>> = RefCell::new(HashMap::new());
    static NEXT_FETCH: Cell<u32> = const { Cell::new(1) };
}

/// The host object.
pub fn object<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    START.with(|_| ());
    let host = Object::new(ctx.clone())?;
    host.set("now", Func::from(now))?;
    host.set("randomBytes", Func::from(random_bytes))?;
    host.set("urlRecord", Func::from(super::url_record::url_record))?;
    host.set("formParse", Func::from(form_parse))?;
    host.set("formSerialize", Func::from(form_serialize))?;
    host.set("fetch", Func::from(fetch))?;
    host.set("abort", Func::from(abort))?;
    host.set("serve", Func::from(crate::serve::serve))?;
    host.set("write", Func::from(write))?;
    host.set("exit", Func::from(exit))?;
    host.set("defer", Func::from(defer))?;
    host.set("utf8Length", Func::from(utf8_length))?;
    host.set("streams", Func::from(streams))?;
    host.set("extras", Func::from(extras))?;
    super::subtle::install(&host)?;
    Ok(host)
}

/// `utf8Length(text)`: the length of `text` in UTF-8, in bytes, a lone surrogate counting
/// 3 (QuickJS's conversion writes one as 3 bytes, the length of the U+FFFD that encoders put
/// in its place). `Buffer.byteLength` without making the bytes.
fn utf8_length(text: rquickjs::String<'_>) -> Result<usize> {
    Ok(text.to_cstring()?.len())
}

/// `defer(job, argument)`: `job(argument)` as a microtask (QuickJS's job queue, the one
/// promise reactions use), without the promise and reaction `Promise.resolve().then` makes:
/// `queueMicrotask` is on every Node-style request's path. `job` must not throw (an
/// exception in a job reaches no script).
fn defer<'js>(job: Function<'js>, argument: Value<'js>) -> Result<()> {
    job.defer((argument,))
}

/// web-streams-polyfill 4.3.0's UMD bundle (MIT), wrapped so that it takes its CommonJS
/// branch: a function expression returning its exports.
const STREAMS: &str = concat!(
    "(function () { const exports = {}; const module = { exports };\n",
    include_str!("vendor/web-streams-polyfill/ponyfill.js"),
    "\nreturn exports })"
);

fn streams<'js>(ctx: Ctx<'js>) -> Result<Object<'js>> {
    let factory: rquickjs::Function = super::evaluate(&ctx, "wasock:web-streams", STREAMS)?;
    factory.call(())
}

/// `lazy.js`: the web globals evaluated on first use (a function expression).
const LAZY: &str = include_str!("lazy.js");

fn extras<'js>(ctx: Ctx<'js>) -> Result<rquickjs::Function<'js>> {
    super::evaluate(&ctx, "wasock:web-lazy", LAZY)
}

fn now() -> f64 {
    START.with(|start| start.elapsed().as_secs_f64() * 1000.0)
}

fn random_bytes<'js>(ctx: Ctx<'js>, count: usize) -> Result<ArrayBuffer<'js>> {
    if count > MAX_RANDOM_BYTES {
        return Err(Exception::throw_range(
            &ctx,
            &format!("crypto.getRandomValues: {count} bytes asked, at most {MAX_RANDOM_BYTES} at once"),
        ));
    }
    let mut bytes = vec![0u8; count];
    getrandom::getrandom(&mut bytes).map_err(|error| {
        Exception::throw_message(&ctx, &format!("crypto: the system's random source failed: {error}"))
    })?;
    array_buffer(&ctx, bytes)
}

fn form_parse(text: String) -> Vec<Vec<String>> {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(name, value)| vec![name.into_owned(), value.into_owned()])
        .collect()
}

fn form_serialize(pairs: Vec<Vec<String>>) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for pair in &pairs {
        if let [name, value] = pair.as_slice() {
            serializer.append_pair(name, value);
        }
    }
    serializer.finish()
}

/// `fetch(method, url, pairs, body, timeoutMs)`; errors reject with a `TypeError`
/// ("fetch failed" in Node) naming the method, URL and cause.
fn fetch<'js>(
    ctx: Ctx<'js>,
    method: String,
    url: String,
    pairs: Vec<Vec<String>>,
    body: Opt<Value<'js>>,
    timeout_ms: Opt<Value<'js>>,
) -> Result<Vec<Value<'js>>> {
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| {
        Exception::throw_type(&ctx, &format!("fetch {url}: `{method}` is not a valid method"))
    })?;
    let what = format!("fetch {method} {url}");
    let fields: Vec<(String, String)> = pairs
        .into_iter()
        .filter_map(|pair| match <[String; 2]>::try_from(pair) {
            Ok([name, value]) => Some((name, value)),
            Err(_) => None,
        })
        .collect();
    let mut request = Request::new(match body.0 {
        Some(value) if !value.is_undefined() && !value.is_null() => {
            bytes_of(&ctx, &value, &format!("{what}: body"))?
        }
        _ => Vec::new(),
    });
    *request.headers_mut() = header_map(&ctx, &fields, &what)?;
    *request.method_mut() = method;
    *request.uri_mut() = url
        .parse()
        .map_err(|_| Exception::throw_type(&ctx, &format!("fetch: `{url}` is not a valid URL")))?;
    let mut config = ClientConfig::default();
    if let Some(ms) = timeout_ms.0.and_then(|ms| ms.as_number()).filter(|ms| ms.is_finite() && *ms > 0.0) {
        config.timeout = Duration::from_secs_f64(ms / 1000.0);
    }
    let client = Client::new(config);
    let id = NEXT_FETCH.with(|next| {
        let id = next.get();
        next.set(id.wrapping_add(1).max(1));
        id
    });
    let (handle, registration) = AbortHandle::new_pair();
    FETCHES.with(|fetches| fetches.borrow_mut().insert(id, handle));
    let future_ctx = ctx.clone();
    let promise = Promise::wrap_future(&ctx, async move {
        let ctx = future_ctx;
        let outcome = Abortable::new(client.fetch(request), registration).await;
        FETCHES.with(|fetches| fetches.borrow_mut().remove(&id));
        match outcome {
            Err(_aborted) => Err(Exception::throw_message(&ctx, "aborted")),
            Ok(Err(error)) => Err(Exception::throw_type(&ctx, &format!("{what}: {error}"))),
            Ok(Ok(response)) => {
                let (parts, body) = response.into_parts();
                let pairs = crate::fields::field_pairs(&parts.headers);
                let values: Vec<Value> = vec![
                    Value::new_int(ctx.clone(), i32::from(parts.status.as_u16())),
                    rquickjs::String::from_str(
                        ctx.clone(),
                        parts.status.canonical_reason().unwrap_or(""),
                    )?
                    .into_value(),
                    rquickjs::IntoJs::into_js(pairs, &ctx)?,
                    array_buffer(&ctx, body)?.into_value(),
                ];
                Ok(values)
            }
        }
    })?;
    Ok(vec![promise.into_value(), Value::new_int(ctx, id as i32)])
}

/// Aborts the fetch `id`; unknown (finished) ids are ignored.
fn abort(id: f64) {
    if let Some(handle) = FETCHES.with(|fetches| fetches.borrow_mut().remove(&(id as u32))) {
        handle.abort();
    }
}

fn write(fd: i32, text: String) {
    if fd == 2 {
        let _ = std::io::stderr().write_all(text.as_bytes());
    } else {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }
}

/// `exit(code)`: stdout flushed, the process ends.
fn exit(code: i32) {
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

