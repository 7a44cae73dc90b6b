//! [`RequestDecoder`]: bytes from a connection in, requests (and 100-continue cues) out.

use super::buffer::ReadBuffer;
use super::chunked::{BodyDecoder, BodyProgress};
use super::error::HttpError;
use super::framing::{expects_continue, request_framing};
use super::head::{
    header_map, header_slots, map_parse_error, version_from_minor, HeadScan, HeadScanner,
};
use super::{Limits, Trailers};
use ::http::{header, Method, Request, Uri, Version};

/// What [`RequestDecoder::next_event`] hands to a server.
// Boxing the request would save a move of ~250 bytes per request at the price of an
// allocation per request, and would make callers unbox it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum RequestEvent {
    /// The head of a request carrying `Expect: 100-continue` is in and none of its body yet:
    /// write [`super::CONTINUE_RESPONSE`] (or a final error response), then keep reading.
    ContinueExpected,
    Request(Request<Vec<u8>>),
}

/// Incremental request parser for one connection.
///
/// Feed whatever the socket returned; take events until `Ok(None)`. It decodes at most one
/// request ahead of the caller, so a server that stops reading while
/// [`wants_more_input`](Self::wants_more_input) is false buffers at most one request plus one
/// read. After an error every later call returns the same error: answer with its status and
/// close the connection.
#[derive(Debug)]
pub struct RequestDecoder {
    limits: Limits,
    buf: ReadBuffer,
    stage: Stage,
    ready: Option<RequestEvent>,
    error: Option<HttpError>,
}

#[derive(Debug)]
enum Stage {
    Head(HeadScanner),
    Body {
        request: Box<Request<Vec<u8>>>,
        decoder: BodyDecoder,
    },
}

impl RequestDecoder {
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            limits,
            buf: ReadBuffer::default(),
            stage: Stage::Head(HeadScanner::default()),
            ready: None,
            error: None,
        }
    }

    /// Appends bytes as read from the connection. Bytes fed after an error are dropped.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        self.buf.push(bytes);
        self.advance();
    }

    /// The next request or 100-continue cue; `Ok(None)` means more bytes are needed.
    /// Pipelined requests come out in order.
    pub fn next_event(&mut self) -> Result<Option<RequestEvent>, HttpError> {
        if let Some(event) = self.ready.take() {
            self.advance();
            return Ok(Some(event));
        }
        match &self.error {
            Some(error) => Err(error.clone()),
            None => Ok(None),
        }
    }

    /// Bytes of a request that is not complete yet are buffered: the header-read timeout
    /// applies, and an EOF now cuts a request short.
    pub fn is_mid_request(&self) -> bool {
        matches!(self.stage, Stage::Body { .. }) || !self.buf.is_empty()
    }

    /// Raw bytes held but not yet decoded into a request (body bytes already moved into a
    /// request in progress are not counted).
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// False while a decoded event waits to be taken or after an error: a server may stop
    /// reading from the socket until this turns true again (backpressure).
    pub fn wants_more_input(&self) -> bool {
        self.ready.is_none() && self.error.is_none()
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decodes until one event is ready, more input is needed, or an error occurs.
    fn advance(&mut self) {
        if self.ready.is_some() || self.error.is_some() {
            return;
        }
        if let Err(error) = self.decode_one() {
            self.error = Some(error);
            self.buf.discard();
        }
    }

    fn decode_one(&mut self) -> Result<(), HttpError> {
        loop {
            match &mut self.stage {
                Stage::Head(scanner) => {
                    self.buf.skip_empty_lines();
                    let Some(request) = parse_head(scanner, &mut self.buf, &self.limits)? else {
                        return Ok(());
                    };
                    let framing = request_framing(request.version(), request.headers())?;
                    if let super::framing::Framing::Length(length) = framing {
                        if length > self.limits.max_body_bytes as u64 {
                            return Err(HttpError::BodyTooLarge {
                                limit: self.limits.max_body_bytes,
                            });
                        }
                    }
                    let Some(decoder) = BodyDecoder::for_framing(framing) else {
                        self.stage = Stage::Head(HeadScanner::default());
                        self.ready = Some(RequestEvent::Request(request));
                        return Ok(());
                    };
                    // A client that already sent body bytes is not waiting for the go-ahead.
                    let wants_continue = expects_continue(request.version(), request.headers())
                        && self.buf.is_empty();
                    self.stage = Stage::Body {
                        request: Box::new(request),
                        decoder,
                    };
                    if wants_continue {
                        self.ready = Some(RequestEvent::ContinueExpected);
                        return Ok(());
                    }
                }
                Stage::Body { request, decoder } => {
                    match decoder.decode(&mut self.buf, request.body_mut(), &self.limits)? {
                        BodyProgress::NeedMore => return Ok(()),
                        BodyProgress::Done { trailers } => {
                            let stage = std::mem::replace(
                                &mut self.stage,
                                Stage::Head(HeadScanner::default()),
                            );
                            if let Stage::Body { request, .. } = stage {
                                let mut request = *request;
                                if !trailers.is_empty() {
                                    request.extensions_mut().insert(Trailers(trailers));
                                }
                                self.ready = Some(RequestEvent::Request(request));
                            }
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}

/// Parses the request head once it is complete and consumes it; `None` until then.
fn parse_head(
    scanner: &mut HeadScanner,
    buf: &mut ReadBuffer,
    limits: &Limits,
) -> Result<Option<Request<Vec<u8>>>, HttpError> {
    let pending = buf.pending();
    let end = match scanner.scan(pending, limits.max_header_bytes)? {
        HeadScan::Incomplete => return Ok(None),
        HeadScan::StartLineReady => {
            // Only to reject a bad request line before its headers arrive. The request line
            // alone is parsed, so the verdict does not depend on how reads were split.
            let line_end = pending
                .iter()
                .position(|&b| b == b'\n')
                .map_or(pending.len(), |newline| newline + 1);
            let start_line = pending.get(..line_end).unwrap_or_default();
            let mut slots = header_slots(limits.max_headers);
            let mut parsed = httparse::Request::new(&mut slots);
            if let Err(error) = parsed.parse(start_line) {
                return Err(map_parse_error(error, start_line, limits.max_headers));
            }
            return Ok(None);
        }
        HeadScan::Complete(end) => end,
    };
    let head = pending.get(..end).unwrap_or_default();
    let mut slots = header_slots(limits.max_headers);
    let mut parsed = httparse::Request::new(&mut slots);
    let result = parsed.parse(head);
    let Some(consumed) = scanner.parsed_head(result, head, end, limits.max_headers)? else {
        return Ok(None);
    };
    let request = build_request(&parsed)?;
    scanner.reset();
    buf.consume(consumed);
    Ok(Some(request))
}

fn build_request(parsed: &httparse::Request<'_, '_>) -> Result<Request<Vec<u8>>, HttpError> {
    let method_text = parsed.method.unwrap_or_default();
    let method = Method::from_bytes(method_text.as_bytes())
        .map_err(|_| HttpError::MalformedStartLine(format!("invalid method `{method_text}`")))?;
    let target = parsed.path.unwrap_or_default();
    let uri = Uri::try_from(target)
        .map_err(|_| HttpError::MalformedStartLine(format!("invalid request target `{target}`")))?;
    let version = version_from_minor(parsed.version)?;
    let headers = header_map(parsed.headers)?;
    // RFC 9112 §3.2: exactly one Host in HTTP/1.1, else 400 (it routes the request).
    let host_count = headers.get_all(header::HOST).iter().count();
    if host_count > 1 || (host_count == 0 && version == Version::HTTP_11) {
        return Err(HttpError::MalformedHeader(format!(
            "HTTP/1.1 request needs exactly one Host header, found {host_count}"
        )));
    }
    let mut request = Request::new(Vec::new());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(request)
}
