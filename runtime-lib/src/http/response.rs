//! [`ResponseDecoder`]: bytes from a server in, final responses out.

use super::buffer::ReadBuffer;
use super::chunked::{BodyDecoder, BodyProgress};
use super::error::HttpError;
use super::framing::{response_framing, Framing};
use super::head::{header_map, header_slots, version_from_minor, HeadScan, HeadScanner};
use super::{Limits, Trailers};
use ::http::{Method, Response, StatusCode};

/// Incremental response parser for one client connection.
///
/// The framing of a response depends on the request it answers (a response to HEAD has no
/// body), so the request method is passed on every call; pass the same method until the
/// response is returned. After an error every later call returns the same error.
#[derive(Debug)]
pub struct ResponseDecoder {
    limits: Limits,
    buf: ReadBuffer,
    stage: Stage,
    error: Option<HttpError>,
}

#[derive(Debug)]
enum Stage {
    Head(HeadScanner),
    Body {
        response: Box<Response<Vec<u8>>>,
        decoder: BodyDecoder,
    },
}

impl ResponseDecoder {
    pub fn new(limits: Limits) -> Self {
        ResponseDecoder {
            limits,
            buf: ReadBuffer::default(),
            stage: Stage::Head(HeadScanner::default()),
            error: None,
        }
    }

    /// Appends bytes as read from the connection. Bytes fed after an error are dropped.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            self.buf.push(bytes);
        }
    }

    /// The next final response; interim 1xx responses (other than 101) are skipped.
    /// `Ok(None)` means more bytes are needed.
    pub fn next_response(
        &mut self,
        request_method: &Method,
    ) -> Result<Option<Response<Vec<u8>>>, HttpError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let result = self.decode(request_method);
        if let Err(error) = &result {
            self.error = Some(error.clone());
            self.buf.discard();
        }
        result
    }

    /// The peer closed the connection: returns a response that was complete or ran until
    /// close, `Ok(None)` if the connection ended cleanly between responses, and
    /// [`HttpError::UnexpectedEof`] if it was cut inside one.
    pub fn finish(
        &mut self,
        request_method: &Method,
    ) -> Result<Option<Response<Vec<u8>>>, HttpError> {
        if let Some(response) = self.next_response(request_method)? {
            return Ok(Some(response));
        }
        let stage = std::mem::replace(&mut self.stage, Stage::Head(HeadScanner::default()));
        match stage {
            Stage::Body { response, decoder } if decoder.ends_at_close() => Ok(Some(*response)),
            Stage::Head(_) if self.buf.is_empty() => Ok(None),
            _ => {
                self.error = Some(HttpError::UnexpectedEof);
                self.buf.discard();
                Err(HttpError::UnexpectedEof)
            }
        }
    }

    /// Raw bytes held but not yet decoded.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes of an unfinished response are buffered, or a body is being read.
    pub fn is_mid_response(&self) -> bool {
        matches!(self.stage, Stage::Body { .. }) || !self.buf.is_empty()
    }

    fn decode(&mut self, request_method: &Method) -> Result<Option<Response<Vec<u8>>>, HttpError> {
        loop {
            match &mut self.stage {
                Stage::Head(scanner) => {
                    self.buf.skip_empty_lines();
                    let Some(response) = parse_head(scanner, &mut self.buf, &self.limits)? else {
                        return Ok(None);
                    };
                    let status = response.status();
                    if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
                        continue;
                    }
                    let framing = response_framing(request_method, status, response.headers())?;
                    if let Framing::Length(length) = framing {
                        if length > self.limits.max_body_bytes as u64 {
                            return Err(HttpError::BodyTooLarge {
                                limit: self.limits.max_body_bytes,
                            });
                        }
                    }
                    match BodyDecoder::for_framing(framing) {
                        None => return Ok(Some(response)),
                        Some(decoder) => {
                            self.stage = Stage::Body {
                                response: Box::new(response),
                                decoder,
                            }
                        }
                    }
                }
                Stage::Body { response, decoder } => {
                    match decoder.decode(&mut self.buf, response.body_mut(), &self.limits)? {
                        BodyProgress::NeedMore => return Ok(None),
                        BodyProgress::Done { trailers } => {
                            let stage = std::mem::replace(
                                &mut self.stage,
                                Stage::Head(HeadScanner::default()),
                            );
                            let Stage::Body { response, .. } = stage else {
                                return Ok(None);
                            };
                            let mut response = *response;
                            if !trailers.is_empty() {
                                response.extensions_mut().insert(Trailers(trailers));
                            }
                            return Ok(Some(response));
                        }
                    }
                }
            }
        }
    }
}

fn parse_head(
    scanner: &mut HeadScanner,
    buf: &mut ReadBuffer,
    limits: &Limits,
) -> Result<Option<Response<Vec<u8>>>, HttpError> {
    let pending = buf.pending();
    let end = match scanner.scan(pending, limits.max_header_bytes)? {
        HeadScan::Incomplete | HeadScan::StartLineReady => return Ok(None),
        HeadScan::Complete(end) => end,
    };
    let head = pending.get(..end).unwrap_or_default();
    let mut slots = header_slots(limits.max_headers);
    let mut parsed = httparse::Response::new(&mut slots);
    let result = parsed.parse(head);
    let Some(consumed) = scanner.parsed_head(result, head, end, limits.max_headers)? else {
        return Ok(None);
    };
    let code = parsed.code.unwrap_or_default();
    let status = StatusCode::from_u16(code)
        .map_err(|_| HttpError::MalformedStartLine(format!("invalid status code {code}")))?;
    let mut response = Response::new(Vec::new());
    *response.status_mut() = status;
    *response.version_mut() = version_from_minor(parsed.version)?;
    *response.headers_mut() = header_map(parsed.headers)?;
    scanner.reset();
    buf.consume(consumed);
    Ok(Some(response))
}
