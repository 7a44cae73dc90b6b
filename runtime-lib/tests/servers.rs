//! Both servers on 127.0.0.1, driven by a real HTTP client crate (ureq), curl and raw sockets.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{exchange, post_request, set_linger_zero, Kind, ResponseReader, Running, ALL};
use wasock::http::Limits;
use wasock::ServerConfig;

fn ureq_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

#[test]
fn ureq_gets_and_posts_on_both_servers() {
    for kind in ALL {
        let server = Running::start(kind);
        let agent = ureq_agent();
        let mut response = agent.get(&server.url("/")).call().expect("GET");
        assert_eq!(response.status(), 200, "{kind:?}");
        assert_eq!(
            response.body_mut().read_to_string().expect("body"),
            "echo: "
        );
        let mut response = agent
            .post(&server.url("/"))
            .send("name=WasmEdge")
            .expect("POST");
        assert_eq!(
            response.body_mut().read_to_string().expect("body"),
            "echo: name=WasmEdge",
            "{kind:?}"
        );
    }
}

#[test]
fn one_megabyte_bodies_both_ways() {
    for kind in ALL {
        let server = Running::start(kind);
        let agent = ureq_agent();
        let upload: Vec<u8> = (0..1024 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
        let mut response = agent
            .post(&server.url("/"))
            .send(&upload[..])
            .expect("POST 1 MB");
        let body = response
            .body_mut()
            .with_config()
            .limit(4 << 20)
            .read_to_vec()
            .expect("echoed body");
        assert_eq!(body.len(), upload.len() + 6, "{kind:?}");
        assert!(body[6..] == upload[..], "{kind:?}: echoed body differs");

        let mut response = agent
            .get(&server.url("/big?1048576"))
            .call()
            .expect("GET 1 MB");
        let body = response
            .body_mut()
            .with_config()
            .limit(4 << 20)
            .read_to_vec()
            .expect("body");
        assert_eq!(body.len(), 1 << 20, "{kind:?}");
        assert!(body.iter().all(|&b| b == b'x'));
    }
}

#[test]
fn curl_posts_and_reuses_the_connection() {
    for kind in ALL {
        let server = Running::start(kind);
        let output = Command::new("curl")
            .args(["-sS", "--max-time", "20", "-d", "name=WasmEdge"])
            .arg(server.url("/"))
            .output()
            .expect("run curl");
        assert!(
            output.status.success(),
            "{kind:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "echo: name=WasmEdge"
        );

        // Three URLs in one curl run share one keep-alive connection.
        let output = Command::new("curl")
            .args(["-sS", "-v", "--max-time", "20"])
            .args([server.url("/a"), server.url("/b"), server.url("/c")])
            .output()
            .expect("run curl");
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{kind:?}: {log}");
        assert!(
            log.contains("Re-using existing") || log.contains("Reusing existing"),
            "{kind:?}: {log}"
        );

        // A large upload makes curl send `Expect: 100-continue` and wait for our 100.
        let payload = "z".repeat(2 * 1024 * 1024);
        let output = Command::new("curl")
            .args([
                "-sS",
                "-v",
                "--max-time",
                "20",
                "--expect100-timeout",
                "10",
                "-H",
                "Content-Type: text/plain",
                "--data-binary",
                "@-",
            ])
            .arg(server.url("/"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(payload.as_bytes())?;
                child.wait_with_output()
            })
            .expect("run curl with a large body");
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{kind:?}: {log}");
        assert_eq!(output.stdout.len(), payload.len() + 6, "{kind:?}");
        assert!(
            log.contains("Expect: 100-continue"),
            "{kind:?}: curl did not ask: {log}"
        );
        assert!(
            log.contains("< HTTP/1.1 100 Continue"),
            "{kind:?}: no 100 Continue: {log}"
        );
    }
}

#[test]
fn two_hundred_pipelined_requests_are_answered_in_order() {
    for kind in ALL {
        let server = Running::start(kind);
        let mut stream = server.connect();
        let mut batch = Vec::new();
        for i in 0..200 {
            batch.extend_from_slice(&post_request("/", format!("request {i}").as_bytes()));
        }
        stream.write_all(&batch).expect("send 200 requests at once");
        let mut reader = ResponseReader::new(stream);
        for i in 0..200 {
            let response = reader.next().expect("read").expect("response");
            assert_eq!(response.status, 200);
            assert_eq!(
                response.body,
                format!("echo: request {i}").into_bytes(),
                "{kind:?}"
            );
        }
    }
}

#[test]
fn a_thousand_concurrent_connections() {
    for kind in [Kind::Poll, Kind::Async] {
        let server = Running::start(kind);
        let count = common::affordable_connections(1000);
        let mut streams: Vec<_> = (0..count).map(|_| server.connect()).collect();
        // Every connection has a request in flight before any response is read.
        for (i, stream) in streams.iter_mut().enumerate() {
            stream
                .write_all(&post_request("/", format!("c{i}").as_bytes()))
                .expect("send");
        }
        for (i, stream) in streams.into_iter().enumerate() {
            let mut reader = ResponseReader::new(stream);
            let response = reader.next().expect("read").expect("response");
            assert_eq!(response.body, format!("echo: c{i}").into_bytes());
        }
    }
}

#[test]
fn blocking_server_answers_a_thousand_clients_arriving_together() {
    // One connection at a time by design: the clients queue in the backlog (bounded here to
    // 100 in flight, below the listen backlog) and every one is answered.
    let server = Running::start(Kind::Blocking);
    let requests: Vec<_> = (0..1000)
        .map(|i| {
            wasock::build_request(
                wasock::http::Method::POST,
                &server.url("/"),
                format!("b{i}").into_bytes(),
            )
            .expect("request")
        })
        .collect();
    let client = wasock::Client::new(wasock::ClientConfig::default().max_in_flight(100));
    for (i, outcome) in client.send_all(requests).into_iter().enumerate() {
        let response = outcome.expect("response");
        assert_eq!(response.body(), format!("echo: b{i}").as_bytes());
    }
}

#[test]
fn slow_writers_and_non_readers_do_not_block_others() {
    for kind in [Kind::Poll, Kind::Async] {
        let server = Running::with_config(
            kind,
            ServerConfig::default().max_buffered_output(256 * 1024),
        );
        // A peer that sends its request one byte at a time.
        let mut slow = server.connect();
        let request = post_request("/", b"slowly");
        slow.write_all(&request[..10]).expect("first bytes");
        // Peers that ask for 4 MB responses and never read them.
        let mut stalled: Vec<_> = (0..5).map(|_| server.connect()).collect();
        for stream in &mut stalled {
            for _ in 0..4 {
                stream
                    .write_all(b"GET /big?1048576 HTTP/1.1\r\nHost: t\r\n\r\n")
                    .expect("send");
            }
        }
        // Meanwhile everybody else is served promptly.
        for i in 0..50 {
            let response = exchange(&server, &post_request("/", format!("fast {i}").as_bytes()));
            assert_eq!(response.body, format!("echo: fast {i}").into_bytes());
        }
        for byte in &request[10..] {
            slow.write_all(std::slice::from_ref(byte))
                .expect("one byte");
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut reader = ResponseReader::new(slow);
        assert_eq!(
            reader.next().expect("read").expect("response").body,
            b"echo: slowly"
        );
        // The stalled peers still get every byte once they read.
        for stream in stalled {
            let mut reader = ResponseReader::new(stream);
            for _ in 0..4 {
                assert_eq!(
                    reader.next().expect("read").expect("response").body.len(),
                    1 << 20
                );
            }
        }
    }
}

#[test]
fn abrupt_resets_leave_the_server_serving() {
    for kind in ALL {
        let server = Running::start(kind);
        for round in 0..20 {
            let mut stream = server.connect();
            set_linger_zero(&stream);
            match round % 4 {
                // Reset in the middle of a request head.
                0 => stream
                    .write_all(b"POST / HTTP/1.1\r\nContent-Le")
                    .expect("partial head"),
                // Reset in the middle of a body.
                1 => stream
                    .write_all(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
                    .expect("partial body"),
                // Reset while a large response is being written.
                2 => stream
                    .write_all(b"GET /big?4194304 HTTP/1.1\r\nHost: t\r\n\r\n")
                    .expect("request"),
                // Reset of an idle connection.
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(5));
            drop(stream);
            let response = exchange(&server, &post_request("/", b"still here"));
            assert_eq!(response.body, b"echo: still here", "{kind:?} round {round}");
        }
    }
}

#[test]
fn half_closed_clients_get_their_answers() {
    for kind in ALL {
        let server = Running::start(kind);
        let mut stream = server.connect();
        let mut requests = post_request("/", b"first");
        requests.extend_from_slice(&post_request("/", b"second"));
        stream.write_all(&requests).expect("send");
        stream.shutdown(Shutdown::Write).expect("half-close");
        let mut reader = ResponseReader::new(stream);
        assert_eq!(
            reader.next().expect("read").expect("first").body,
            b"echo: first",
            "{kind:?}"
        );
        assert_eq!(
            reader.next().expect("read").expect("second").body,
            b"echo: second",
            "{kind:?}"
        );
        assert!(
            reader.at_eof(),
            "{kind:?}: connection should close after the half-close"
        );
    }
}

#[test]
fn limits_answer_431_413_400_and_close() {
    let config = ServerConfig::default().limits(Limits {
        max_header_bytes: 4096,
        max_headers: 20,
        max_body_bytes: 64 * 1024,
    });
    for kind in ALL {
        let server = Running::with_config(kind, config.clone());
        let huge_header = format!(
            "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
            "h".repeat(8000)
        );
        let many_headers: String = (0..50).map(|i| format!("X-{i}: v\r\n")).collect();
        let many_headers = format!("GET / HTTP/1.1\r\n{many_headers}\r\n");
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (huge_header.into_bytes(), 431),
            (many_headers.into_bytes(), 431),
            (
                b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n".to_vec(),
                413,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n20000\r\n"
                    .to_vec(),
                413,
            ),
            (b"GARBAGE\r\n\r\n".to_vec(), 400),
            (
                b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 12x\r\n\r\n".to_vec(),
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
                400,
            ),
        ];
        for (request, status) in cases {
            let mut stream = server.connect();
            stream.write_all(&request).expect("send");
            let mut reader = ResponseReader::new(stream);
            let response = reader.next().expect("read").expect("an error response");
            assert_eq!(
                response.status,
                status,
                "{kind:?}: {}",
                String::from_utf8_lossy(&request[..40.min(request.len())])
            );
            assert_eq!(response.header("connection"), Some("close"), "{kind:?}");
            assert!(
                reader.at_eof(),
                "{kind:?}: connection should close after {status}"
            );
        }
        // And the server still answers normal requests.
        assert_eq!(
            exchange(&server, &post_request("/", b"ok")).body,
            b"echo: ok"
        );
    }
}

#[test]
fn idle_and_slow_request_timeouts_close_the_connection() {
    let config = ServerConfig::default()
        .idle_timeout(Duration::from_millis(300))
        .header_read_timeout(Duration::from_millis(300));
    for kind in ALL {
        let server = Running::with_config(kind, config.clone());
        // Idle after one request: closed without a response.
        // Far longer than the 300 ms timeout: a read that times out means nobody closed.
        let patience = Some(Duration::from_secs(5));
        let mut stream = server.connect();
        stream.set_read_timeout(patience).expect("read timeout");
        stream.write_all(&post_request("/", b"x")).expect("send");
        let mut reader = ResponseReader::new(stream);
        assert_eq!(
            reader.next().expect("read").expect("response").body,
            b"echo: x"
        );
        assert!(reader.at_eof(), "{kind:?}: idle connection not closed");

        // A request head that never completes: 408, then closed.
        let mut stream = server.connect();
        stream.set_read_timeout(patience).expect("read timeout");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n")
            .expect("send part");
        let mut reader = ResponseReader::new(stream);
        let response = reader.next().expect("read").expect("408");
        assert_eq!(response.status, 408, "{kind:?}");
        assert!(reader.at_eof(), "{kind:?}");
    }
}

#[test]
fn http_10_closes_and_keep_alive_is_honoured() {
    for kind in ALL {
        let server = Running::start(kind);
        let mut stream = server.connect();
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("send");
        let mut reader = ResponseReader::new(stream);
        let response = reader.next().expect("read").expect("response");
        assert_eq!(response.status, 200);
        assert!(
            reader.at_eof(),
            "{kind:?}: HTTP/1.0 without keep-alive must close"
        );

        let mut stream = server.connect();
        stream
            .write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n")
            .expect("send");
        let mut reader = ResponseReader::new(stream);
        assert_eq!(reader.next().expect("read").expect("first").status, 200);
        assert_eq!(
            reader.next().expect("read").expect("second").status,
            200,
            "{kind:?}"
        );
        assert!(reader.at_eof());
    }
}

#[test]
fn a_handler_asking_to_close_in_a_token_list_closes_the_connection() {
    for kind in ALL {
        let server = Running::start(kind);
        let mut stream = server.connect();
        stream
            .write_all(b"GET /bye HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("send");
        let mut reader = ResponseReader::new(stream);
        let response = reader.next().expect("read").expect("response");
        assert_eq!(response.body, b"bye", "{kind:?}");
        assert!(
            reader.at_eof(),
            "{kind:?}: the server must close after announcing `Connection: close`"
        );
    }
}

#[test]
fn expect_continue_gets_100_before_the_body() {
    for kind in ALL {
        let server = Running::start(kind);
        let mut stream = server.connect();
        stream
            .write_all(
                b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
            )
            .expect("head");
        let mut interim = [0u8; 25];
        stream.read_exact(&mut interim).expect("100 Continue");
        assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n", "{kind:?}");
        stream.write_all(b"hello").expect("body");
        let mut reader = ResponseReader::new(stream);
        assert_eq!(
            reader.next().expect("read").expect("final").body,
            b"echo: hello"
        );
    }
}

#[test]
fn a_panicking_handler_answers_500_and_the_server_goes_on() {
    for kind in ALL {
        let server = Running::start(kind);
        let response = exchange(&server, b"GET /panic HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(response.status, 500, "{kind:?}");
        assert_eq!(
            exchange(&server, &post_request("/", b"after")).body,
            b"echo: after"
        );
    }
}

#[test]
fn blocking_server_does_not_let_an_idle_keep_alive_client_hold_it() {
    let server = Running::start(Kind::Blocking);
    let mut idle = server.connect();
    idle.write_all(&post_request("/", b"first")).expect("send");
    let mut idle_reader = ResponseReader::new(idle);
    assert_eq!(
        idle_reader.next().expect("read").expect("response").body,
        b"echo: first"
    );
    // The first connection stays open and idle; the second client must still be served.
    assert_eq!(
        exchange(&server, &post_request("/", b"second")).body,
        b"echo: second"
    );
}

#[test]
fn shutdown_stops_both_servers() {
    for kind in ALL {
        let server = Running::start(kind);
        let _idle = server.connect();
        assert_eq!(exchange(&server, &post_request("/", b"x")).body, b"echo: x");
        let started = Instant::now();
        server.stop().expect("run returns Ok after shutdown");
        assert!(started.elapsed() < Duration::from_secs(10), "{kind:?}");
    }
}

#[test]
fn poll_server_caps_open_connections_and_resumes_when_one_closes() {
    for kind in [Kind::Poll, Kind::Async] {
        let server = Running::with_config(kind, ServerConfig::default().max_connections(2));
        let mut held = Vec::new();
        for i in 0..2 {
            let mut stream = server.connect();
            stream
                .write_all(&post_request("/", format!("held {i}").as_bytes()))
                .expect("send");
            let mut reader = ResponseReader::new(stream);
            assert_eq!(reader.next().expect("read").expect("response").status, 200);
            held.push(reader);
        }
        // The third peer waits in the backlog while two connections are open.
        let mut third = server.connect();
        third.write_all(&post_request("/", b"third")).expect("send");
        third
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let mut byte = [0u8; 1];
        let early = third.read(&mut byte);
        assert!(
            matches!(&early, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
            "served beyond the cap: {early:?}"
        );
        drop(held.pop());
        third
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut reader = ResponseReader::new(third);
        assert_eq!(
            reader.next().expect("read").expect("response").body,
            b"echo: third"
        );
    }
}
