//! Where a message body ends (RFC 9112 §6): from Transfer-Encoding, Content-Length, the
//! request method and the status code. Ambiguous framing is rejected rather than guessed,
//! because two parties guessing differently is how request smuggling works.

use super::error::HttpError;
use ::http::{header, HeaderMap, Method, StatusCode, Version};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Empty,
    Length(u64),
    Chunked,
    /// Only for responses: the body runs until the server closes the connection.
    UntilClose,
}

pub(crate) fn request_framing(version: Version, headers: &HeaderMap) -> Result<Framing, HttpError> {
    let has_transfer_encoding = headers.contains_key(header::TRANSFER_ENCODING);
    if has_transfer_encoding {
        if headers.contains_key(header::CONTENT_LENGTH) {
            return Err(HttpError::ConflictingFraming);
        }
        if version == Version::HTTP_10 {
            return Err(HttpError::MalformedHeader(
                "Transfer-Encoding is not defined for HTTP/1.0 requests".to_owned(),
            ));
        }
        let codings = transfer_codings(headers)?;
        // We decode no content codings, so anything but chunked is "not implemented" (501).
        if let Some(unknown) = codings.iter().find(|coding| coding.as_str() != "chunked") {
            return Err(HttpError::UnsupportedTransferCoding(unknown.clone()));
        }
        return if codings.len() == 1 {
            Ok(Framing::Chunked)
        } else {
            Err(HttpError::MalformedHeader(
                "chunked must be applied exactly once".to_owned(),
            ))
        };
    }
    match content_length(headers, false)? {
        Some(0) | None => Ok(Framing::Empty),
        Some(length) => Ok(Framing::Length(length)),
    }
}

pub(crate) fn response_framing(
    request_method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<Framing, HttpError> {
    let is_tunnel = *request_method == Method::CONNECT && status.is_success();
    if *request_method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || is_tunnel
    {
        return Ok(Framing::Empty);
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        // RFC 9112 §6.3 lets TE override CL, but says such a message "ought to be handled as
        // an error": a client has nothing to gain from accepting it.
        if headers.contains_key(header::CONTENT_LENGTH) {
            return Err(HttpError::ConflictingFraming);
        }
        let codings = transfer_codings(headers)?;
        let chunked_count = codings
            .iter()
            .filter(|coding| coding.as_str() == "chunked")
            .count();
        return match (codings.last().map(String::as_str), chunked_count) {
            // Content codings under chunked (e.g. gzip) stay applied to the body we return.
            (Some("chunked"), 1) => Ok(Framing::Chunked),
            (Some("chunked"), _) => Err(HttpError::MalformedHeader(
                "chunked must be applied exactly once".to_owned(),
            )),
            // Without chunked last, only the end of the connection ends the body.
            _ => Ok(Framing::UntilClose),
        };
    }
    match content_length(headers, true)? {
        Some(0) => Ok(Framing::Empty),
        Some(length) => Ok(Framing::Length(length)),
        None => Ok(Framing::UntilClose),
    }
}

/// The transfer codings in order, lowercased; an empty list is an error.
fn transfer_codings(headers: &HeaderMap) -> Result<Vec<String>, HttpError> {
    let mut codings = Vec::new();
    for value in headers.get_all(header::TRANSFER_ENCODING) {
        let text = value
            .to_str()
            .map_err(|_| HttpError::MalformedHeader("Transfer-Encoding is not ASCII".to_owned()))?;
        for element in text.split(',') {
            // Parameters (`;name=value`) do not change which coding it is.
            let name = element.split(';').next().unwrap_or_default().trim();
            if !name.is_empty() {
                codings.push(name.to_ascii_lowercase());
            }
        }
    }
    if codings.is_empty() {
        return Err(HttpError::MalformedHeader(
            "empty Transfer-Encoding".to_owned(),
        ));
    }
    Ok(codings)
}

/// The declared body length. A request may carry exactly one value; a response may repeat the
/// same value (some servers do), but never two different ones.
fn content_length(
    headers: &HeaderMap,
    allow_identical_repeats: bool,
) -> Result<Option<u64>, HttpError> {
    let mut found: Option<u64> = None;
    let mut count = 0usize;
    for value in headers.get_all(header::CONTENT_LENGTH) {
        for element in value.as_bytes().split(|&b| b == b',') {
            let element = element.trim_ascii();
            let length = parse_decimal(element).ok_or_else(|| {
                HttpError::InvalidContentLength(format!("`{}`", String::from_utf8_lossy(element)))
            })?;
            count += 1;
            match found {
                Some(previous) if previous != length => {
                    return Err(HttpError::InvalidContentLength(
                        "conflicting values".to_owned(),
                    ))
                }
                Some(_) if !allow_identical_repeats => {
                    return Err(HttpError::InvalidContentLength("repeated".to_owned()))
                }
                _ => found = Some(length),
            }
        }
    }
    if count == 0 && headers.contains_key(header::CONTENT_LENGTH) {
        return Err(HttpError::InvalidContentLength("empty".to_owned()));
    }
    Ok(found)
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |total, &digit| {
        total.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

/// Whether any Connection header lists `token` (case-insensitively).
pub(crate) fn connection_has(headers: &HeaderMap, token: &str) -> bool {
    headers.get_all(header::CONNECTION).iter().any(|value| {
        value
            .as_bytes()
            .split(|&b| b == b',')
            .any(|element| element.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// `Expect: 100-continue`, which HTTP/1.0 recipients must ignore (RFC 9110 §10.1.1).
pub(crate) fn expects_continue(version: Version, headers: &HeaderMap) -> bool {
    version != Version::HTTP_10
        && headers.get_all(header::EXPECT).iter().any(|value| {
            value
                .as_bytes()
                .trim_ascii()
                .eq_ignore_ascii_case(b"100-continue")
        })
}

/// Whether the final transfer coding a sender set is chunked: then we chunk-encode.
pub(crate) fn sender_wants_chunked(headers: &HeaderMap) -> bool {
    let codings: Vec<&str> = headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|text| text.split(','))
        .map(|element| element.split(';').next().unwrap_or_default().trim())
        .filter(|name| !name.is_empty())
        .collect();
    let last = codings.last();
    last.is_some_and(|name| name.eq_ignore_ascii_case("chunked"))
}
