//! Incremental body decoding: by length, chunked (with extensions and trailers), or until close.
//!
//! Body bytes move from the read buffer into the body as they arrive, so a large body is
//! copied once and never rescanned; only the short chunk-size and trailer lines wait for
//! their line end.

use super::buffer::ReadBuffer;
use super::error::HttpError;
use super::framing::Framing;
use super::head::{header_map, header_slots, map_parse_error, HeadScan, HeadScanner};
use super::Limits;
use ::http::HeaderMap;

/// A chunk-size line longer than this is an attack, not an extension (hyper uses a similar cap).
const MAX_CHUNK_SIZE_LINE: usize = 4096;

#[derive(Debug)]
pub(crate) enum BodyDecoder {
    Length { remaining: u64 },
    Chunked(ChunkedState),
    UntilClose,
}

#[derive(Debug)]
pub(crate) enum ChunkedState {
    Size { scanned: usize },
    Data { remaining: u64 },
    DataEnd,
    Trailers(HeadScanner),
}

pub(crate) enum BodyProgress {
    NeedMore,
    Done { trailers: HeaderMap },
}

impl BodyDecoder {
    /// The decoder for a framing that has a body; `None` for [`Framing::Empty`].
    pub(crate) fn for_framing(framing: Framing) -> Option<BodyDecoder> {
        match framing {
            Framing::Empty | Framing::Length(0) => None,
            Framing::Length(remaining) => Some(BodyDecoder::Length { remaining }),
            Framing::Chunked => Some(BodyDecoder::Chunked(ChunkedState::Size { scanned: 0 })),
            Framing::UntilClose => Some(BodyDecoder::UntilClose),
        }
    }

    /// Moves as much of the body as is buffered into `body`.
    pub(crate) fn decode(
        &mut self,
        buf: &mut ReadBuffer,
        body: &mut Vec<u8>,
        limits: &Limits,
    ) -> Result<BodyProgress, HttpError> {
        match self {
            BodyDecoder::Length { remaining } => {
                copy_body_bytes(buf, body, remaining);
                Ok(if *remaining == 0 {
                    BodyProgress::Done {
                        trailers: HeaderMap::new(),
                    }
                } else {
                    BodyProgress::NeedMore
                })
            }
            BodyDecoder::UntilClose => {
                if body.len().saturating_add(buf.len()) > limits.max_body_bytes {
                    return Err(HttpError::BodyTooLarge {
                        limit: limits.max_body_bytes,
                    });
                }
                body.extend_from_slice(buf.pending());
                buf.consume(buf.len());
                Ok(BodyProgress::NeedMore)
            }
            BodyDecoder::Chunked(state) => decode_chunked(state, buf, body, limits),
        }
    }

    /// Whether the end of the connection is a valid end of this body.
    pub(crate) fn ends_at_close(&self) -> bool {
        matches!(self, BodyDecoder::UntilClose)
    }
}

fn copy_body_bytes(buf: &mut ReadBuffer, body: &mut Vec<u8>, remaining: &mut u64) {
    let available = buf.pending();
    let take = usize::try_from(*remaining)
        .unwrap_or(usize::MAX)
        .min(available.len());
    if let Some(bytes) = available.get(..take) {
        body.extend_from_slice(bytes);
        buf.consume(take);
        *remaining -= take as u64;
    }
}

fn decode_chunked(
    state: &mut ChunkedState,
    buf: &mut ReadBuffer,
    body: &mut Vec<u8>,
    limits: &Limits,
) -> Result<BodyProgress, HttpError> {
    loop {
        match state {
            ChunkedState::Size { scanned } => {
                let pending = buf.pending();
                let from = (*scanned).min(pending.len());
                let Some(newline) = pending
                    .get(from..)
                    .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
                else {
                    if pending.len() > MAX_CHUNK_SIZE_LINE {
                        return Err(HttpError::MalformedChunk(
                            "chunk-size line too long".to_owned(),
                        ));
                    }
                    *scanned = pending.len();
                    return Ok(BodyProgress::NeedMore);
                };
                let line_len = from + newline + 1;
                let line = pending.get(..line_len).unwrap_or_default();
                let size = parse_chunk_size_line(line)?;
                buf.consume(line_len);
                if size == 0 {
                    *state = ChunkedState::Trailers(HeadScanner::default());
                } else {
                    if (body.len() as u64).saturating_add(size) > limits.max_body_bytes as u64 {
                        return Err(HttpError::BodyTooLarge {
                            limit: limits.max_body_bytes,
                        });
                    }
                    *state = ChunkedState::Data { remaining: size };
                }
            }
            ChunkedState::Data { remaining } => {
                copy_body_bytes(buf, body, remaining);
                if *remaining > 0 {
                    return Ok(BodyProgress::NeedMore);
                }
                *state = ChunkedState::DataEnd;
            }
            ChunkedState::DataEnd => {
                let pending = buf.pending();
                if pending.starts_with(b"\r\n") {
                    buf.consume(2);
                    *state = ChunkedState::Size { scanned: 0 };
                } else if pending.is_empty() || pending == b"\r" {
                    return Ok(BodyProgress::NeedMore);
                } else {
                    return Err(HttpError::MalformedChunk(
                        "chunk data not followed by CRLF".to_owned(),
                    ));
                }
            }
            ChunkedState::Trailers(scanner) => return decode_trailers(scanner, buf, limits),
        }
    }
}

/// One `chunk-size [ chunk-ext ] CRLF` line, including its CRLF.
fn parse_chunk_size_line(line: &[u8]) -> Result<u64, HttpError> {
    let malformed = || {
        let shown = String::from_utf8_lossy(line.get(..line.len().min(40)).unwrap_or_default())
            .into_owned();
        HttpError::MalformedChunk(format!("invalid chunk-size line {shown:?}"))
    };
    // httparse reads an empty size as 0 and a lone LF inside an extension as data: both are
    // framing ambiguities, so insist on a hex digit first and CRLF as the only line end.
    if !line.first().is_some_and(u8::is_ascii_hexdigit) || !line.ends_with(b"\r\n") {
        return Err(malformed());
    }
    match httparse::parse_chunk_size(line) {
        Ok(httparse::Status::Complete((consumed, size))) if consumed == line.len() => Ok(size),
        _ => Err(malformed()),
    }
}

fn decode_trailers(
    scanner: &mut HeadScanner,
    buf: &mut ReadBuffer,
    limits: &Limits,
) -> Result<BodyProgress, HttpError> {
    let pending = buf.pending();
    if pending.starts_with(b"\r\n") {
        buf.consume(2);
        return Ok(BodyProgress::Done {
            trailers: HeaderMap::new(),
        });
    }
    if pending.is_empty() || pending == b"\r" {
        return Ok(BodyProgress::NeedMore);
    }
    if pending.starts_with(b"\n") {
        return Err(HttpError::MalformedChunk(
            "bare LF ends the chunked body".to_owned(),
        ));
    }
    // A trailer section is a header section without a start line; a fresh scanner would flag
    // its first line for an early start-line check, which simply reports incomplete here.
    let end = match scanner.scan(pending, limits.max_header_bytes)? {
        HeadScan::Complete(end) => end,
        HeadScan::StartLineReady | HeadScan::Incomplete => return Ok(BodyProgress::NeedMore),
    };
    let block = pending.get(..end).unwrap_or_default();
    let mut slots = header_slots(limits.max_headers);
    match httparse::parse_headers(block, &mut slots) {
        Ok(httparse::Status::Complete((consumed, fields))) if consumed == end => {
            let trailers = header_map(fields)?;
            buf.consume(end);
            Ok(BodyProgress::Done { trailers })
        }
        Ok(_) => Err(HttpError::MalformedHeader(
            "malformed trailer section".to_owned(),
        )),
        Err(error) => Err(map_parse_error(error, block, limits.max_headers)),
    }
}
