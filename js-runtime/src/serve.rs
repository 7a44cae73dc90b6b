//! Serving JavaScript handlers through wasock's async server ([`PollServer::serve_async`]),
//! so JS apps get the HTTP behaviour of Rust apps: keep-alive, pipelining, HEAD answered
//! without a body, `Expect: 100-continue`, the header read timeout (408), the limits
//! (400/413/431).
//!
//! The server's handler futures must be `'static` while JS values live for `'js`, so the two
//! meet over channels: each request goes, with a one-shot sender for its answer, to one JS
//! task that keeps the sender under an id and calls the script's `dispatch(…, id)`; the
//! script answers whenever it is ready with `reply(id, status, pairs, body)`. A slow handler
//! (one awaiting an upstream, say) holds only its own connection. The `fetch` handler and Node's
//! `http.createServer` are both built on this in the preludes (`web/prelude.js`,
//! `node/prelude.js`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;

use futures_channel::{mpsc, oneshot};
use futures_util::StreamExt;
use rquickjs::module::Evaluated;
use rquickjs::promise::PromiseState;
use rquickjs::{Ctx, Exception, Function, Module, Promise, Result, Value};
use wasock::http::{header, HeaderMap, Request, Response, StatusCode, Uri};
use wasock::{PollServer, ServerConfig};

use crate::bytes::{array_buffer, bytes_of};
use crate::fields::header_map;

type Exchange = (Request<Vec<u8>>, oneshot::Sender<Response<Vec<u8>>>);

/// `serve(host, port, dispatch, announce)` → `[address, port, close, reply]` once
/// listening: binds `host:port` (port 0 picks a free one), prints `listening on http://…/`
/// when `announce` (as [`wasock::announce`] does for Rust apps), and calls
/// `dispatch(method, target, pairs, body: ArrayBuffer, url, id)` for every request (see
/// [`call`]). The script answers request `id` with `reply(id, status, pairs, body)` (body a
/// string, `ArrayBuffer`, typed array or null), at once or later: a slow handler holds only
/// its own connection. `close()` stops accepting; open connections finish (wasock's
/// shutdown, 5 s grace), then the server's tasks end and no longer keep the script alive.
///
/// Replying through one host function, rather than awaiting the promise of each dispatch in
/// a task of its own, spares every request a task and two promise callbacks.
///
/// Errors: an `Error` `listen on HOST:PORT: …` when the address cannot be bound. A dispatch
/// that throws, or a reply that is not a response, is answered with 500 and one line on
/// stderr; a reply for an unknown or answered `id` does nothing.
pub fn serve<'js>(
    ctx: Ctx<'js>,
    host: String,
    port: u16,
    dispatch: Function<'js>,
    announce: bool,
) -> Result<Vec<Value<'js>>> {
    let server = PollServer::bind((host.as_str(), port), ServerConfig::default())
        .and_then(|server| server.local_addr().map(|addr| (server, addr)));
    let (server, addr) = server.map_err(|error| {
        Exception::throw_message(&ctx, &format!("listen on {host}:{port}: {error}"))
    })?;
    if announce {
        let _ = wasock::announce(addr);
    }
    let shutdown = server.shutdown_handle();
    let close = Function::new(ctx.clone(), move || shutdown.shutdown())?.with_name("close")?;
    let (sender, mut requests) = mpsc::unbounded::<Exchange>();
    let handler = move |request: Request<Vec<u8>>| {
        let sender = sender.clone();
        async move {
            let (reply, answer) = oneshot::channel();
            if sender.unbounded_send((request, reply)).is_err() {
                return internal_error();
            }
            answer.await.unwrap_or_else(|_| internal_error())
        }
    };
    ctx.spawn(async move {
        if let Err(error) = server.serve_async(handler).await {
            let _ = writeln!(std::io::stderr(), "error: serving on {addr}: {error}");
        }
    });
    let local = match addr {
        std::net::SocketAddr::V4(v4) if v4.ip().is_unspecified() => format!("127.0.0.1:{}", v4.port()),
        addr => addr.to_string(),
    };
    // The answers still to give, by request id; dropping one answers 500.
    let waiting: Rc<RefCell<HashMap<u32, Reply>>> = Rc::default();
    let replies = waiting.clone();
    let reply = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, id: u32, status: Value<'js>, pairs: Value<'js>, body: Value<'js>| {
            if let Some(sender) = replies.borrow_mut().remove(&id) {
                let _ = sender.send(response_of(&ctx, status, pairs, body));
            }
        },
    )?
    .with_name("reply")?;
    let task_ctx = ctx.clone();
    ctx.spawn(async move {
        let ctx = task_ctx;
        let mut next_id: u32 = 0;
        while let Some((request, reply)) = requests.next().await {
            let id = next_id;
            next_id = next_id.wrapping_add(1);
            waiting.borrow_mut().insert(id, reply);
            if let Err(error) = call(&ctx, &dispatch, &local, request, id) {
                report(&ctx, error);
                if let Some(reply) = waiting.borrow_mut().remove(&id) {
                    let _ = reply.send(internal_error());
                }
            }
        }
    });
    let address = rquickjs::String::from_str(ctx.clone(), &addr.ip().to_string())?;
    Ok(vec![
        address.into_value(),
        Value::new_int(ctx, i32::from(addr.port())),
        close.into_value(),
        reply.into_value(),
    ])
}

type Reply = oneshot::Sender<Response<Vec<u8>>>;

/// Starts `dispatch` on one request: `dispatch(method, target, pairs, body, url, id)`,
/// `url` being the request's full URL as WHATWG's parser serializes it, or `null` when the
/// parts make no valid URL (the prelude then says why). What it returns is not used.
fn call<'js>(
    ctx: &Ctx<'js>,
    dispatch: &Function<'js>,
    local: &str,
    request: Request<Vec<u8>>,
    id: u32,
) -> Result<()> {
    let (parts, body) = request.into_parts();
    let pairs = crate::fields::field_pairs(&parts.headers);
    let target = parts
        .uri
        .path_and_query()
        .map(|target| target.as_str().to_string())
        .unwrap_or_else(|| parts.uri.to_string());
    let url = request_url(&parts.uri, &parts.headers, &target, local);
    let body = array_buffer(ctx, body)?;
    dispatch.call::<_, Value>((parts.method.as_str().to_string(), target, pairs, body, url, id))?;
    Ok(())
}

/// The URL a fetch handler's `Request` carries: an absolute-form target as sent, else
/// `http://` + the Host field (else `local`, the address served on) + the target, parsed
/// and serialized by the `url` crate (WHATWG URL), as Deno and Bun build `request.url`.
/// Done here because the same parse in the prelude costs QuickJS several µs a request.
fn request_url(uri: &Uri, headers: &HeaderMap, target: &str, local: &str) -> Option<String> {
    let text = if uri.scheme().is_some() {
        uri.to_string()
    } else {
        let host = match headers.get(header::HOST) {
            Some(host) => host.to_str().ok()?,
            None => local,
        };
        let slash = if target.starts_with('/') { "" } else { "/" };
        format!("http://{host}{slash}{target}")
    };
    // A Host with userinfo (`a@b`) makes a URL with credentials, which a Request may not
    // have: the prelude's checked path then says so (the handler answers 500).
    url::Url::parse(&text)
        .ok()
        .filter(|url| url.username().is_empty() && url.password().is_none())
        .map(String::from)
}

/// The response for a `reply(id, status, pairs, body)`.
fn response_of<'js>(ctx: &Ctx<'js>, status: Value<'js>, pairs: Value<'js>, body: Value<'js>) -> Response<Vec<u8>> {
    let built = (|| {
        let status: u16 = rquickjs::FromJs::from_js(ctx, status)?;
        let pairs: Vec<Vec<String>> = rquickjs::FromJs::from_js(ctx, pairs)?;
        let status = StatusCode::from_u16(status).map_err(|_| {
            Exception::throw_range(ctx, &format!("the response status {status} is not 200 to 599"))
        })?;
        let fields: Vec<(String, String)> = pairs
            .into_iter()
            .filter_map(|pair| <[String; 2]>::try_from(pair).ok().map(|[n, v]| (n, v)))
            .collect();
        let headers = header_map(ctx, &fields, "response")?;
        let body = if body.is_undefined() || body.is_null() {
            Vec::new()
        } else {
            bytes_of(ctx, &body, "response body")?
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(response)
    })();
    built.unwrap_or_else(|error| {
        report(ctx, error);
        internal_error()
    })
}

/// One line on stderr for a handler's failure (the error's first line of `describe`).
fn report<'js>(ctx: &Ctx<'js>, error: rquickjs::Error) {
    let text = if error.is_exception() {
        crate::errors::describe(ctx, ctx.catch())
    } else {
        error.to_string()
    };
    let first = text.lines().next().unwrap_or_default();
    let _ = writeln!(std::io::stderr(), "error: handler failed: {first}");
}

fn internal_error() -> Response<Vec<u8>> {
    let mut response = Response::new(b"Internal Server Error".to_vec());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// After a module's evaluation (`evaluated`, the promise `Module::eval` gave): when its
/// default export has a `fetch` method (the shape Deno, Bun and Workers serve), serves it
/// on `PORT` (the web prelude's `serveFetch`). A failure to listen is an uncaught error.
pub fn serve_default_export<'js>(
    ctx: &Ctx<'js>,
    module: Module<'js, Evaluated>,
    evaluated: Promise<'js>,
) {
    let serve = move |ctx: &Ctx<'js>| -> Result<()> {
        let namespace = module.namespace()?;
        let default: Value = namespace.get("default")?;
        let Some(handler) = default.as_object() else {
            return Ok(());
        };
        if !handler.get::<_, Value>("fetch")?.is_function() {
            return Ok(());
        }
        let serve_fetch: Function = crate::web::internals(ctx)?.get("serveFetch")?;
        serve_fetch.call::<_, Value>((default,))?;
        Ok(())
    };
    if evaluated.state() == PromiseState::Resolved {
        if let Err(error) = serve(ctx) {
            crate::errors::exit_uncaught(ctx, error, "Uncaught");
        }
        return;
    }
    let task_ctx = ctx.clone();
    ctx.spawn(async move {
        let ctx = task_ctx;
        match evaluated.into_future::<Value>().await {
            Ok(_) => {
                if let Err(error) = serve(&ctx) {
                    crate::errors::exit_uncaught(&ctx, error, "Uncaught");
                }
            }
            // Awaiting the evaluation handled its rejection, so the rejection tracker will
            // not report it: say what it would have said (a top-level `await` that threw).
            Err(error) => crate::errors::exit_uncaught(&ctx, error, "Uncaught (in promise)"),
        }
    });
}
