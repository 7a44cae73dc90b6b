//! Why a message could not be decoded, and which status code tells the peer so.

use ::http::StatusCode;

/// A framing or limit violation found while decoding a message.
///
/// For a server every variant means "answer with [`HttpError::status`] and close the
/// connection": after a framing error the position of the next request is unknown.
/// For a client every variant means the connection is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("malformed start line: {0}")]
    MalformedStartLine(String),
    #[error("malformed header: {0}")]
    MalformedHeader(String),
    #[error("malformed chunked body: {0}")]
    MalformedChunk(String),
    #[error("invalid Content-Length: {0}")]
    InvalidContentLength(String),
    /// Both Transfer-Encoding and Content-Length: the classic request-smuggling shape.
    #[error("message has both Transfer-Encoding and Content-Length")]
    ConflictingFraming,
    #[error("header section exceeds {limit} bytes")]
    HeaderTooLarge { limit: usize },
    #[error("more than {limit} header fields")]
    TooManyHeaders { limit: usize },
    #[error("body exceeds {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("unsupported HTTP version (only HTTP/1.0 and HTTP/1.1 are spoken)")]
    UnsupportedVersion,
    #[error("unsupported transfer coding `{0}` (only chunked is understood)")]
    UnsupportedTransferCoding(String),
    #[error("connection closed in the middle of a message")]
    UnexpectedEof,
}

impl HttpError {
    /// The status a server answers with before closing the connection.
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::HeaderTooLarge { .. } | HttpError::TooManyHeaders { .. } => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            HttpError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            HttpError::UnsupportedTransferCoding(_) => StatusCode::NOT_IMPLEMENTED,
            HttpError::MalformedStartLine(_)
            | HttpError::MalformedHeader(_)
            | HttpError::MalformedChunk(_)
            | HttpError::InvalidContentLength(_)
            | HttpError::ConflictingFraming
            | HttpError::UnexpectedEof => StatusCode::BAD_REQUEST,
        }
    }
}
