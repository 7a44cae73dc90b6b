//! Codec tests: split reads at every offset, framing edge cases, limits, encoder round trips,
//! and a deterministic mutation fuzz run on the stable toolchain.
//!
//! They live outside `src/` and use only the public API, so the copy of `src/` that
//! `cargo wasock new` vendors into apps carries no tests (ARCHITECTURE.md, vendoring).

mod fuzz_support;

use wasock::http::*;

/// A decoded request in comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    method: String,
    uri: String,
    version: Version,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    trailers: Option<Trailers>,
}

fn seen(request: &Request<Vec<u8>>) -> Seen {
    Seen {
        method: request.method().to_string(),
        uri: request.uri().to_string(),
        version: request.version(),
        headers: request
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect(),
        body: request.body().clone(),
        trailers: request.extensions().get::<Trailers>().cloned(),
    }
}

#[derive(Debug, Default)]
struct Outcome {
    requests: Vec<Seen>,
    continues: usize,
    error: Option<HttpError>,
}

fn drain(decoder: &mut RequestDecoder, outcome: &mut Outcome) {
    while outcome.error.is_none() {
        match decoder.next_event() {
            Ok(Some(RequestEvent::Request(request))) => outcome.requests.push(seen(&request)),
            Ok(Some(RequestEvent::ContinueExpected)) => outcome.continues += 1,
            Ok(None) => return,
            Err(error) => outcome.error = Some(error),
        }
    }
}

fn decode_in_reads<'a>(reads: impl IntoIterator<Item = &'a [u8]>, limits: Limits) -> Outcome {
    let mut decoder = RequestDecoder::new(limits);
    let mut outcome = Outcome::default();
    for read in reads {
        decoder.feed(read);
        drain(&mut decoder, &mut outcome);
    }
    outcome
}

fn decode(input: &[u8]) -> Outcome {
    decode_in_reads([input], Limits::default())
}

fn decode_error(input: &[u8]) -> HttpError {
    decode_with_limits_error(input, Limits::default())
}

fn decode_with_limits_error(input: &[u8], limits: Limits) -> HttpError {
    let outcome = decode_in_reads([input], limits);
    match outcome.error {
        Some(error) => error,
        None => panic!(
            "expected an error for {:?}, got {:?}",
            String::from_utf8_lossy(input),
            outcome.requests
        ),
    }
}

/// Decodes `input` split in two at every offset, and byte by byte, and checks every way
/// yields exactly the requests of a single read.
fn assert_same_at_every_split(input: &[u8]) -> Vec<Seen> {
    let whole = decode(input);
    assert!(whole.error.is_none(), "{:?}", whole.error);
    for offset in 0..=input.len() {
        let (first, second) = input.split_at(offset);
        let split = decode_in_reads([first, second], Limits::default());
        assert_eq!(split.error, None, "split at {offset}");
        assert_eq!(split.requests, whole.requests, "split at {offset}");
    }
    let bytewise = decode_in_reads(input.chunks(1), Limits::default());
    assert_eq!(bytewise.error, None);
    assert_eq!(bytewise.requests, whole.requests, "byte by byte");
    whole.requests
}

fn header<'a>(request: &'a Seen, name: &str) -> Option<&'a [u8]> {
    request
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

#[test]
fn get_without_body_decodes() {
    let requests = assert_same_at_every_split(
        b"GET /path?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
    );
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.uri, "/path?q=1");
    assert_eq!(request.version, Version::HTTP_11);
    assert_eq!(header(request, "host"), Some(&b"example.com"[..]));
    assert!(request.body.is_empty());
}

#[test]
fn content_length_body_at_every_split() {
    let requests = assert_same_at_every_split(
        b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 14\r\n\r\nname=WasmEdge!",
    );
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body, b"name=WasmEdge!");
}

#[test]
fn chunked_body_with_extensions_and_trailers_at_every_split() {
    let input = b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;name=value;flag\r\nhello\r\n\
        7 ; quoted=\"a;b\"\r\n, world\r\n\
        A\r\n0123456789\r\n\
        0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n";
    let requests = assert_same_at_every_split(input);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body, b"hello, world0123456789");
    let trailers = requests[0].trailers.clone().expect("trailers kept");
    assert_eq!(
        trailers.0.get("x-checksum").map(|v| v.as_bytes()),
        Some(&b"abc"[..])
    );
    assert_eq!(trailers.0.len(), 2);
}

#[test]
fn chunked_body_without_trailers_has_no_trailer_extension() {
    let requests = assert_same_at_every_split(
        b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert_eq!(requests[0].body, b"abc");
    assert_eq!(requests[0].trailers, None);
}

#[test]
fn pipelined_requests_come_out_in_order_at_every_split() {
    let input = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n\
        POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
        POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n\
        \r\n\
        GET /4 HTTP/1.0\r\n\r\n";
    let requests = assert_same_at_every_split(input);
    let uris: Vec<&str> = requests.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["/1", "/2", "/3", "/4"]);
    assert_eq!(requests[1].body, b"abc");
    assert_eq!(requests[2].body, b"de");
    assert_eq!(requests[3].version, Version::HTTP_10);
}

#[test]
fn two_hundred_pipelined_requests_in_one_read() {
    let mut input = Vec::new();
    for index in 0..200 {
        input.extend_from_slice(
            format!("POST /{index} HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx").as_bytes(),
        );
    }
    let outcome = decode(&input);
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.requests.len(), 200);
    for (index, request) in outcome.requests.iter().enumerate() {
        assert_eq!(request.uri, format!("/{index}"));
    }
}

#[test]
fn backpressure_and_mid_request_state() {
    let mut decoder = RequestDecoder::new(Limits::default());
    assert!(decoder.wants_more_input());
    assert!(!decoder.is_mid_request());
    decoder.feed(b"GET /a HTTP/1.1\r\nHo");
    assert!(decoder.is_mid_request());
    assert!(decoder.wants_more_input());
    assert!(matches!(decoder.next_event(), Ok(None)));
    decoder.feed(b"st: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    // A complete request waits: a server may stop reading now.
    assert!(!decoder.wants_more_input());
    assert!(matches!(decoder.next_event(), Ok(Some(RequestEvent::Request(r))) if r.uri() == "/a"));
    assert!(
        !decoder.wants_more_input(),
        "the second request is already decoded"
    );
    assert!(matches!(decoder.next_event(), Ok(Some(RequestEvent::Request(r))) if r.uri() == "/b"));
    assert!(matches!(decoder.next_event(), Ok(None)));
    assert!(decoder.wants_more_input());
    assert!(!decoder.is_mid_request());
    assert_eq!(decoder.buffered_len(), 0);
    decoder.feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab");
    assert!(matches!(decoder.next_event(), Ok(None)));
    assert!(decoder.is_mid_request(), "body in progress");
    assert_eq!(
        decoder.buffered_len(),
        0,
        "body bytes moved out of the raw buffer"
    );
}

#[test]
fn empty_lines_between_requests_are_skipped() {
    let outcome = decode(b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n\r\n");
    assert_eq!(outcome.requests.len(), 1);
    assert_eq!(outcome.error, None);
}

#[test]
fn bare_lf_heads_are_accepted() {
    let outcome = decode(b"GET / HTTP/1.1\nHost: h\n\nGET /2 HTTP/1.1\nHost: h\n\n");
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.requests.len(), 2);
}

#[test]
fn keep_alive_rules() {
    let mut headers = HeaderMap::new();
    assert!(wants_keep_alive(Version::HTTP_11, &headers));
    assert!(!wants_keep_alive(Version::HTTP_10, &headers));
    headers.insert("connection", HeaderValue::from_static("Keep-Alive"));
    assert!(wants_keep_alive(Version::HTTP_10, &headers));
    headers.insert("connection", HeaderValue::from_static("upgrade, CLOSE"));
    assert!(!wants_keep_alive(Version::HTTP_11, &headers));
    assert!(!wants_keep_alive(Version::HTTP_10, &headers));
    headers.insert("connection", HeaderValue::from_static("keep-alive, close"));
    assert!(!wants_keep_alive(Version::HTTP_10, &headers));
    assert!(!wants_keep_alive(Version::HTTP_09, &HeaderMap::new()));
}

#[test]
fn response_context_follows_request() {
    let request = Request::builder()
        .version(Version::HTTP_10)
        .header("connection", "keep-alive")
        .body(())
        .unwrap();
    let ctx = ResponseContext::for_request(&request);
    assert!(ctx.keep_alive);
    assert_eq!(ctx.request_version, Version::HTTP_10);
    let closing = Response::builder()
        .header("connection", "close")
        .body(Vec::new())
        .unwrap();
    assert!(!response_keeps_alive(&closing, &ctx));
}

#[test]
fn header_section_too_large_is_431() {
    let limits = Limits {
        max_header_bytes: 64,
        ..Limits::default()
    };
    let long = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX-Long: {}\r\n\r\n",
        "a".repeat(100)
    );
    assert_eq!(
        decode_with_limits_error(long.as_bytes(), limits).status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    // Never completed: refused as soon as the buffered head passes the limit.
    let endless = format!("GET / HTTP/1.1\r\nX-Long: {}", "a".repeat(100));
    let error = decode_with_limits_error(endless.as_bytes(), limits);
    assert_eq!(error, HttpError::HeaderTooLarge { limit: 64 });
    // Exactly at the limit is fine.
    let exact = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    let limits = Limits {
        max_header_bytes: exact.len(),
        ..Limits::default()
    };
    assert_eq!(decode_in_reads([&exact[..]], limits).requests.len(), 1);
}

#[test]
fn too_many_headers_is_431() {
    let limits = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    let input = b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    let error = decode_with_limits_error(input, limits);
    assert_eq!(error, HttpError::TooManyHeaders { limit: 3 });
    assert_eq!(error.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let trailers = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    assert_eq!(
        decode_with_limits_error(trailers, limits).status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

#[test]
fn body_too_large_is_413_before_reading_it() {
    let limits = Limits {
        max_body_bytes: 10,
        ..Limits::default()
    };
    // Refused from the head alone, so a server can answer without reading 1 GB.
    let error = decode_with_limits_error(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000000\r\n\r\n",
        limits,
    );
    assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let chunked =
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\n";
    assert_eq!(
        decode_with_limits_error(chunked, limits),
        HttpError::BodyTooLarge { limit: 10 }
    );
    let at_limit = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";
    assert_eq!(decode_in_reads([&at_limit[..]], limits).requests.len(), 1);
}

#[test]
fn malformed_requests_are_400() {
    let cases: &[&[u8]] = &[
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nNo-Colon\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",                          // no Host
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",    // two Hosts
        b"GET / HTTP/1.1\r\nHost: h\r\n folded: x\r\n\r\n", // obs-fold
        b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",              // space before colon (smuggling)
        b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",              // double space in request line
        b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",            // space in target
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    ];
    for case in cases {
        let error = decode_error(case);
        assert_eq!(
            error.status(),
            StatusCode::BAD_REQUEST,
            "{:?} gave {error}",
            String::from_utf8_lossy(case)
        );
    }
}

#[test]
fn bad_chunk_framing_is_400() {
    let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    let bodies = [
        "\r\n",                        // empty size
        ";ext\r\nabc\r\n",             // size missing before extension
        "zz\r\n",                      // not hex
        "-1\r\n",                      // sign
        "11111111111111111\r\n",       // more than 16 hex digits
        "3\r\nabcX\r\n0\r\n\r\n",      // data longer than its size
        "3\nabc\r\n0\r\n\r\n",         // bare LF after the size
        "3;a=\nb\r\nabc\r\n0\r\n\r\n", // bare LF hidden in an extension
        "0\r\n\n",                     // bare LF ends the body
    ];
    for body in bodies {
        let input = format!("{head}{body}");
        let error = decode_error(input.as_bytes());
        assert!(
            matches!(error, HttpError::MalformedChunk(_)),
            "{body:?} gave {error:?}"
        );
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
    let endless_size_line = format!("{head}1;{}", "e".repeat(5000));
    assert!(matches!(
        decode_error(endless_size_line.as_bytes()),
        HttpError::MalformedChunk(_)
    ));
}

#[test]
fn bad_request_line_is_rejected_before_headers_arrive() {
    let outcome = decode_in_reads([&b"GE\x01T / HTTP/1.1\r\nHost: h"[..]], Limits::default());
    assert_eq!(
        outcome.error.map(|e| e.status()),
        Some(StatusCode::BAD_REQUEST)
    );
}

#[test]
fn other_versions_are_505_and_other_codings_501() {
    assert_eq!(
        decode_error(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n").status(),
        StatusCode::HTTP_VERSION_NOT_SUPPORTED
    );
    assert_eq!(
        decode_error(b"GET / HTTP/1.1\r\n\r\n").status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        decode_error(b"GET / HTTX/1.1\r\nHost: h\r\n\r\n").status(),
        StatusCode::BAD_REQUEST
    );
    for coding in ["gzip", "gzip, chunked", "identity"] {
        let input = format!("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: {coding}\r\n\r\n");
        assert_eq!(
            decode_error(input.as_bytes()).status(),
            StatusCode::NOT_IMPLEMENTED,
            "{coding}"
        );
    }
    // Coding names are case-insensitive.
    let upper = decode(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    );
    assert_eq!(upper.requests[0].body, b"x");
}

#[test]
fn errors_stick_and_later_input_is_dropped() {
    let mut decoder = RequestDecoder::new(Limits::default());
    decoder.feed(b"BAD\r\n\r\n");
    let error = decoder.next_event().unwrap_err();
    assert!(!decoder.wants_more_input());
    decoder.feed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(decoder.buffered_len(), 0);
    assert_eq!(decoder.next_event().unwrap_err(), error);
}

#[test]
fn a_request_before_an_error_is_still_delivered() {
    let outcome = decode(b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\nBAD\r\n\r\n");
    assert_eq!(outcome.requests.len(), 1);
    assert_eq!(outcome.requests[0].uri, "/ok");
    assert_eq!(
        outcome.error.map(|e| e.status()),
        Some(StatusCode::BAD_REQUEST)
    );
}

#[test]
fn expect_continue_is_signalled_once_before_the_body() {
    let head = b"POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n";
    let mut decoder = RequestDecoder::new(Limits::default());
    decoder.feed(head);
    assert!(matches!(
        decoder.next_event(),
        Ok(Some(RequestEvent::ContinueExpected))
    ));
    assert!(matches!(decoder.next_event(), Ok(None)));
    decoder.feed(b"da");
    assert!(matches!(decoder.next_event(), Ok(None)));
    decoder.feed(b"ta");
    match decoder.next_event() {
        Ok(Some(RequestEvent::Request(request))) => assert_eq!(request.body(), b"data"),
        other => panic!("expected the request, got {other:?}"),
    }
    assert!(matches!(decoder.next_event(), Ok(None)));

    // Body already sent along: the client is not waiting, so no cue.
    let mut eager = head.to_vec();
    eager.extend_from_slice(b"data");
    let outcome = decode(&eager);
    assert_eq!((outcome.continues, outcome.requests.len()), (0, 1));
    // HTTP/1.0 must ignore Expect; a request without a body has nothing to wait for.
    assert_eq!(
        decode(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").continues,
        0
    );
    assert_eq!(
        decode(b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n").continues,
        0
    );
    // Chunked bodies get the cue too; a too-large body gets the error instead of the cue.
    assert_eq!(decode(b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n").continues, 1);
    let limits = Limits {
        max_body_bytes: 1,
        ..Limits::default()
    };
    let refused = decode_in_reads([&head[..]], limits);
    assert_eq!(
        (refused.continues, refused.error.map(|e| e.status())),
        (0, Some(StatusCode::PAYLOAD_TOO_LARGE))
    );
    assert_eq!(CONTINUE_RESPONSE, b"HTTP/1.1 100 Continue\r\n\r\n");
}

#[test]
fn megabyte_bodies_in_small_reads() {
    let body: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut input = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    input.extend_from_slice(&body);
    input.extend_from_slice(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    for piece in body.chunks(3000) {
        input.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        input.extend_from_slice(piece);
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(b"0\r\n\r\n");
    for read_size in [1, 997, 65536] {
        let outcome = decode_in_reads(input.chunks(read_size), Limits::default());
        assert_eq!(outcome.error, None);
        assert_eq!(outcome.requests.len(), 2);
        assert!(
            outcome.requests.iter().all(|r| r.body == body),
            "read size {read_size}"
        );
    }
}

#[test]
fn absolute_and_asterisk_targets() {
    let outcome = decode(b"GET http://example.com:8080/x?y HTTP/1.1\r\nHost: example.com:8080\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.requests[0].uri, "http://example.com:8080/x?y");
    assert_eq!(outcome.requests[1].uri, "*");
}

// ---------------------------------------------------------------- responses

fn decode_responses(
    reads: &[&[u8]],
    method: &Method,
) -> (Vec<Response<Vec<u8>>>, Option<HttpError>) {
    let mut decoder = ResponseDecoder::new(Limits::default());
    let mut responses = Vec::new();
    for read in reads {
        decoder.feed(read);
        loop {
            match decoder.next_response(method) {
                Ok(Some(response)) => responses.push(response),
                Ok(None) => break,
                Err(error) => return (responses, Some(error)),
            }
        }
    }
    loop {
        match decoder.finish(method) {
            Ok(Some(response)) => responses.push(response),
            Ok(None) => return (responses, None),
            Err(error) => return (responses, Some(error)),
        }
    }
}

fn response_summary(responses: &[Response<Vec<u8>>]) -> Vec<(u16, Vec<u8>)> {
    responses
        .iter()
        .map(|r| (r.status().as_u16(), r.body().clone()))
        .collect()
}

fn assert_responses_at_every_split(input: &[u8], method: &Method) -> Vec<(u16, Vec<u8>)> {
    let (whole, error) = decode_responses(&[input], method);
    assert_eq!(error, None);
    let whole = response_summary(&whole);
    for offset in 0..=input.len() {
        let (first, second) = input.split_at(offset);
        let (split, error) = decode_responses(&[first, second], method);
        assert_eq!(error, None, "split at {offset}");
        assert_eq!(response_summary(&split), whole, "split at {offset}");
    }
    whole
}

#[test]
fn responses_by_length_chunked_and_close_at_every_split() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
        HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n\
        HTTP/1.0 200 OK\r\n\r\nuntil the end";
    let responses = assert_responses_at_every_split(input, &Method::GET);
    assert_eq!(
        responses,
        [
            (200, b"hello".to_vec()),
            (201, b"abc".to_vec()),
            (200, b"until the end".to_vec())
        ]
    );
}

#[test]
fn interim_responses_are_skipped() {
    let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    assert_eq!(
        assert_responses_at_every_split(input, &Method::POST),
        [(200, b"ok".to_vec())]
    );
}

#[test]
fn bodiless_responses() {
    let head_reply = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
    assert_eq!(
        response_summary(&decode_responses(&[head_reply], &Method::HEAD).0)[0],
        (200, Vec::new()),
        "HEAD: Content-Length describes the GET body"
    );
    let no_content =
        b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n";
    let (responses, error) = decode_responses(&[no_content], &Method::GET);
    assert_eq!(error, None);
    assert_eq!(
        response_summary(&responses),
        [(204, Vec::new()), (304, Vec::new())]
    );
}

#[test]
fn truncated_responses_are_errors_at_close() {
    for cut in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Le",
    ] {
        let (responses, error) = decode_responses(&[cut], &Method::GET);
        assert!(responses.is_empty());
        assert_eq!(error, Some(HttpError::UnexpectedEof));
    }
    let (responses, error) = decode_responses(&[], &Method::GET);
    assert!(
        responses.is_empty() && error.is_none(),
        "clean close between responses"
    );
}

#[test]
fn malformed_responses_are_errors() {
    for bad in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
        b"HTTP/3.0 200 OK\r\n\r\n",
    ] {
        let (_, error) = decode_responses(&[bad], &Method::GET);
        assert!(error.is_some(), "{:?}", String::from_utf8_lossy(bad));
    }
    // Identical repeats of a response length are tolerated (seen in the wild).
    let repeated = b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok";
    assert_eq!(
        response_summary(&decode_responses(&[repeated], &Method::GET).0),
        [(200, b"ok".to_vec())]
    );
}

#[test]
fn response_body_limit() {
    let mut decoder = ResponseDecoder::new(Limits {
        max_body_bytes: 4,
        ..Limits::default()
    });
    decoder.feed(b"HTTP/1.1 200 OK\r\n\r\n12345");
    assert_eq!(
        decoder.next_response(&Method::GET).err(),
        Some(HttpError::BodyTooLarge { limit: 4 })
    );
}

// ---------------------------------------------------------------- encoding

fn encoded_response(
    response: &Response<Vec<u8>>,
    method: Method,
    version: Version,
    keep_alive: bool,
) -> String {
    let ctx = ResponseContext {
        request_method: method,
        request_version: version,
        keep_alive,
    };
    let mut out = Vec::new();
    encode_response(response, &ctx, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn response_encoding_sets_framing_and_connection() {
    let mut response = Response::new(b"hi".to_vec());
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    // A wrong length from a handler is replaced by the real one.
    response
        .headers_mut()
        .insert("content-length", HeaderValue::from_static("99"));
    assert_eq!(
        encoded_response(&response, Method::GET, Version::HTTP_11, true),
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nhi"
    );
    assert_eq!(
        encoded_response(&response, Method::GET, Version::HTTP_11, false),
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi"
    );
    assert_eq!(
        encoded_response(&response, Method::GET, Version::HTTP_10, true),
        "HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nhi"
    );
    assert_eq!(
        encoded_response(&response, Method::HEAD, Version::HTTP_11, true),
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\n"
    );
    let mut no_content = Response::new(b"ignored".to_vec());
    *no_content.status_mut() = StatusCode::NO_CONTENT;
    assert_eq!(
        encoded_response(&no_content, Method::GET, Version::HTTP_11, true),
        "HTTP/1.1 204 No Content\r\n\r\n"
    );
}

#[test]
fn response_encoding_chunked_on_request() {
    let mut response = Response::new(b"hello world".to_vec());
    response
        .headers_mut()
        .insert("transfer-encoding", HeaderValue::from_static("chunked"));
    let mut trailers = HeaderMap::new();
    trailers.insert("x-sum", HeaderValue::from_static("7"));
    response.extensions_mut().insert(Trailers(trailers));
    let wire = encoded_response(&response, Method::GET, Version::HTTP_11, true);
    assert_eq!(wire, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nb\r\nhello world\r\n0\r\nx-sum: 7\r\n\r\n");
    let (decoded, error) = decode_responses(&[wire.as_bytes()], &Method::GET);
    assert_eq!(error, None);
    assert_eq!(decoded[0].body(), b"hello world");
    assert_eq!(
        decoded[0]
            .extensions()
            .get::<Trailers>()
            .and_then(|t| t.0.get("x-sum"))
            .map(|v| v.as_bytes()),
        Some(&b"7"[..])
    );
    // HTTP/1.0 clients cannot read chunked: they get a length.
    let old = encoded_response(&response, Method::GET, Version::HTTP_10, false);
    assert!(
        old.contains("content-length: 11\r\n") && !old.contains("chunked"),
        "{old}"
    );
}

#[test]
fn encode_response_round_trips_through_response_decoder() {
    let statuses = [
        StatusCode::OK,
        StatusCode::NOT_FOUND,
        StatusCode::NO_CONTENT,
        StatusCode::NOT_MODIFIED,
    ];
    let mut wire = Vec::new();
    let ctx = ResponseContext {
        request_method: Method::GET,
        request_version: Version::HTTP_11,
        keep_alive: true,
    };
    for (index, status) in statuses.iter().enumerate() {
        let mut response = Response::new(format!("body {index}").into_bytes());
        *response.status_mut() = *status;
        if index == 1 {
            response
                .headers_mut()
                .insert("transfer-encoding", HeaderValue::from_static("chunked"));
        }
        encode_response(&response, &ctx, &mut wire);
    }
    let summary = assert_responses_at_every_split(&wire, &Method::GET);
    assert_eq!(
        summary,
        [
            (200, b"body 0".to_vec()),
            (404, b"body 1".to_vec()),
            (204, Vec::new()),
            (304, Vec::new())
        ]
    );
}

#[test]
fn encode_request_round_trips_through_request_decoder() {
    let mut wire = Vec::new();
    let get = Request::get("http://example.com:8080/a/b?c=d")
        .body(Vec::new())
        .unwrap();
    encode_request(&get, &mut wire);
    assert_eq!(
        wire,
        b"GET /a/b?c=d HTTP/1.1\r\nhost: example.com:8080\r\n\r\n"
    );
    let post = Request::post("http://[::1]/echo")
        .header("x-a", "1")
        .body(b"name=WasmEdge".to_vec())
        .unwrap();
    encode_request(&post, &mut wire);
    let chunked = Request::put("http://h/up")
        .header("transfer-encoding", "chunked")
        .header("host", "override")
        .body(b"chunky".to_vec())
        .unwrap();
    encode_request(&chunked, &mut wire);
    let empty_post = Request::post("http://h").body(Vec::new()).unwrap();
    encode_request(&empty_post, &mut wire);

    let requests = assert_same_at_every_split(&wire);
    assert_eq!(requests.len(), 4);
    assert_eq!(header(&requests[1], "host"), Some(&b"[::1]"[..]));
    assert_eq!(requests[1].body, b"name=WasmEdge");
    assert_eq!(header(&requests[1], "content-length"), Some(&b"13"[..]));
    assert_eq!(header(&requests[2], "host"), Some(&b"override"[..]));
    assert_eq!(
        header(&requests[2], "transfer-encoding"),
        Some(&b"chunked"[..])
    );
    assert_eq!(requests[2].body, b"chunky");
    assert_eq!(requests[3].uri, "/");
    assert_eq!(header(&requests[3], "content-length"), Some(&b"0"[..]));
}

// ---------------------------------------------------------------- stable-toolchain fuzzing

/// Deterministic xorshift so a failure reproduces from the printed iteration number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"0\r\n\r\n",
    b"Content-Length: ",
    b"Transfer-Encoding: chunked\r\n",
    b"chunked",
    b"Expect: 100-continue\r\n",
    b"Connection: close\r\n",
    b"Host: h\r\n",
    b";ext=1",
    b"ffffffffffffffff",
    b"99999",
    b" ",
    b":",
    b"HTTP/1.0",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"\x00",
    b"\xff",
];

/// Mutates a seed a few times: byte flips, insertions, deletions, slice copies and tokens.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if at < data.len() => data[at] ^= 1 << rng.below(8),
            1 => data.insert(at, rng.next() as u8),
            2 if at < data.len() => {
                let end = (at + 1 + rng.below(8)).min(data.len());
                data.drain(at..end);
            }
            3 => {
                let from = rng.below(data.len());
                let end = (from + rng.below(32)).min(data.len());
                let copy = data[from..end].to_vec();
                data.splice(at..at, copy);
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
        }
    }
    data
}

fn run_stable_fuzz(seeds: &[&[u8]], iterations: usize, target: fn(&[u8])) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for seed in seeds {
        for split_seed in [[0u8, 0], [1, 7], [2, 200]] {
            let mut input = split_seed.to_vec();
            input.extend_from_slice(seed);
            target(&input);
        }
    }
    for iteration in 0..iterations {
        let mut input = vec![rng.next() as u8, rng.next() as u8];
        input.extend(mutate(&mut rng, seeds[iteration % seeds.len()]));
        let outcome = std::panic::catch_unwind(|| target(&input));
        assert!(
            outcome.is_ok(),
            "iteration {iteration} panicked on {:?}",
            String::from_utf8_lossy(&input)
        );
    }
}

const REQUEST_SEEDS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.0\r\n\r\n",
    b"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nwiki\r\n0\r\nT: v\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"\r\nOPTIONS * HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
];

const RESPONSE_SEEDS: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX: y\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nServer: s\r\n\r\nbody until close",
    b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 4\r\n\r\n",
];

#[test]
fn stable_fuzz_request_decoder() {
    run_stable_fuzz(REQUEST_SEEDS, 4000, fuzz_support::request_decoder);
}

#[test]
fn stable_fuzz_response_decoder() {
    run_stable_fuzz(RESPONSE_SEEDS, 4000, fuzz_support::response_decoder);
}
