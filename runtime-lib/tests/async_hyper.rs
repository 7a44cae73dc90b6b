//! hyper 1's http1 server and client on wasock's runtime (feature `hyper`, which the
//! crate's dev-dependency on itself turns on for every `cargo test`):
//! `cargo test -p wasock --test async_hyper`.

mod common;

use std::convert::Infallible;
use std::future::poll_fn;
use std::io::{Read, Write};
use std::pin::Pin;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use wasock::rt::hyper::WasockTimer;
use wasock::rt::{self, block_on, AsyncTcpListener, AsyncTcpStream};
use wasock::ShutdownHandle;

async fn collect(mut body: Incoming) -> Vec<u8> {
    let mut bytes = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame.expect("body frame").into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    bytes
}

/// A hyper http1 server on a wasock runtime on its own thread: answers
/// `METHOD PATH BODY`, after `/slow`'s 200 ms sleep on wasock's timer.
fn start_hyper_server(header_read_timeout: Duration) -> (std::net::SocketAddr, ShutdownHandle) {
    let listener = AsyncTcpListener::bind("127.0.0.4:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = ShutdownHandle::default();
    let stopped = stop.clone();
    std::thread::spawn(move || {
        block_on(async move {
            while !stopped.is_shutdown() {
                let Ok(Ok((stream, _))) =
                    rt::timeout(Duration::from_millis(100), listener.accept()).await
                else {
                    continue;
                };
                rt::spawn(async move {
                    let service = service_fn(|request: hyper::Request<Incoming>| async move {
                        let method = request.method().clone();
                        let path = request.uri().path().to_string();
                        if path == "/slow" {
                            rt::sleep(Duration::from_millis(200)).await;
                        }
                        let body = collect(request.into_body()).await;
                        let text = format!("{method} {path} {}", String::from_utf8_lossy(&body));
                        Ok::<_, Infallible>(hyper::Response::new(text))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(WasockTimer)
                        .header_read_timeout(header_read_timeout)
                        .serve_connection(stream, service)
                        .await;
                });
            }
        })
    });
    (addr, stop)
}

#[test]
fn hyper_server_answers_ureq_and_fetch_with_keep_alive() {
    let (addr, stop) = start_hyper_server(Duration::from_secs(30));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    for i in 0..3 {
        let mut response = agent
            .post(&format!("http://{addr}/echo"))
            .send(format!("n={i}"))
            .unwrap();
        assert_eq!(
            response.body_mut().read_to_string().unwrap(),
            format!("POST /echo n={i}")
        );
    }
    let url = format!("http://{addr}/slow");
    let bodies = block_on(async move {
        let slow: Vec<_> = (0..10)
            .map(|_| {
                let url = url.clone();
                rt::spawn(async move { rt::get(&url).await.unwrap().into_body() })
            })
            .collect();
        let mut bodies = Vec::new();
        for task in slow {
            bodies.push(task.await.unwrap());
        }
        bodies
    });
    assert!(bodies.iter().all(|body| body == b"GET /slow "));
    stop.shutdown();
}

#[test]
fn hyper_server_times_out_a_slow_request_head_with_the_wasock_timer() {
    let (addr, stop) = start_hyper_server(Duration::from_millis(200));
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut answer = Vec::new();
    // hyper closes the connection once the timer fires (with a 408 or without).
    let outcome = stream.read_to_end(&mut answer);
    assert!(
        outcome.is_ok(),
        "the connection was not closed: {outcome:?}"
    );
    stop.shutdown();
}

#[test]
fn hyper_client_on_wasock_talks_to_the_poll_server_over_one_connection() {
    let server = common::Running::start(common::Kind::Poll);
    let addr = server.addr;
    let bodies = block_on(async move {
        let stream = AsyncTcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        let driver = rt::spawn(connection);
        let mut bodies = Vec::new();
        for i in 0..3 {
            let request = hyper::Request::post("/")
                .header("host", addr.to_string())
                .body(format!("hyper {i}"))
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.status(), 200);
            bodies.push(collect(response.into_body()).await);
        }
        drop(sender);
        driver.await.unwrap().unwrap();
        bodies
    });
    assert_eq!(
        bodies,
        [&b"echo: hyper 0"[..], b"echo: hyper 1", b"echo: hyper 2"]
    );
}
