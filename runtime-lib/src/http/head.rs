//! Finding and converting a message head (start line + header section).
//!
//! `httparse` parses a head from the start every time it is called, so calling it after each
//! read of a slowly arriving head would cost O(n²). [`HeadScanner`] instead remembers how far
//! it has looked for the blank line that ends the head and hands the bytes to `httparse` only
//! once that line is there (plus once after the first line, so garbage is rejected early).

use super::error::HttpError;
use ::http::{HeaderMap, HeaderName, HeaderValue, Version};

#[derive(Debug, Default)]
pub(crate) struct HeadScanner {
    /// Offset (into the pending bytes) up to which no head terminator starts.
    scanned: usize,
    start_line_checked: bool,
}

/// What the scanner found in the pending bytes.
pub(crate) enum HeadScan {
    /// The head ends at this offset (just past its blank line).
    Complete(usize),
    /// The first line is complete: worth one early parse to reject a bad start line.
    StartLineReady,
    Incomplete,
}

impl HeadScanner {
    pub(crate) fn reset(&mut self) {
        *self = HeadScanner::default();
    }

    pub(crate) fn scan(
        &mut self,
        pending: &[u8],
        max_head_bytes: usize,
    ) -> Result<HeadScan, HttpError> {
        let mut from = self.scanned.min(pending.len());
        let mut saw_newline = false;
        while let Some(offset) = pending
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        {
            let newline = from + offset;
            saw_newline = true;
            match (pending.get(newline + 1), pending.get(newline + 2)) {
                (Some(b'\n'), _) => return Self::complete(newline + 2, max_head_bytes),
                (Some(b'\r'), Some(b'\n')) => return Self::complete(newline + 3, max_head_bytes),
                // The terminator may still be arriving: look at this newline again next time.
                (None, _) | (Some(b'\r'), None) => {
                    self.scanned = newline;
                    return self.incomplete(pending, saw_newline, max_head_bytes);
                }
                _ => from = newline + 1,
            }
        }
        self.scanned = pending.len();
        self.incomplete(pending, saw_newline, max_head_bytes)
    }

    /// What `httparse` made of the complete head `head` (which ends at `end`): how many bytes
    /// it consumed, or `None` when it wanted more than the blank line we found (cannot happen
    /// with the current grammar, but must not loop), in which case scanning resumes after it.
    pub(crate) fn parsed_head(
        &mut self,
        parsed: httparse::Result<usize>,
        head: &[u8],
        end: usize,
        max_headers: usize,
    ) -> Result<Option<usize>, HttpError> {
        match parsed {
            Ok(httparse::Status::Complete(consumed)) => Ok(Some(consumed)),
            Ok(httparse::Status::Partial) => {
                self.scanned = end;
                Ok(None)
            }
            Err(error) => Err(map_parse_error(error, head, max_headers)),
        }
    }

    fn complete(end: usize, max_head_bytes: usize) -> Result<HeadScan, HttpError> {
        if end > max_head_bytes {
            return Err(HttpError::HeaderTooLarge {
                limit: max_head_bytes,
            });
        }
        Ok(HeadScan::Complete(end))
    }

    fn incomplete(
        &mut self,
        pending: &[u8],
        saw_newline: bool,
        max_head_bytes: usize,
    ) -> Result<HeadScan, HttpError> {
        if pending.len() > max_head_bytes {
            return Err(HttpError::HeaderTooLarge {
                limit: max_head_bytes,
            });
        }
        if saw_newline && !self.start_line_checked {
            self.start_line_checked = true;
            return Ok(HeadScan::StartLineReady);
        }
        Ok(HeadScan::Incomplete)
    }
}

/// Maps an `httparse` failure to our error, telling a foreign version (505) from garbage (400).
pub(crate) fn map_parse_error(
    error: httparse::Error,
    head: &[u8],
    max_headers: usize,
) -> HttpError {
    match error {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders { limit: max_headers },
        httparse::Error::Version if has_http_version_shape(head) => HttpError::UnsupportedVersion,
        httparse::Error::HeaderName | httparse::Error::HeaderValue => {
            HttpError::MalformedHeader(error.to_string())
        }
        other => HttpError::MalformedStartLine(other.to_string()),
    }
}

/// True when the start line carries a well-formed `HTTP/x.y` that is simply not 1.0/1.1.
fn has_http_version_shape(head: &[u8]) -> bool {
    let first_line = head
        .split(|&b| b == b'\n')
        .find(|line| !line.is_empty() && *line != b"\r");
    let Some(line) = first_line else { return false };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let is_version = |token: &[u8]| {
        matches!(token, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit())
    };
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    // A request line is exactly `method SP target SP version`; a status line starts with it.
    let request_version = parts.len() == 3 && parts.last().is_some_and(|token| is_version(token));
    request_version || parts.first().is_some_and(|token| is_version(token))
}

pub(crate) fn version_from_minor(minor: Option<u8>) -> Result<Version, HttpError> {
    match minor {
        Some(0) => Ok(Version::HTTP_10),
        Some(1) => Ok(Version::HTTP_11),
        _ => Err(HttpError::UnsupportedVersion),
    }
}

pub(crate) fn header_map(headers: &[httparse::Header<'_>]) -> Result<HeaderMap, HttpError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for header in headers {
        let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| {
            HttpError::MalformedHeader(format!("invalid field name `{}`", header.name))
        })?;
        let value = HeaderValue::from_bytes(header.value).map_err(|_| {
            HttpError::MalformedHeader(format!("invalid value for field `{}`", header.name))
        })?;
        map.append(name, value);
    }
    Ok(map)
}

/// A fresh header slot array for one `httparse` call; sized by the configured limit.
pub(crate) fn header_slots(max_headers: usize) -> Vec<httparse::Header<'static>> {
    vec![httparse::EMPTY_HEADER; max_headers]
}
