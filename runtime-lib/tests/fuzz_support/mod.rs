//! Fuzz entry points: the `cargo fuzz` targets (`fuzz/fuzz_targets/`, which include this
//! file by path) and the stable-toolchain fuzz test in `tests/http_codec.rs` both call these,
//! so the logic the fuzzer explores is also exercised by plain `cargo test`.
//!
//! Input layout: the first two bytes seed how the rest is split into reads (and pick limits
//! and the request method); the rest is the byte stream from the peer. Besides "never
//! panics", each entry point asserts invariants: bounded buffering, limits honoured, and that
//! whatever was decoded survives an encode → decode round trip.

use wasock::http::{
    encode_request, encode_response, HeaderMap, HttpError, Limits, Method, Request, RequestDecoder,
    RequestEvent, Response, ResponseContext, ResponseDecoder, StatusCode, Trailers, Version,
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
        Limits {
            max_header_bytes: 256,
            max_headers: 4,
            max_body_bytes: 64,
        }
    }
}

fn roomy_limits() -> Limits {
    Limits {
        max_header_bytes: 1 << 20,
        max_headers: 10_000,
        max_body_bytes: 1 << 26,
    }
}

/// A decoded message in comparable form: method or status, target, version, fields, body, trailers.
type Decoded = (
    String,
    String,
    Version,
    HeaderMap,
    Vec<u8>,
    Option<Trailers>,
);

fn decoded_request(request: &Request<Vec<u8>>) -> Decoded {
    let parts = (
        request.method().to_string(),
        request.uri().to_string(),
        request.version(),
    );
    let trailers = request.extensions().get::<Trailers>().cloned();
    (
        parts.0,
        parts.1,
        parts.2,
        request.headers().clone(),
        request.body().clone(),
        trailers,
    )
}

fn decoded_response(response: &Response<Vec<u8>>) -> Decoded {
    let trailers = response.extensions().get::<Trailers>().cloned();
    let status = response.status().to_string();
    (
        status,
        String::new(),
        response.version(),
        response.headers().clone(),
        response.body().clone(),
        trailers,
    )
}

/// Feeds `data` to a [`RequestDecoder`] in seeded splits, draining events after every read,
/// and checks that one single read decodes the same requests (split independence).
pub fn request_decoder(data: &[u8]) {
    let (seed, stream) = match data {
        [a, b, rest @ ..] => ([*a, *b], rest),
        _ => return,
    };
    let limits = small_or_default_limits(seed[0]);
    let split = decode_requests(stream, &limits, Some(Splitter::new(seed)));
    let whole = decode_requests(stream, &limits, None);
    assert_split_independent(split, whole, "requests");
}

/// Splits the next read off `rest`: all of it without a splitter.
fn next_read<'a>(rest: &mut &'a [u8], splitter: Option<&mut Splitter>) -> &'a [u8] {
    let read_len = splitter.map_or(rest.len(), Splitter::next_len);
    let (read, remainder) = rest.split_at(read_len.min(rest.len()));
    *rest = remainder;
    read
}

/// Split and whole decodes (messages, whether it failed) must agree.
fn assert_split_independent(split: (Vec<Decoded>, bool), whole: (Vec<Decoded>, bool), what: &str) {
    assert_eq!(split.0, whole.0, "{what} depend on how the input was split");
    assert_eq!(
        split.1, whole.1,
        "failure depends on how the input was split"
    );
}

fn decode_requests(
    stream: &[u8],
    limits: &Limits,
    mut splitter: Option<Splitter>,
) -> (Vec<Decoded>, bool) {
    let mut decoder = RequestDecoder::new(*limits);
    let mut decoded = Vec::new();
    let mut rest = stream;
    let mut failed: Option<HttpError> = None;
    while !rest.is_empty() && failed.is_none() {
        decoder.feed(next_read(&mut rest, splitter.as_mut()));
        loop {
            match decoder.next_event() {
                Ok(Some(RequestEvent::Request(request))) => {
                    check_request_round_trip(&request, limits);
                    decoded.push(decoded_request(&request));
                }
                Ok(Some(RequestEvent::ContinueExpected)) => {}
                Ok(None) => {
                    assert!(
                        decoder.wants_more_input(),
                        "decoder stalled without asking for input"
                    );
                    assert!(
                        decoder.buffered_len() <= max_idle_buffer(limits),
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
    if let Some(error) = &failed {
        assert!(!decoder.wants_more_input());
        assert_eq!(
            decoder.next_event().err().as_ref(),
            Some(error),
            "an error must stick"
        );
    }
    (decoded, failed.is_some())
}

fn check_request_round_trip(request: &Request<Vec<u8>>, limits: &Limits) {
    assert!(
        request.body().len() <= limits.max_body_bytes,
        "body over the limit was accepted"
    );
    let mut wire = Vec::new();
    encode_request(request, &mut wire);
    let mut decoder = RequestDecoder::new(roomy_limits());
    decoder.feed(&wire);
    let again = loop {
        match decoder.next_event() {
            Ok(Some(RequestEvent::Request(again))) => break again,
            Ok(Some(RequestEvent::ContinueExpected)) => continue,
            other => panic!(
                "re-encoded request did not decode: {other:?}\n{}",
                String::from_utf8_lossy(&wire)
            ),
        }
    };
    assert_eq!(again.method(), request.method());
    assert_eq!(again.version(), request.version());
    assert_eq!(again.body(), request.body());
    assert_eq!(
        again.extensions().get::<Trailers>(),
        request.extensions().get::<Trailers>()
    );
    assert!(
        !decoder.is_mid_request(),
        "re-encoded request left bytes behind"
    );
}

/// Feeds `data` to a [`ResponseDecoder`] in seeded splits, then signals end of stream, and
/// checks that one single read decodes the same responses.
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
    let split = decode_responses(stream, &limits, &method, Some(Splitter::new(seed)));
    let whole = decode_responses(stream, &limits, &method, None);
    assert_split_independent(split, whole, "responses");
}

fn decode_responses(
    stream: &[u8],
    limits: &Limits,
    method: &Method,
    mut splitter: Option<Splitter>,
) -> (Vec<Decoded>, bool) {
    let mut decoder = ResponseDecoder::new(*limits);
    let mut decoded = Vec::new();
    let mut rest = stream;
    loop {
        match decoder.next_response(method) {
            Ok(Some(response)) => {
                check_response_round_trip(&response, limits, method);
                decoded.push(decoded_response(&response));
                continue;
            }
            Ok(None) => {}
            Err(error) => {
                assert_eq!(
                    decoder.next_response(method).err(),
                    Some(error),
                    "an error must stick"
                );
                return (decoded, true);
            }
        }
        if rest.is_empty() {
            break;
        }
        decoder.feed(next_read(&mut rest, splitter.as_mut()));
    }
    loop {
        match decoder.finish(method) {
            Ok(Some(response)) => {
                check_response_round_trip(&response, limits, method);
                decoded.push(decoded_response(&response));
            }
            Ok(None) => return (decoded, false),
            Err(_) => return (decoded, true),
        }
    }
}

fn check_response_round_trip(response: &Response<Vec<u8>>, limits: &Limits, method: &Method) {
    assert!(
        response.body().len() <= limits.max_body_bytes,
        "body over the limit was accepted"
    );
    let status = response.status();
    assert!(
        !status.is_informational() || status == StatusCode::SWITCHING_PROTOCOLS,
        "interim response leaked"
    );
    let ctx = ResponseContext {
        request_method: method.clone(),
        request_version: Version::HTTP_11,
        keep_alive: true,
    };
    let mut wire = Vec::new();
    encode_response(response, &ctx, &mut wire);
    let mut decoder = ResponseDecoder::new(roomy_limits());
    decoder.feed(&wire);
    let again = match decoder.next_response(method) {
        Ok(Some(again)) => again,
        other => panic!(
            "re-encoded response did not decode: {other:?}\n{}",
            String::from_utf8_lossy(&wire)
        ),
    };
    assert_eq!(again.status(), status);
    assert_eq!(again.body(), response.body());
}
