//! Fuzz entry points: the `cargo fuzz` targets (built with `--cfg fuzzing`) and the
//! stable-toolchain fuzz test in `tests.rs` both call these, so the logic the fuzzer explores
//! is also exercised by plain `cargo test`.
//!
//! Input layout: the first two bytes seed how the rest is split into reads (and pick limits
//! and the request method); the rest is the byte stream from the peer. Besides "never
//! panics", each entry point asserts invariants: bounded buffering, limits honoured, and that
//! whatever was decoded survives an encode → decode round trip.

use super::{
    encode_request, encode_response, HttpError, Limits, Method, RequestDecoder, RequestEvent, ResponseContext,
    ResponseDecoder, StatusCode, Trailers, Version,
};

/// Largest raw buffer a decoder may keep while it asks for more input: a head or trailer
/// section up to the limit, or a chunk-size line (capped at 4 KiB).
fn max_idle_buffer(limits: &Limits) -> usize {
    limits.max_header_bytes.max(4096)
}

/// Deterministic read sizes from a 16-bit seed (xorshift), mixing 1-byte and larger reads.
struct Splitter(u32);

impl Splitter {
    fn new(seed: [u8; 2]) -> Self {
        Splitter(u32::from(u16::from_le_bytes(seed)) | 0x1_0000)
    }

    fn next_len(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        match self.0 % 8 {
            0 => 1,
            1..=5 => 1 + (self.0 >> 8) as usize % 16,
            _ => 1 + (self.0 >> 8) as usize % 512,
        }
    }
}

fn small_or_default_limits(selector: u8) -> Limits {
    if selector & 1 == 0 {
        Limits::default()
    } else {
        Limits { max_header_bytes: 256, max_headers: 4, max_body_bytes: 64 }
    }
}

fn roomy_limits() -> Limits {
    Limits { max_header_bytes: 1 << 20, max_headers: 10_000, max_body_bytes: 1 << 26 }
}

/// Feeds `data` to a [`RequestDecoder`] in seeded splits, draining events after every read.
pub fn request_decoder(data: &[u8]) {
    let (seed, stream) = match data {
        [a, b, rest @ ..] => ([*a, *b], rest),
        _ => return,
    };
    let limits = small_or_default_limits(seed[0]);
    let mut decoder = RequestDecoder::new(limits);
    let mut splitter = Splitter::new(seed);
    let mut rest = stream;
    let mut failed: Option<HttpError> = None;
    while !rest.is_empty() && failed.is_none() {
        let (read, remainder) = rest.split_at(splitter.next_len().min(rest.len()));
        rest = remainder;
        decoder.feed(read);
        loop {
            match decoder.next_event() {
                Ok(Some(RequestEvent::Request(request))) => check_request_round_trip(&request, &limits),
                Ok(Some(RequestEvent::ContinueExpected)) => {}
                Ok(None) => {
                    assert!(decoder.wants_more_input(), "decoder stalled without asking for input");
                    assert!(
                        decoder.buffered_len() <= max_idle_buffer(&limits),
                        "decoder holds {} bytes while asking for more",
                        decoder.buffered_len()
                    );
                    break;
                }
                Err(error) => {
                    let _ = error.status();
                    failed = Some(error);
                    break;
                }
            }
        }
    }
    if let Some(error) = failed {
        assert!(!decoder.wants_more_input());
        assert_eq!(decoder.next_event().err(), Some(error), "an error must stick");
    }
}

fn check_request_round_trip(request: &super::Request<Vec<u8>>, limits: &Limits) {
    assert!(request.body().len() <= limits.max_body_bytes, "body over the limit was accepted");
    let mut wire = Vec::new();
    encode_request(request, &mut wire);
    let mut decoder = RequestDecoder::new(roomy_limits());
    decoder.feed(&wire);
    let again = loop {
        match decoder.next_event() {
            Ok(Some(RequestEvent::Request(again))) => break again,
            Ok(Some(RequestEvent::ContinueExpected)) => continue,
            other => panic!("re-encoded request did not decode: {other:?}\n{}", String::from_utf8_lossy(&wire)),
        }
    };
    assert_eq!(again.method(), request.method());
    assert_eq!(again.version(), request.version());
    assert_eq!(again.body(), request.body());
    assert_eq!(again.extensions().get::<Trailers>(), request.extensions().get::<Trailers>());
    assert!(!decoder.is_mid_request(), "re-encoded request left bytes behind");
}

/// Feeds `data` to a [`ResponseDecoder`] in seeded splits, then signals end of stream.
pub fn response_decoder(data: &[u8]) {
    let (seed, stream) = match data {
        [a, b, rest @ ..] => ([*a, *b], rest),
        _ => return,
    };
    let limits = small_or_default_limits(seed[0]);
    let method = match seed[1] % 4 {
        0 => Method::GET,
        1 => Method::HEAD,
        2 => Method::POST,
        _ => Method::CONNECT,
    };
    let mut decoder = ResponseDecoder::new(limits);
    let mut splitter = Splitter::new(seed);
    let mut rest = stream;
    loop {
        match decoder.next_response(&method) {
            Ok(Some(response)) => {
                check_response_round_trip(&response, &limits, &method);
                continue;
            }
            Ok(None) => {
                assert!(decoder.buffered_len() <= max_idle_buffer(&limits).max(limits.max_body_bytes));
            }
            Err(error) => {
                assert_eq!(decoder.next_response(&method).err(), Some(error), "an error must stick");
                return;
            }
        }
        if rest.is_empty() {
            break;
        }
        let (read, remainder) = rest.split_at(splitter.next_len().min(rest.len()));
        rest = remainder;
        decoder.feed(read);
    }
    while let Ok(Some(response)) = decoder.finish(&method) {
        check_response_round_trip(&response, &limits, &method);
    }
}

fn check_response_round_trip(response: &super::Response<Vec<u8>>, limits: &Limits, method: &Method) {
    assert!(response.body().len() <= limits.max_body_bytes, "body over the limit was accepted");
    let status = response.status();
    assert!(!status.is_informational() || status == StatusCode::SWITCHING_PROTOCOLS, "interim response leaked");
    let ctx = ResponseContext { request_method: method.clone(), request_version: Version::HTTP_11, keep_alive: true };
    let mut wire = Vec::new();
    encode_response(response, &ctx, &mut wire);
    let mut decoder = ResponseDecoder::new(roomy_limits());
    decoder.feed(&wire);
    let again = match decoder.next_response(method) {
        Ok(Some(again)) => again,
        other => panic!("re-encoded response did not decode: {other:?}\n{}", String::from_utf8_lossy(&wire)),
    };
    assert_eq!(again.status(), status);
    assert_eq!(again.body(), response.body());
}
