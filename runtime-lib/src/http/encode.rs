//! Serialising responses (server side) and requests (client side).
//!
//! The body is always fully known here, so framing is computed, not trusted: a handler's
//! Content-Length is replaced by the real length, and chunked is used only when asked for.

use super::framing::{connection_has, sender_wants_chunked};
use super::Trailers;
use ::http::{
    header, HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version,
};

/// What a response encoder needs to know about the request it answers.
#[derive(Debug, Clone)]
pub struct ResponseContext {
    pub request_method: Method,
    pub request_version: Version,
    /// Whether the server keeps the connection open after this response.
    pub keep_alive: bool,
}

impl ResponseContext {
    /// Context for answering `request`, keep-alive as the request's version and Connection
    /// header allow (see [`super::wants_keep_alive`]).
    pub fn for_request<B>(request: &Request<B>) -> Self {
        ResponseContext {
            request_method: request.method().clone(),
            request_version: request.version(),
            keep_alive: super::wants_keep_alive(request.version(), request.headers()),
        }
    }
}

/// Whether the connection stays open after `response` is sent: the server's intent in `ctx`,
/// unless the handler itself set `Connection: close`.
pub fn response_keeps_alive(response: &Response<Vec<u8>>, ctx: &ResponseContext) -> bool {
    ctx.keep_alive && !connection_has(response.headers(), "close")
}

/// Appends `response` as HTTP/1.1 (HTTP/1.0 when answering a 1.0 request) to `out`.
///
/// Sets Content-Length from the body unless the handler set `Transfer-Encoding: chunked`
/// (then the body is chunk-encoded, with [`Trailers`] from the response extensions);
/// writes `Connection: close` / `keep-alive` as the version needs; sends no body for HEAD,
/// 1xx, 204 and 304.
pub fn encode_response(response: &Response<Vec<u8>>, ctx: &ResponseContext, out: &mut Vec<u8>) {
    let status = response.status();
    let is_http10 = ctx.request_version == Version::HTTP_10;
    out.extend_from_slice(if is_http10 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or_default().as_bytes());
    out.extend_from_slice(b"\r\n");

    // A 101 hands the connection to another protocol: its Connection/Upgrade are the handler's.
    let is_upgrade = status == StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers();
    for (name, value) in headers {
        let is_framing = name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING;
        if is_framing || (name == header::CONNECTION && !is_upgrade) {
            continue;
        }
        write_field(out, name, value);
    }

    let never_has_body = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    // HTTP/1.0 clients do not know chunked; with the whole body at hand a length works as well.
    let chunked = !never_has_body && !is_http10 && sender_wants_chunked(headers);
    let body = response.body();
    if never_has_body {
        // RFC 9110 §8.6: no Content-Length in 1xx/204; a 304 may repeat the GET's length.
        if status == StatusCode::NOT_MODIFIED {
            copy_fields(out, headers, &header::CONTENT_LENGTH);
        }
    } else if chunked {
        copy_fields(out, headers, &header::TRANSFER_ENCODING);
    } else if ctx.request_method == Method::HEAD && body.is_empty() {
        // A HEAD handler that did not build the body may still announce its length.
        copy_fields(out, headers, &header::CONTENT_LENGTH);
    } else {
        write_content_length(out, body.len());
    }

    if !is_upgrade {
        let keep_alive = response_keeps_alive(response, ctx);
        if !keep_alive {
            out.extend_from_slice(b"connection: close\r\n");
        } else if is_http10 {
            out.extend_from_slice(b"connection: keep-alive\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");

    if never_has_body || ctx.request_method == Method::HEAD {
        return;
    }
    if chunked {
        write_chunked_body(out, body, response.extensions().get::<Trailers>());
    } else {
        out.extend_from_slice(body);
    }
}

/// Appends `request` to `out`: origin-form target (authority-form for CONNECT), Host from the
/// URI's authority unless set, and Content-Length (or chunked, if the caller set
/// `Transfer-Encoding: chunked`) for the body.
pub fn encode_request(request: &Request<Vec<u8>>, out: &mut Vec<u8>) {
    let uri = request.uri();
    let is_http10 = request.version() == Version::HTTP_10;
    out.extend_from_slice(request.method().as_str().as_bytes());
    out.push(b' ');
    let target = if *request.method() == Method::CONNECT {
        uri.authority()
            .map(|authority| authority.as_str())
            .unwrap_or("/")
    } else {
        uri.path_and_query()
            .map(|path| path.as_str())
            .filter(|path| !path.is_empty())
            .unwrap_or("/")
    };
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(if is_http10 {
        b" HTTP/1.0\r\n"
    } else {
        b" HTTP/1.1\r\n"
    });

    let headers = request.headers();
    if !headers.contains_key(header::HOST) {
        if let Some(host) = uri.host() {
            out.extend_from_slice(b"host: ");
            out.extend_from_slice(host.as_bytes());
            if let Some(port) = uri.port_u16() {
                out.extend_from_slice(format!(":{port}").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
    }
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
            continue;
        }
        write_field(out, name, value);
    }

    let chunked = !is_http10 && sender_wants_chunked(headers);
    let body = request.body();
    if chunked {
        copy_fields(out, headers, &header::TRANSFER_ENCODING);
    } else if !body.is_empty() || method_expects_body(request.method()) {
        write_content_length(out, body.len());
    }
    out.extend_from_slice(b"\r\n");
    if chunked {
        write_chunked_body(out, body, request.extensions().get::<Trailers>());
    } else {
        out.extend_from_slice(body);
    }
}

/// Methods whose servers expect a length even for an empty body (some answer 411 without).
fn method_expects_body(method: &Method) -> bool {
    *method == Method::POST || *method == Method::PUT || *method == Method::PATCH
}

fn write_field(out: &mut Vec<u8>, name: &HeaderName, value: &HeaderValue) {
    out.extend_from_slice(name.as_str().as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn copy_fields(out: &mut Vec<u8>, headers: &HeaderMap, name: &HeaderName) {
    for value in headers.get_all(name) {
        write_field(out, name, value);
    }
}

fn write_content_length(out: &mut Vec<u8>, length: usize) {
    out.extend_from_slice(b"content-length: ");
    out.extend_from_slice(length.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The whole body as one chunk, then the last chunk and the trailer section.
fn write_chunked_body(out: &mut Vec<u8>, body: &[u8], trailers: Option<&Trailers>) {
    if !body.is_empty() {
        out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    if let Some(Trailers(fields)) = trailers {
        for (name, value) in fields {
            write_field(out, name, value);
        }
    }
    out.extend_from_slice(b"\r\n");
}
