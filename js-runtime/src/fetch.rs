//! Module `http` (also `node:http`): Node's `http` API (`createServer`, `request`, `get`, …,
//! from `crate::node`; the module object is the default export) and, kept from
//! wasmedge-quickjs, `fetch(url[, { method, headers, body, timeout }])` → `Promise<response>`
//! on wasock's async client (keep-alive per host, chunked and length-framed bodies, its
//! response limits).
//!
//! The response has `status`, `statusText`, `ok`, `headers` (an object, lowercase names),
//! `url`, and `text()`, `json()`, `arrayBuffer()` (promises, as in the web's fetch). `https://`
//! runs TLS inside the module (wasock's `tls` feature; `SSL_CERT_FILE` to trust a private
//! CA). `timeout` (ms,
//! default 30 000) bounds the whole exchange. Failures reject with an `Error` naming the
//! method and URL: `fetch GET http://127.0.0.1:9/: …`.

use std::time::Duration;

use rquickjs::class::Trace;
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::prelude::Opt;
use rquickjs::{Class, Ctx, Exception, Function, JsLifetime, Object, Promise, Result, Value};
use wasock::http::{Method, Request};
use wasock::{Client, ClientConfig};

use crate::bytes::{array_buffer, bytes_of};
use crate::fields::{fields_from_object, fields_object, fields_of, header_map, Fields};

/// The module definition registered as `http`.
pub struct HttpModule;

impl ModuleDef for HttpModule {
    fn declare(decl: &Declarations) -> Result<()> {
        decl.declare("fetch")?;
        decl.declare("FetchResponse")?;
        decl.declare("default")?;
        for name in crate::node::HTTP_EXPORTS {
            decl.declare(*name)?;
        }
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        exports.export(
            "fetch",
            Function::new(ctx.clone(), fetch)?.with_name("fetch")?,
        )?;
        exports.export(
            "FetchResponse",
            Class::<FetchResponse>::create_constructor(ctx)?,
        )?;
        let node = crate::node::module(ctx, "http")?;
        for name in crate::node::HTTP_EXPORTS {
            exports.export(*name, node.get::<_, Value>(*name)?)?;
        }
        exports.export("default", node)?;
        Ok(())
    }
}

/// Builds the request from `url` and `options`; a `TypeError` naming what is wrong.
fn build_request<'js>(
    ctx: &Ctx<'js>,
    url: &str,
    options: Option<Object<'js>>,
) -> Result<(Request<Vec<u8>>, Option<u64>)> {
    let mut method = Method::GET;
    let mut body = Vec::new();
    let mut timeout_ms = None;
    let mut request = Request::new(Vec::new());
    if let Some(options) = &options {
        if let Some(name) = options.get::<_, Option<String>>("method")? {
            method = Method::from_bytes(name.to_ascii_uppercase().as_bytes()).map_err(|_| {
                Exception::throw_type(ctx, &format!("fetch {url}: `{name}` is not a valid method"))
            })?;
        }
        let value: Value = options.get("body")?;
        if !value.is_undefined() && !value.is_null() {
            body = bytes_of(ctx, &value, &format!("fetch {url}: body"))?;
        }
        if let Some(headers) = options.get::<_, Option<Object>>("headers")? {
            let fields = fields_from_object(headers)?;
            *request.headers_mut() = header_map(ctx, &fields, &format!("fetch {url}"))?;
        }
        let timeout: Value = options.get("timeout")?;
        timeout_ms = crate::wasi_net::timeout_arg(ctx, Some(timeout), &format!("fetch {url}"))?;
    }
    let uri: wasock::http::Uri = url
        .parse()
        .map_err(|_| Exception::throw_type(ctx, &format!("fetch: `{url}` is not a valid URL")))?;
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.body_mut() = body;
    Ok((request, timeout_ms))
}

/// `fetch(url[, options])`.
pub fn fetch<'js>(ctx: Ctx<'js>, url: String, options: Opt<Object<'js>>) -> Result<Promise<'js>> {
    let (request, timeout_ms) = build_request(&ctx, &url, options.0)?;
    let what = format!("fetch {} {url}", request.method());
    let mut config = ClientConfig::default();
    if let Some(ms) = timeout_ms {
        config.timeout = Duration::from_millis(ms);
    }
    let client = Client::new(config);
    let future_ctx = ctx.clone();
    Promise::wrap_future(&ctx, async move {
        let ctx = future_ctx;
        match client.fetch(request).await {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                Class::instance(
                    ctx,
                    FetchResponse {
                        status: parts.status.as_u16(),
                        status_text: parts.status.canonical_reason().unwrap_or("").to_string(),
                        headers: fields_of(&parts.headers),
                        body,
                        url,
                    },
                )
            }
            Err(error) => Err(Exception::throw_message(&ctx, &format!("{what}: {error}"))),
        }
    })
}

/// What `fetch` resolves to.
#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct FetchResponse {
    #[qjs(skip_trace)]
    status: u16,
    #[qjs(skip_trace)]
    status_text: String,
    #[qjs(skip_trace)]
    headers: Fields,
    #[qjs(skip_trace)]
    body: Vec<u8>,
    #[qjs(skip_trace)]
    url: String,
}

/// A promise already fulfilled with `value`.
fn resolved<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<Promise<'js>> {
    let (promise, resolve, _reject) = ctx.promise()?;
    resolve.call::<_, ()>((value,))?;
    Ok(promise)
}

#[rquickjs::methods]
impl FetchResponse {
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'_>) -> Result<Self> {
        Err(Exception::throw_type(
            &ctx,
            "FetchResponse cannot be constructed: it comes from fetch()",
        ))
    }

    #[qjs(get)]
    pub fn status(&self) -> u16 {
        self.status
    }

    #[qjs(get, rename = "statusText")]
    pub fn status_text(&self) -> String {
        self.status_text.clone()
    }

    /// Status 200–299.
    #[qjs(get)]
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    #[qjs(get)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The fields as an object; repeated fields joined with `, `.
    #[qjs(get)]
    pub fn headers<'js>(&self, ctx: Ctx<'js>) -> Result<Object<'js>> {
        fields_object(&ctx, &self.headers)
    }

    /// The body decoded as UTF-8 (invalid sequences become U+FFFD).
    pub fn text<'js>(&self, ctx: Ctx<'js>) -> Result<Promise<'js>> {
        let text = String::from_utf8_lossy(&self.body).into_owned();
        let value = rquickjs::String::from_str(ctx.clone(), &text)?.into_value();
        resolved(&ctx, value)
    }

    /// The body parsed as JSON; rejects with a `SyntaxError` when it is not JSON.
    pub fn json<'js>(&self, ctx: Ctx<'js>) -> Result<Promise<'js>> {
        let text = String::from_utf8_lossy(&self.body).into_owned();
        match ctx.json_parse(text) {
            Ok(value) => resolved(&ctx, value),
            Err(_) => {
                let error = ctx.catch();
                let (promise, _resolve, reject) = ctx.promise()?;
                reject.call::<_, ()>((error,))?;
                Ok(promise)
            }
        }
    }

    /// The body as an `ArrayBuffer`.
    #[qjs(rename = "arrayBuffer")]
    pub fn array_buffer<'js>(&self, ctx: Ctx<'js>) -> Result<Promise<'js>> {
        let buffer = array_buffer(&ctx, self.body.clone())?;
        resolved(&ctx, buffer.into_value())
    }
}
