//! HTTP/1.1 codec: incremental request/response decoding and encoding on `httparse` and the
//! `http` crate's types.
//!
//! It does no I/O: callers feed the bytes a socket returned and write out the bytes produced
//! here, so the blocking server, the event-loop server and the clients share one codec, and
//! it is tested without sockets. Nothing here panics on input: every framing problem becomes
//! an [`HttpError`] whose [`status`](HttpError::status) a server answers with before closing.
//!
//! Server loop, in short: `feed` what was read; take [`RequestEvent`]s from
//! [`RequestDecoder::next_event`] until `Ok(None)`; answer [`RequestEvent::ContinueExpected`]
//! with [`CONTINUE_RESPONSE`]; encode each response with [`encode_response`] in request order;
//! stop reading while [`RequestDecoder::wants_more_input`] is false.

mod buffer;
mod chunked;
mod encode;
mod error;
mod framing;
mod head;
mod request;
mod response;

pub use ::http::{
    header, uri, HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri,
    Version,
};
pub use encode::{encode_request, encode_response, response_keeps_alive, ResponseContext};
pub use error::HttpError;
pub use request::{RequestDecoder, RequestEvent};
pub use response::ResponseDecoder;

/// Bounds on what a peer can make us buffer; exceeding one is an [`HttpError`] with the
/// status in the field's doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest start line + header section (and trailer section) in bytes → 431.
    pub max_header_bytes: usize,
    /// Most header (or trailer) fields in one message → 431.
    pub max_headers: usize,
    /// Largest decoded body in bytes → 413.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    /// 16 KiB of head, 100 fields, 8 MiB of body.
    fn default() -> Self {
        Limits {
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            max_body_bytes: 8 * 1024 * 1024,
        }
    }
}

/// The interim response that tells a client waiting on `Expect: 100-continue` to send its body.
pub const CONTINUE_RESPONSE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Trailer fields of a chunked message, found in (and, for encoding, taken from) the
/// message's extensions: `request.extensions().get::<Trailers>()`. Absent when there were none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trailers(pub HeaderMap);

/// Whether the sender of a message with this version and these headers wants the connection
/// kept open: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
pub fn wants_keep_alive(version: Version, headers: &HeaderMap) -> bool {
    let close = framing::connection_has(headers, "close");
    if version == Version::HTTP_11 {
        !close
    } else if version == Version::HTTP_10 {
        !close && framing::connection_has(headers, "keep-alive")
    } else {
        // 0.9 cannot keep connections; 2 and 3 are not spoken on this codec's connections.
        false
    }
}
