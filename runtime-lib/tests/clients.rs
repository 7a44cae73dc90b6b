//! The blocking and the concurrent clients against our servers and against hand-written
//! peers that frame responses in the other legal ways.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use common::{Kind, Running};
use wasock::http::{Method, Request};
use wasock::{build_request, Client, ClientConfig, ClientError};

#[test]
fn blocking_get_post_and_send() {
    let server = Running::start(Kind::Poll);
    let response = wasock::get(&server.url("/")).expect("GET");
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_slice(), b"echo: ");
    assert!(response.headers().contains_key("content-length"));

    let response = wasock::post(&server.url("/"), "name=WasmEdge").expect("POST");
    assert_eq!(response.body().as_slice(), b"echo: name=WasmEdge");

    let request = Request::builder()
        .method(Method::PUT)
        .uri(server.url("/put"))
        .header("x-test", "1")
        .body(b"payload".to_vec())
        .expect("request");
    let response = wasock::send(request).expect("PUT");
    assert_eq!(response.body().as_slice(), b"echo: payload");

    let response = wasock::get(&server.url("/status")).expect("204");
    assert_eq!(response.status(), 204);
    assert!(response.body().is_empty());
}

#[test]
fn host_names_resolve_through_the_system_resolver() {
    let server = Running::start(Kind::Poll);
    let url = format!("http://localhost:{}/", server.addr.port());
    let response = wasock::post(&url, "by name").expect("POST to localhost");
    assert_eq!(response.body().as_slice(), b"echo: by name");
}

#[test]
fn send_all_drives_many_requests_at_once() {
    let server = Running::start(Kind::Poll);
    let requests: Vec<_> = (0..500)
        .map(|i| {
            build_request(Method::POST, &server.url("/"), format!("r{i}").into_bytes())
                .expect("request")
        })
        .collect();
    let client = Client::new(ClientConfig::default().max_in_flight(200));
    let outcomes = client.send_all(requests);
    assert_eq!(outcomes.len(), 500);
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let response = outcome.expect("response");
        assert_eq!(response.body(), format!("echo: r{i}").as_bytes());
    }
}

#[test]
fn send_all_reports_each_failure_on_its_own() {
    let server = Running::start(Kind::Poll);
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let requests = vec![
        build_request(Method::GET, &server.url("/"), Vec::new()).expect("request"),
        build_request(
            Method::GET,
            &format!("http://127.0.0.1:{closed_port}/"),
            Vec::new(),
        )
        .expect("request"),
        build_request(Method::GET, "ftp://127.0.0.1/", Vec::new()).expect("request"),
        build_request(Method::GET, &server.url("/big?100000"), Vec::new()).expect("request"),
    ];
    let outcomes = Client::default().send_all(requests);
    assert!(outcomes[0].is_ok());
    assert!(
        matches!(outcomes[1], Err(ClientError::Io { .. })),
        "{:?}",
        outcomes[1]
    );
    let refused = outcomes[1].as_ref().expect_err("refused").to_string();
    assert!(
        refused.contains("help: start the server first"),
        "{refused}"
    );
    assert!(
        matches!(outcomes[2], Err(ClientError::InvalidUrl { .. })),
        "{:?}",
        outcomes[2]
    );
    assert_eq!(
        outcomes[3].as_ref().expect("big response").body().len(),
        100_000
    );
}

/// A one-shot peer that answers whatever it receives with `response` written in pieces.
fn raw_peer(response: &'static [u8], close_after: bool) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        for piece in response.chunks(7) {
            let _ = stream.write_all(piece);
            thread::sleep(Duration::from_millis(1));
        }
        if !close_after {
            thread::sleep(Duration::from_millis(300));
        }
    });
    (port, handle)
}

#[test]
fn chunked_and_close_delimited_responses() {
    let (port, peer) = raw_peer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
        false,
    );
    let response = wasock::get(&format!("http://127.0.0.1:{port}/")).expect("chunked response");
    assert_eq!(response.body().as_slice(), b"hello world");
    peer.join().expect("peer");

    let (port, peer) = raw_peer(
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
        true,
    );
    let response =
        wasock::get(&format!("http://127.0.0.1:{port}/")).expect("close-delimited response");
    assert_eq!(response.body().as_slice(), b"until the end");
    peer.join().expect("peer");
}

#[test]
fn malformed_and_truncated_responses_are_errors() {
    let (port, peer) = raw_peer(b"NOT HTTP\r\n\r\n", true);
    let outcome = wasock::get(&format!("http://127.0.0.1:{port}/"));
    assert!(
        matches!(outcome, Err(ClientError::Http { .. })),
        "{outcome:?}"
    );
    peer.join().expect("peer");

    let (port, peer) = raw_peer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true);
    let outcome = wasock::get(&format!("http://127.0.0.1:{port}/"));
    assert!(outcome.is_err(), "{outcome:?}");
    peer.join().expect("peer");
}

#[test]
fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let client = Client::new(ClientConfig::default().timeout(Duration::from_millis(300)));
    let started = Instant::now();
    let outcome = client.get(&url);
    assert!(
        matches!(outcome, Err(ClientError::Timeout { .. })),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    let outcomes = client.send_all(vec![
        build_request(Method::GET, &url, Vec::new()).expect("request")
    ]);
    assert!(
        matches!(outcomes[0], Err(ClientError::Timeout { .. })),
        "{:?}",
        outcomes[0]
    );
    drop(listener);
}

#[test]
fn bad_urls_are_refused_with_a_reason() {
    for url in ["not a url", "ftp://127.0.0.1/", "/relative/path"] {
        let outcome = wasock::get(url);
        match outcome {
            Err(ClientError::InvalidUrl { reason, .. }) => assert!(!reason.is_empty()),
            other => panic!("{url}: expected InvalidUrl, got {other:?}"),
        }
    }
    // https:// is refused only without feature `tls` (tests/tls.rs covers it with the feature).
    let outcome = wasock::get("ftp://127.0.0.1/");
    let message = outcome.expect_err("ftp").to_string();
    assert!(message.contains("help:"), "{message}");
}

#[test]
fn udp_round_trip() {
    let a = wasock::UdpSocket::bind("127.0.0.1:0").expect("bind a");
    let b = wasock::UdpSocket::bind("127.0.0.1:0").expect("bind b");
    a.send_to(b"ping", b.local_addr().expect("addr"))
        .expect("send");
    let mut buffer = [0u8; 16];
    let (n, from) = b.recv_from(&mut buffer).expect("recv");
    assert_eq!(&buffer[..n], b"ping");
    assert_eq!(from, a.local_addr().expect("addr"));
}

#[test]
fn an_oversized_upload_gets_the_servers_413() {
    let config = wasock::ServerConfig::default().limits(wasock::http::Limits {
        max_body_bytes: 64 * 1024,
        ..wasock::http::Limits::default()
    });
    for kind in common::BOTH {
        let server = Running::with_config(kind, config.clone());
        let outcome = wasock::post(&server.url("/"), vec![b'u'; 4 * 1024 * 1024]);
        // The server refuses at the head (Content-Length), answers 413, and drains the rest of
        // the upload before closing, so the client gets to read the 413 rather than a reset.
        let response = outcome.expect("a response to the oversized upload");
        assert_eq!(response.status(), 413, "{kind:?}");
        assert_eq!(
            wasock::post(&server.url("/"), "small")
                .expect("after")
                .body()
                .as_slice(),
            b"echo: small"
        );
    }
}
