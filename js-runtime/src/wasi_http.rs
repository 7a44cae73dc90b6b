//! Module `wasi_http`: HTTP/1.1 messages for scripts that speak HTTP over `wasi_net`, as
//! WasmEdge's QuickJS runtime names them, with wasock's codec underneath (its limits: 16 KiB
//! of head, 100 header fields, 8 MiB of body; its rejections: conflicting framing, bad
//! chunking, …).
//!
//! - `Buffer`: bytes read so far. `append(bytes)` (an empty chunk, which is what `read()`
//!   returns at end of stream, marks the end), `length`, `buffer`, `clear()`, and
//!   `parseRequest()` / `parseResponse([request])`: `undefined` until a whole message (head
//!   and body) is buffered, then a `WasiRequest` / `WasiResponse`; a malformed message throws.
//!   A parsed request's bytes leave the buffer, so pipelined requests parse one by one.
//!   After `parseResponse()` the buffer holds the response's decoded body (then anything
//!   received after it), so WasmEdge's `buf.length >= resp.bodyLength` / `buf.buffer` idiom works.
//!   `request` is the method of the request answered (`'HEAD'`) or that `WasiRequest`,
//!   `GET` when left out: a response to HEAD ends with its head (RFC 9112 §6.3), whatever
//!   its Content-Length says.
//! - `WasiRequest`: `method`, `uri`, `version`, `headers` (an object; parsed names are
//!   lowercase), `body` (`ArrayBuffer`; set a string or bytes), `getHeader`, `setHeader`,
//!   `encode()` → `ArrayBuffer`.
//! - `WasiResponse`: `status`, `statusText`, `version`, `headers`, `body`, `bodyLength`,
//!   `encode([body])` → `ArrayBuffer` (Content-Length from the body), and `chunk(conn)`
//!   → `ChunkResponse` for a body sent in pieces, as wasmedge-quickjs has it: the head (with
//!   `transfer-encoding: chunked`) goes out through `conn.write()` at once.
//! - `ChunkResponse`: `write(data)` sends one chunk, `end([data])` a last piece and the
//!   last chunk (the connection stays open), `on(event, listener)` is the connection's.

use rquickjs::class::Trace;
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::prelude::{Opt, This};
use rquickjs::{ArrayBuffer, Class, Ctx, Exception, Function, JsLifetime, Object, Result, Value};
use wasock::http::{
    encode_request, encode_response, header, HeaderValue, HttpError, Limits, Method, Request,
    RequestDecoder, RequestEvent, Response, ResponseContext, ResponseDecoder, StatusCode, Version,
};

use crate::bytes::{array_buffer, bytes_of};
use crate::fields::{
    fields_from_object, fields_object, fields_of, get_field, header_map, set_field, Fields,
};

/// The module definition registered as `wasi_http`.
pub struct WasiHttp;

impl ModuleDef for WasiHttp {
    fn declare(decl: &Declarations) -> Result<()> {
        decl.declare("Buffer")?;
        decl.declare("WasiRequest")?;
        decl.declare("WasiResponse")?;
        decl.declare("ChunkResponse")?;
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        exports.export("Buffer", Class::<Buffer>::create_constructor(ctx)?)?;
        exports.export(
            "WasiRequest",
            Class::<WasiRequest>::create_constructor(ctx)?,
        )?;
        exports.export(
            "WasiResponse",
            Class::<WasiResponse>::create_constructor(ctx)?,
        )?;
        exports.export(
            "ChunkResponse",
            Class::<ChunkResponse>::create_constructor(ctx)?,
        )?;
        Ok(())
    }
}

/// Bytes received on a connection, waiting to be parsed (`wasi_http.Buffer`).
///
/// The decoder of the message being parsed lives here between calls, so a message arriving
/// in many chunks is decoded once, chunk by chunk, however often the script asks.
/// Invariant while a decoder is kept: it has been fed `data[..fed]`, and the bytes it holds
/// undecoded are the tail of that prefix (`data[fed - buffered_len..fed]`); everything
/// before them went into the message in progress, which is still in `data` because the
/// script sees the raw bytes until the message is complete.
#[derive(Trace, JsLifetime, Default)]
#[rquickjs::class]
pub struct Buffer {
    #[qjs(skip_trace)]
    data: Vec<u8>,
    /// An empty chunk was appended: the peer closed, nothing more will come.
    #[qjs(skip_trace)]
    ended: bool,
    #[qjs(skip_trace)]
    parser: Parser,
    /// How many bytes of `data` (from the front) the parser has been fed.
    #[qjs(skip_trace)]
    fed: usize,
}

/// The incremental decoder of the message being parsed, if any.
#[derive(Default)]
enum Parser {
    #[default]
    Idle,
    Request(RequestDecoder),
    Response(ResponseDecoder),
}

impl Buffer {
    /// The bytes not parsed yet.
    pub fn pending(&self) -> &[u8] {
        &self.data
    }

    /// Forgets the decoder: the next parse starts again from the front of `data`.
    fn reset_parser(&mut self) {
        self.parser = Parser::Idle;
        self.fed = 0;
    }

    /// The request decoder, fed every byte of `data` (a new one if the last parse was of a
    /// response or none is kept).
    fn request_decoder(&mut self) -> &mut RequestDecoder {
        if !matches!(self.parser, Parser::Request(_)) {
            self.parser = Parser::Request(RequestDecoder::new(Limits::default()));
            self.fed = 0;
        }
        let Parser::Request(decoder) = &mut self.parser else {
            unreachable!("set just above")
        };
        decoder.feed(&self.data[self.fed..]);
        self.fed = self.data.len();
        decoder
    }

    /// As `request_decoder`, for responses.
    fn response_decoder(&mut self) -> &mut ResponseDecoder {
        if !matches!(self.parser, Parser::Response(_)) {
            self.parser = Parser::Response(ResponseDecoder::new(Limits::default()));
            self.fed = 0;
        }
        let Parser::Response(decoder) = &mut self.parser else {
            unreachable!("set just above")
        };
        decoder.feed(&self.data[self.fed..]);
        self.fed = self.data.len();
        decoder
    }
}

fn http_error<'js>(ctx: &Ctx<'js>, what: &str, error: HttpError) -> rquickjs::Error {
    Exception::throw_message(ctx, &format!("{what}: {error}"))
}

#[rquickjs::methods]
impl Buffer {
    #[qjs(constructor)]
    pub fn new<'js>(ctx: Ctx<'js>, initial: Opt<Value<'js>>) -> Result<Self> {
        let data = match initial.0 {
            Some(value) if !value.is_undefined() && !value.is_null() => {
                bytes_of(&ctx, &value, "new Buffer")?
            }
            _ => Vec::new(),
        };
        Ok(Buffer {
            data,
            ..Buffer::default()
        })
    }

    /// Appends bytes (or a string as UTF-8); an empty chunk marks the end of the stream.
    pub fn append<'js>(&mut self, ctx: Ctx<'js>, bytes: Value<'js>) -> Result<bool> {
        if bytes.is_undefined() || bytes.is_null() {
            // `read()` at end of stream in WasmEdge's runtime could give `undefined`.
            self.ended = true;
            return Ok(true);
        }
        let bytes = bytes_of(&ctx, &bytes, "Buffer.append")?;
        if bytes.is_empty() {
            self.ended = true;
        }
        self.data.extend_from_slice(&bytes);
        Ok(true)
    }

    /// Same as `append`.
    pub fn write<'js>(&mut self, ctx: Ctx<'js>, bytes: Value<'js>) -> Result<bool> {
        self.append(ctx, bytes)
    }

    #[qjs(get)]
    pub fn length(&self) -> usize {
        self.data.len()
    }

    #[qjs(get)]
    pub fn buffer<'js>(&self, ctx: Ctx<'js>) -> Result<ArrayBuffer<'js>> {
        array_buffer(&ctx, self.data.clone())
    }

    /// Empties the buffer (and forgets an end of stream and any message half parsed).
    pub fn clear(&mut self) {
        self.data.clear();
        self.ended = false;
        self.reset_parser();
    }

    /// A whole request → `WasiRequest` (its bytes leave the buffer); `undefined` while
    /// incomplete; throws on a malformed request or one cut short by end of stream.
    #[qjs(rename = "parseRequest")]
    pub fn parse_request<'js>(&mut self, ctx: Ctx<'js>) -> Result<Value<'js>> {
        let decoder = self.request_decoder();
        loop {
            // Bytes not yet decoded before this event; after it the decoder may already
            // have moved on into the next pipelined request.
            let remaining = decoder.buffered_len();
            match decoder.next_event() {
                // Scripts cannot answer 100-continue; the client sends its body after a pause.
                Ok(Some(RequestEvent::ContinueExpected)) => continue,
                Ok(Some(RequestEvent::Request(request))) => {
                    self.data.drain(..self.fed - remaining);
                    self.fed = remaining;
                    let request = WasiRequest::from_request(request);
                    return Ok(Class::instance(ctx, request)?.into_value());
                }
                Ok(None) if self.ended && !self.data.is_empty() => {
                    return Err(http_error(&ctx, "parseRequest", HttpError::UnexpectedEof));
                }
                Ok(None) => return Ok(Value::new_undefined(ctx)),
                Err(error) => return Err(http_error(&ctx, "parseRequest", error)),
            }
        }
    }

    /// A whole response → `WasiResponse` (the buffer then holds its decoded body);
    /// `undefined` while incomplete. A response framed by the end of the connection is
    /// complete once an empty chunk was appended. `request`, the method name or the
    /// `WasiRequest` this response answers (`GET` when left out), decides whether a body
    /// follows the head (none for HEAD, RFC 9112 §6.3); pass the same one until the
    /// response is returned. Throws a `TypeError` for an invalid method.
    #[qjs(rename = "parseResponse")]
    pub fn parse_response<'js>(
        &mut self,
        ctx: Ctx<'js>,
        request: Opt<Value<'js>>,
    ) -> Result<Value<'js>> {
        let method = answered_method(&ctx, request.0)?;
        let ended = self.ended;
        let decoder = self.response_decoder();
        let parsed = match decoder.next_response(&method) {
            Ok(None) if ended => decoder.finish(&method),
            other => other,
        };
        let remaining = decoder.buffered_len();
        match parsed {
            Ok(Some(response)) => {
                let rest = self.data.split_off(self.fed - remaining);
                let response = WasiResponse::from_response(response);
                self.data = response.body.clone();
                self.data.extend_from_slice(&rest);
                // The buffer now holds a decoded body, not the stream the decoder was fed:
                // a later parse starts from its front, as a new buffer's would.
                self.reset_parser();
                Ok(Class::instance(ctx, response)?.into_value())
            }
            Ok(None) => Ok(Value::new_undefined(ctx)),
            Err(error) => Err(http_error(&ctx, "parseResponse", error)),
        }
    }
}

/// The method of the request a response answers, from `parseResponse`'s argument: a
/// method name (any case), a `WasiRequest`, or nothing (`GET`).
fn answered_method<'js>(ctx: &Ctx<'js>, request: Option<Value<'js>>) -> Result<Method> {
    let what = "parseResponse";
    let Some(request) = request.filter(|value| !value.is_undefined() && !value.is_null()) else {
        return Ok(Method::GET);
    };
    let name = if let Some(name) = request.as_string() {
        name.to_string()?
    } else if let Some(request) = request
        .as_object()
        .and_then(|object| Class::<WasiRequest>::from_object(object))
    {
        request.borrow().method.clone()
    } else {
        return Err(Exception::throw_type(
            ctx,
            &format!(
                "{what}: expected the request's method or the WasiRequest, got {}",
                request.type_name()
            ),
        ));
    };
    Method::from_bytes(name.to_ascii_uppercase().as_bytes())
        .map_err(|_| Exception::throw_type(ctx, &format!("{what}: `{name}` is not a valid method")))
}

fn version_text(version: Version) -> &'static str {
    if version == Version::HTTP_10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    }
}

fn parse_version<'js>(ctx: &Ctx<'js>, text: &str) -> Result<Version> {
    match text {
        "HTTP/1.0" | "1.0" => Ok(Version::HTTP_10),
        "HTTP/1.1" | "1.1" => Ok(Version::HTTP_11),
        _ => Err(Exception::throw_type(
            ctx,
            &format!("version: `{text}` is not HTTP/1.0 or HTTP/1.1"),
        )),
    }
}

fn body_arg<'js>(ctx: &Ctx<'js>, value: Value<'js>, what: &str) -> Result<Vec<u8>> {
    if value.is_undefined() || value.is_null() {
        Ok(Vec::new())
    } else {
        bytes_of(ctx, &value, what)
    }
}

/// An HTTP request (`wasi_http.WasiRequest`): built by a script to `encode()`, or parsed.
#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct WasiRequest {
    #[qjs(skip_trace)]
    method: String,
    #[qjs(skip_trace)]
    uri: String,
    #[qjs(skip_trace)]
    version: Version,
    #[qjs(skip_trace)]
    headers: Fields,
    #[qjs(skip_trace)]
    body: Vec<u8>,
}

impl WasiRequest {
    fn from_request(request: Request<Vec<u8>>) -> Self {
        let (parts, body) = request.into_parts();
        WasiRequest {
            method: parts.method.to_string(),
            uri: parts.uri.to_string(),
            version: parts.version,
            headers: fields_of(&parts.headers),
            body,
        }
    }
}

#[rquickjs::methods]
impl WasiRequest {
    /// `GET /` over HTTP/1.1, no fields, no body.
    #[qjs(constructor)]
    pub fn new() -> Self {
        WasiRequest {
            method: "GET".into(),
            uri: "/".into(),
            version: Version::HTTP_11,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[qjs(get, rename = "method")]
    pub fn get_method(&self) -> String {
        self.method.clone()
    }
    #[qjs(set, rename = "method")]
    pub fn set_method(&mut self, method: String) {
        self.method = method.to_ascii_uppercase();
    }

    #[qjs(get, rename = "uri")]
    pub fn get_uri(&self) -> String {
        self.uri.clone()
    }
    #[qjs(set, rename = "uri")]
    pub fn set_uri(&mut self, uri: String) {
        self.uri = uri;
    }

    #[qjs(get, rename = "version")]
    pub fn get_version(&self) -> &'static str {
        version_text(self.version)
    }
    #[qjs(set, rename = "version")]
    pub fn set_version<'js>(&mut self, ctx: Ctx<'js>, version: String) -> Result<()> {
        self.version = parse_version(&ctx, &version)?;
        Ok(())
    }

    #[qjs(get, rename = "headers")]
    pub fn get_headers<'js>(&self, ctx: Ctx<'js>) -> Result<Object<'js>> {
        fields_object(&ctx, &self.headers)
    }
    #[qjs(set, rename = "headers")]
    pub fn set_headers<'js>(&mut self, headers: Object<'js>) -> Result<()> {
        self.headers = fields_from_object(headers)?;
        Ok(())
    }

    #[qjs(get, rename = "body")]
    pub fn get_body<'js>(&self, ctx: Ctx<'js>) -> Result<ArrayBuffer<'js>> {
        array_buffer(&ctx, self.body.clone())
    }
    #[qjs(set, rename = "body")]
    pub fn set_body<'js>(&mut self, ctx: Ctx<'js>, body: Value<'js>) -> Result<()> {
        self.body = body_arg(&ctx, body, "WasiRequest.body")?;
        Ok(())
    }

    #[qjs(rename = "getHeader")]
    pub fn get_header(&self, name: String) -> Option<String> {
        get_field(&self.headers, &name)
    }

    #[qjs(rename = "setHeader")]
    pub fn set_header(&mut self, name: String, value: rquickjs::Coerced<String>) {
        set_field(&mut self.headers, &name, value.0);
    }

    /// The request as bytes: `METHOD uri VERSION`, the fields, Content-Length for a body.
    pub fn encode<'js>(&self, ctx: Ctx<'js>) -> Result<ArrayBuffer<'js>> {
        let what = "WasiRequest.encode";
        let method = Method::from_bytes(self.method.as_bytes()).map_err(|_| {
            Exception::throw_type(
                &ctx,
                &format!("{what}: `{}` is not a valid method", self.method),
            )
        })?;
        let uri: wasock::http::Uri = self.uri.parse().map_err(|_| {
            Exception::throw_type(
                &ctx,
                &format!("{what}: `{}` is not a valid request target", self.uri),
            )
        })?;
        let mut request = Request::new(self.body.clone());
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = self.version;
        *request.headers_mut() = header_map(&ctx, &self.headers, what)?;
        let mut out = Vec::with_capacity(128 + self.body.len());
        encode_request(&request, &mut out);
        array_buffer(&ctx, out)
    }
}

/// An HTTP response (`wasi_http.WasiResponse`): built by a script to `encode()`, or parsed.
#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct WasiResponse {
    #[qjs(skip_trace)]
    status: StatusCode,
    #[qjs(skip_trace)]
    status_text: Option<String>,
    #[qjs(skip_trace)]
    version: Version,
    #[qjs(skip_trace)]
    headers: Fields,
    #[qjs(skip_trace)]
    body: Vec<u8>,
}

impl WasiResponse {
    fn from_response(response: Response<Vec<u8>>) -> Self {
        let (parts, body) = response.into_parts();
        WasiResponse {
            status: parts.status,
            status_text: None,
            version: parts.version,
            headers: fields_of(&parts.headers),
            body,
        }
    }
}

#[rquickjs::methods]
impl WasiResponse {
    /// `200 OK` over HTTP/1.1, no fields, empty body.
    #[qjs(constructor)]
    pub fn new() -> Self {
        WasiResponse {
            status: StatusCode::OK,
            status_text: None,
            version: Version::HTTP_11,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[qjs(get, rename = "status")]
    pub fn get_status(&self) -> u16 {
        self.status.as_u16()
    }
    #[qjs(set, rename = "status")]
    pub fn set_status<'js>(&mut self, ctx: Ctx<'js>, status: f64) -> Result<()> {
        self.status = StatusCode::from_u16(status as u16)
            .ok()
            .filter(|_| status.fract() == 0.0 && (100.0..=999.0).contains(&status))
            .ok_or_else(|| {
                Exception::throw_range(
                    &ctx,
                    &format!("status: {status} is not an HTTP status code"),
                )
            })?;
        self.status_text = None;
        Ok(())
    }

    /// The reason phrase: as parsed or set, else the status code's standard one.
    #[qjs(get, rename = "statusText")]
    pub fn get_status_text(&self) -> String {
        self.status_text
            .clone()
            .unwrap_or_else(|| self.status.canonical_reason().unwrap_or("").to_string())
    }
    #[qjs(set, rename = "statusText")]
    pub fn set_status_text(&mut self, text: String) {
        self.status_text = Some(text);
    }

    #[qjs(get, rename = "version")]
    pub fn get_version(&self) -> &'static str {
        version_text(self.version)
    }
    #[qjs(set, rename = "version")]
    pub fn set_version<'js>(&mut self, ctx: Ctx<'js>, version: String) -> Result<()> {
        self.version = parse_version(&ctx, &version)?;
        Ok(())
    }

    #[qjs(get, rename = "headers")]
    pub fn get_headers<'js>(&self, ctx: Ctx<'js>) -> Result<Object<'js>> {
        fields_object(&ctx, &self.headers)
    }
    #[qjs(set, rename = "headers")]
    pub fn set_headers<'js>(&mut self, headers: Object<'js>) -> Result<()> {
        self.headers = fields_from_object(headers)?;
        Ok(())
    }

    #[qjs(get, rename = "body")]
    pub fn get_body<'js>(&self, ctx: Ctx<'js>) -> Result<ArrayBuffer<'js>> {
        array_buffer(&ctx, self.body.clone())
    }
    #[qjs(set, rename = "body")]
    pub fn set_body<'js>(&mut self, ctx: Ctx<'js>, body: Value<'js>) -> Result<()> {
        self.body = body_arg(&ctx, body, "WasiResponse.body")?;
        Ok(())
    }

    /// The body's length in bytes (decoded, for a parsed chunked response).
    #[qjs(get, rename = "bodyLength")]
    pub fn body_length(&self) -> usize {
        self.body.len()
    }

    #[qjs(rename = "getHeader")]
    pub fn get_header(&self, name: String) -> Option<String> {
        get_field(&self.headers, &name)
    }

    #[qjs(rename = "setHeader")]
    pub fn set_header(&mut self, name: String, value: rquickjs::Coerced<String>) {
        set_field(&mut self.headers, &name, value.0);
    }

    /// The response as bytes; `body`, when given, replaces the body first. Content-Length
    /// comes from the body; an HTTP/1.0 response says `connection: close`.
    pub fn encode<'js>(
        &mut self,
        ctx: Ctx<'js>,
        body: Opt<Value<'js>>,
    ) -> Result<ArrayBuffer<'js>> {
        let what = "WasiResponse.encode";
        if let Some(body) = body.0 {
            if !body.is_undefined() {
                self.body = body_arg(&ctx, body, what)?;
            }
        }
        let mut response = Response::new(self.body.clone());
        *response.status_mut() = self.status;
        *response.headers_mut() = header_map(&ctx, &self.headers, what)?;
        let context = ResponseContext {
            request_method: Method::GET,
            request_version: self.version,
            keep_alive: self.version == Version::HTTP_11,
        };
        let mut out = Vec::with_capacity(128 + self.body.len());
        encode_response(&response, &context, &mut out);
        array_buffer(&ctx, out)
    }

    /// Starts a response whose body is sent in pieces (wasmedge-quickjs's chunked writer):
    /// writes the head through `conn.write()` at once, as HTTP/1.1 with
    /// `transfer-encoding: chunked` in place of any Content-Length or Transfer-Encoding set,
    /// and returns the `ChunkResponse` that writes the body to `conn`. `conn` is anything
    /// with a `write` method (a `WasiTcpConn`, a `Buffer`). Throws a `TypeError` when it has
    /// none, and for a status that has no body (1xx, 204, 304).
    pub fn chunk<'js>(
        &mut self,
        ctx: Ctx<'js>,
        conn: Value<'js>,
    ) -> Result<Class<'js, ChunkResponse<'js>>> {
        let what = "WasiResponse.chunk";
        if writer_of(&conn).is_none() {
            return Err(Exception::throw_type(
                &ctx,
                &format!(
                    "{what}: expected a connection (an object with write()), got {}",
                    conn.type_name()
                ),
            ));
        }
        let status = self.status;
        if status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            return Err(Exception::throw_type(
                &ctx,
                &format!("{what}: a {} response has no body", status.as_u16()),
            ));
        }
        self.version = Version::HTTP_11;
        let mut headers = header_map(&ctx, &self.headers, what)?;
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        let mut response = Response::new(Vec::new());
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        // The encoder writes a head alone for a response to HEAD; the chunks follow it here.
        let context = ResponseContext {
            request_method: Method::HEAD,
            request_version: Version::HTTP_11,
            keep_alive: true,
        };
        let mut head = Vec::with_capacity(128);
        encode_response(&response, &context, &mut head);
        let head = array_buffer(&ctx, head)?.into_value();
        write_to(&ctx, &conn, head, what)?;
        Class::instance(ctx, ChunkResponse { conn: Some(conn) })
    }
}

/// `value.write` when it is a function.
fn writer_of<'js>(value: &Value<'js>) -> Option<Function<'js>> {
    value
        .as_object()?
        .get::<_, Value>("write")
        .ok()?
        .into_function()
}

/// Calls `conn.write(data)`; what it throws propagates.
fn write_to<'js>(ctx: &Ctx<'js>, conn: &Value<'js>, data: Value<'js>, what: &str) -> Result<()> {
    let Some(write) = writer_of(conn) else {
        return Err(Exception::throw_type(
            ctx,
            &format!("{what}: the connection has no write()"),
        ));
    };
    write.call::<_, Value>((This(conn.clone()), data))?;
    Ok(())
}

/// The body of a response started with `WasiResponse.chunk(conn)` (`wasi_http.ChunkResponse`,
/// as wasmedge-quickjs names it): each `write(data)` sends `data` as one chunk through
/// `conn.write()`, `end([data])` sends the last piece and the last chunk. The connection is
/// not closed (keep-alive); after `end()` the object refuses to write.
#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct ChunkResponse<'js> {
    /// The connection, until `end()`.
    conn: Option<Value<'js>>,
}

impl<'js> ChunkResponse<'js> {
    fn conn(&self, ctx: &Ctx<'js>, what: &str) -> Result<Value<'js>> {
        self.conn.clone().ok_or_else(|| {
            Exception::throw_message(ctx, &format!("{what}: the response has ended"))
        })
    }
}

/// `data` framed as one chunk (RFC 9112 §7.1): size in hex, CRLF, data, CRLF.
fn chunk_frame(data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

#[rquickjs::methods]
impl<'js> ChunkResponse<'js> {
    /// Not constructible from scripts: use `WasiResponse.chunk(conn)`.
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'js>) -> Result<Self> {
        Err(Exception::throw_type(
            &ctx,
            "ChunkResponse cannot be constructed: use new WasiResponse().chunk(conn)",
        ))
    }

    /// Sends `data` (a string as UTF-8, or bytes) as one chunk; `true`. An empty `data`
    /// sends nothing, since an empty chunk would end the body. Throws after `end()`, and
    /// what the connection's `write` throws.
    pub fn write(&self, ctx: Ctx<'js>, data: Value<'js>) -> Result<bool> {
        let what = "ChunkResponse.write";
        let conn = self.conn(&ctx, what)?;
        let data = bytes_of(&ctx, &data, what)?;
        if !data.is_empty() {
            let mut frame = Vec::with_capacity(data.len() + 12);
            chunk_frame(&data, &mut frame);
            write_to(&ctx, &conn, array_buffer(&ctx, frame)?.into_value(), what)?;
        }
        Ok(true)
    }

    /// Sends `data`, when given and not empty, as a chunk, then the last chunk; `true`.
    /// Throws when called twice.
    pub fn end(&mut self, ctx: Ctx<'js>, data: Opt<Value<'js>>) -> Result<bool> {
        let what = "ChunkResponse.end";
        let conn = self.conn(&ctx, what)?;
        let mut frame = Vec::new();
        if let Some(data) = data
            .0
            .filter(|value| !value.is_undefined() && !value.is_null())
        {
            let data = bytes_of(&ctx, &data, what)?;
            if !data.is_empty() {
                chunk_frame(&data, &mut frame);
            }
        }
        frame.extend_from_slice(b"0\r\n\r\n");
        self.conn = None;
        write_to(&ctx, &conn, array_buffer(&ctx, frame)?.into_value(), what)?;
        Ok(true)
    }

    /// `conn.on(event, listener)` when the connection has `on` (wasmedge-quickjs forwards
    /// it, for code that pipes into the response); `undefined` otherwise, since a
    /// `wasi_net` connection emits no events.
    pub fn on(&self, ctx: Ctx<'js>, event: Value<'js>, listener: Value<'js>) -> Result<Value<'js>> {
        let conn = self.conn(&ctx, "ChunkResponse.on")?;
        let on = conn
            .as_object()
            .and_then(|object| object.get::<_, Value>("on").ok())
            .and_then(Value::into_function);
        match on {
            Some(on) => on.call((This(conn), event, listener)),
            None => Ok(Value::new_undefined(ctx)),
        }
    }
}
