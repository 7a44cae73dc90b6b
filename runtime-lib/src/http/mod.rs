//! HTTP/1.1 codec: incremental request/response decoding and encoding on `httparse` and the
//! `http` crate's types. Sans-I/O: callers feed bytes read from a socket and write out bytes
//! produced here, so the same code serves the blocking and the event-loop servers and clients.

pub use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version};

/// Bounds on what a peer may make us buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_header_bytes: 16 * 1024, max_headers: 100, max_body_bytes: 8 * 1024 * 1024 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("malformed request line or header section: {0}")]
    MalformedHead(String),
}

impl HttpError {
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

pub const CONTINUE_RESPONSE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

#[derive(Debug)]
pub enum RequestEvent {
    ContinueExpected,
    Request(Request<Vec<u8>>),
}

#[derive(Debug)]
pub struct RequestDecoder {
    limits: Limits,
}

impl RequestDecoder {
    pub fn new(limits: Limits) -> Self {
        RequestDecoder { limits }
    }
    pub fn feed(&mut self, _bytes: &[u8]) {
        let _ = self.limits;
        todo!()
    }
    pub fn next_event(&mut self) -> Result<Option<RequestEvent>, HttpError> {
        todo!()
    }
    pub fn is_mid_request(&self) -> bool {
        todo!()
    }
    pub fn buffered_len(&self) -> usize {
        todo!()
    }
    pub fn wants_more_input(&self) -> bool {
        todo!()
    }
}

pub fn wants_keep_alive(_version: Version, _headers: &HeaderMap) -> bool {
    todo!()
}

#[derive(Debug, Clone)]
pub struct ResponseContext {
    pub request_method: Method,
    pub request_version: Version,
    pub keep_alive: bool,
}

pub fn encode_response(_response: &Response<Vec<u8>>, _ctx: &ResponseContext, _out: &mut Vec<u8>) {
    todo!()
}

pub fn encode_request(_request: &Request<Vec<u8>>, _out: &mut Vec<u8>) {
    todo!()
}

#[derive(Debug)]
pub struct ResponseDecoder {
    limits: Limits,
}

impl ResponseDecoder {
    pub fn new(limits: Limits) -> Self {
        ResponseDecoder { limits }
    }
    pub fn feed(&mut self, _bytes: &[u8]) {
        let _ = self.limits;
        todo!()
    }
    pub fn next_response(&mut self, _request_method: &Method) -> Result<Option<Response<Vec<u8>>>, HttpError> {
        todo!()
    }
    pub fn finish(&mut self, _request_method: &Method) -> Result<Option<Response<Vec<u8>>>, HttpError> {
        todo!()
    }
}
