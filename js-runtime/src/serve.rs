//! Serving JavaScript handlers through wasock's async server ([`PollServer::serve_async`]),
//! so JS apps get the HTTP behaviour of Rust apps: keep-alive, pipelining, HEAD answered
//! without a body, `Expect: 100-continue`, the header read timeout (408), the limits
//! (400/413/431).
//!
//! The server's handler futures must be `'static` while JS values live for `'js`, so the two
//! meet over channels: each request goes, with a one-shot sender for its answer, to one JS
//! task that calls the script's `dispatch(method, target, pairs, body)` and spawns a task per
//! request awaiting the promise it returns (`[status, pairs, body]`). A slow handler (one
//! awaiting an upstream, say) holds only its own connection. The `fetch` handler and Node's
//! `http.createServer` are both built on this in the preludes (`web/prelude.js`,
//! `node/prelude.js`).

use std::io::Write;

use futures_channel::{mpsc, oneshot};
use futures_util::StreamExt;
use rquickjs::module::Evaluated;
use rquickjs::promise::PromiseState;
use rquickjs::{Array, Ctx, Exception, Function, Module, Promise, Result, Value};
use wasock::http::{Request, Response, StatusCode};
use wasock::{PollServer, ServerConfig};

use crate::bytes::{array_buffer, bytes_of};
use crate::fields::header_map;

type Exchange = (Request<Vec<u8>>, oneshot::Sender<Response<Vec<u8>>>);

/// `serve(host, port, dispatch, announce)` → `[address, port, close]` once listening: binds
/// `host:port` (port 0 picks a free one), prints `listening on http://…/` when `announce`
/// (as [`wasock::announce`] does for Rust apps), and answers every request with
/// `await dispatch(method, target, pairs, body: ArrayBuffer)`, which must give
/// `[status, pairs, body]` (body a string, `ArrayBuffer` or typed array). `close()` stops
/// accepting; open connections finish (wasock's shutdown, 5 s grace), then the server's
/// tasks end and no longer keep the script alive.
///
/// Errors: an `Error` `listen on HOST:PORT: …` when the address cannot be bound. A dispatch
/// that throws or gives something else is answered with 500 and one line on stderr.
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
    let task_ctx = ctx.clone();
    ctx.spawn(async move {
        let ctx = task_ctx;
        while let Some((request, reply)) = requests.next().await {
            match call(&ctx, &dispatch, request) {
                Ok(promise) => {
                    let answer_ctx = ctx.clone();
                    ctx.spawn(async move {
                        let answer = promise.into_future::<Value>().await;
                        let _ = reply.send(response_of(&answer_ctx, answer));
                    });
                }
                Err(error) => {
                    report(&ctx, error);
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
    ])
}

/// Starts `dispatch` on one request.
fn call<'js>(ctx: &Ctx<'js>, dispatch: &Function<'js>, request: Request<Vec<u8>>) -> Result<Promise<'js>> {
    let (parts, body) = request.into_parts();
    let pairs = crate::fields::field_pairs(&parts.headers);
    let target = parts
        .uri
        .path_and_query()
        .map(|target| target.as_str().to_string())
        .unwrap_or_else(|| parts.uri.to_string());
    let body = array_buffer(ctx, body)?;
    dispatch.call((parts.method.as_str().to_string(), target, pairs, body))
}

/// The response for what `dispatch` gave.
fn response_of<'js>(ctx: &Ctx<'js>, answer: Result<Value<'js>>) -> Response<Vec<u8>> {
    let built = answer.and_then(|value| {
        let parts = Array::from_value(value)?;
        let status: u16 = parts.get(0)?;
        let pairs: Vec<Vec<String>> = parts.get(1)?;
        let body: Value = parts.get(2)?;
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
    });
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
