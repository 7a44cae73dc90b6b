//! The async client (`fetch`) and `PollServer::run_async` with handlers that await the
//! network: real servers on loopback, driven by ureq, curl-free raw sockets and `fetch`.
//!
//! The server guarantees shared with the sync servers are tested in `servers.rs`
//! (`Kind::Async`); here: what only an async handler can do.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use wasock::http::{Method, Request, Response, StatusCode};
use wasock::rt::{self, block_on};
use wasock::{Client, ClientConfig, ClientError, PollServer, ServerConfig, ShutdownHandle};

/// An async server on its own thread; shut down and joined on drop.
struct AsyncServer {
    url: String,
    stop: ShutdownHandle,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl AsyncServer {
    fn start<H, F>(make_handler: impl FnOnce() -> H + Send + 'static) -> AsyncServer
    where
        H: Fn(Request<Vec<u8>>) -> F + 'static,
        F: std::future::Future<Output = Response<Vec<u8>>> + 'static,
    {
        common::raise_fd_limit();
        let server = PollServer::bind("127.0.0.1:0", ServerConfig::default()).unwrap();
        let url = format!("http://{}", server.local_addr().unwrap());
        let stop = server.shutdown_handle();
        let thread = std::thread::spawn(move || server.run_async(make_handler()));
        AsyncServer {
            url,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for AsyncServer {
    fn drop(&mut self) {
        self.stop.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An upstream that answers `/delay/MS` after MS milliseconds with `slept MS`, and
/// anything else at once with `fast`.
fn slow_upstream() -> AsyncServer {
    AsyncServer::start(|| {
        |request: Request<Vec<u8>>| async move {
            let path = request.uri().path().to_string();
            if let Some(ms) = path.strip_prefix("/delay/") {
                let ms: u64 = ms.parse().unwrap_or(0);
                rt::sleep(Duration::from_millis(ms)).await;
                return Response::new(format!("slept {ms}").into_bytes());
            }
            Response::new(b"fast".to_vec())
        }
    })
}

/// A proxy to `upstream`: the request's path is fetched there; a slow upstream is a 504.
fn proxy_to(upstream: String, limit: Duration) -> AsyncServer {
    AsyncServer::start(move || {
        let client = Client::new(ClientConfig::default().timeout(limit));
        move |request: Request<Vec<u8>>| {
            let client = client.clone();
            let url = format!("{upstream}{}", request.uri().path());
            async move {
                match client.get_async(&url).await {
                    Ok(response) => response,
                    Err(ClientError::Timeout { .. }) => {
                        let mut response = Response::new(b"upstream timed out".to_vec());
                        *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
                        response
                    }
                    Err(error) => {
                        let mut response = Response::new(error.to_string().into_bytes());
                        *response.status_mut() = StatusCode::BAD_GATEWAY;
                        response
                    }
                }
            }
        }
    })
}

fn ureq_get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent.get(url).call().expect("GET");
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().expect("body"))
}

#[test]
fn fetch_gets_and_posts_against_the_sync_poll_server() {
    let server = common::Running::start(common::Kind::Poll);
    let (url, big_url) = (server.url("/"), server.url("/big?3000000"));
    let (get, post, big) = block_on(async move {
        let get = rt::get(&url).await.unwrap();
        let post = rt::post(&url, "name=WasmEdge").await.unwrap();
        let big = rt::get(&big_url).await.unwrap();
        (get, post, big)
    });
    assert_eq!(get.status(), 200);
    assert_eq!(get.body(), b"echo: ");
    assert_eq!(post.body(), b"echo: name=WasmEdge");
    assert_eq!(big.body().len(), 3_000_000);
    assert!(big.body().iter().all(|&b| b == b'x'));
}

#[test]
fn fetch_reuses_keep_alive_connections_per_host() {
    // A plain std server that counts connections and answers every request on each.
    let listener = TcpListener::bind("127.0.0.3:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        buffer.drain(..end + 4);
                        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    }
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    let url = format!("http://{addr}/");
    let bodies = block_on(async move {
        let client = Client::default();
        let mut bodies = Vec::new();
        for _ in 0..5 {
            bodies.push(client.get_async(&url).await.unwrap().into_body());
        }
        bodies
    });
    assert!(bodies.iter().all(|body| body == b"ok"));
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "five requests, one connection"
    );
}

#[test]
fn a_connection_the_server_closed_is_not_reused() {
    // Answers one request per connection, then closes without saying so in a header.
    let listener = TcpListener::bind("127.0.0.3:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    let url = format!("http://{addr}/");
    let outcomes = block_on(async move {
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            outcomes.push(rt::get(&url).await.map(Response::into_body));
            // Lets the server's close arrive before the next request.
            rt::sleep(Duration::from_millis(20)).await;
        }
        outcomes
    });
    for outcome in outcomes {
        assert_eq!(outcome.unwrap(), b"ok");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[test]
fn fetch_times_out_and_reports_refused_connections() {
    let silent = TcpListener::bind("127.0.0.3:0").unwrap();
    let silent_url = format!("http://{}/", silent.local_addr().unwrap());
    let free = TcpListener::bind("127.0.0.3:0").unwrap();
    let refused_url = format!("http://{}/", free.local_addr().unwrap());
    drop(free);
    let (timed_out, refused, elapsed) = block_on(async move {
        let client = Client::new(ClientConfig::default().timeout(Duration::from_millis(200)));
        let started = Instant::now();
        let timed_out = client.get_async(&silent_url).await;
        let elapsed = started.elapsed();
        let refused = client.get_async(&refused_url).await;
        (timed_out, refused, elapsed)
    });
    assert!(
        matches!(timed_out, Err(ClientError::Timeout { .. })),
        "{timed_out:?}"
    );
    assert!(elapsed >= Duration::from_millis(200));
    match refused {
        Err(ClientError::Io { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused)
        }
        other => panic!("expected a refused connection, got {other:?}"),
    }
    drop(silent);
}

#[test]
fn fetch_rejects_bad_urls() {
    let outcome = block_on(rt::fetch(
        wasock::build_request(Method::GET, "ftp://example.invalid/", Vec::new()).unwrap(),
    ));
    assert!(
        matches!(outcome, Err(ClientError::InvalidUrl { .. })),
        "{outcome:?}"
    );
}

#[test]
fn requests_waiting_on_a_slow_upstream_are_in_flight_together() {
    let upstream = slow_upstream();
    let proxy = proxy_to(upstream.url.clone(), Duration::from_secs(10));
    // 20 requests whose upstream takes 300 ms each: one after another that is 6 s.
    let started = Instant::now();
    let clients: Vec<_> = (0..20)
        .map(|_| {
            let url = format!("{}/delay/300", proxy.url);
            std::thread::spawn(move || ureq_get(&url))
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap(), (200, "slept 300".to_string()));
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(3),
        "20 requests took {elapsed:?}: they were served one after another"
    );
}

#[test]
fn a_fast_request_is_not_held_behind_a_slow_one() {
    let upstream = slow_upstream();
    let proxy = proxy_to(upstream.url.clone(), Duration::from_secs(30));
    let (slow_done, slow_finished) = mpsc::channel();
    let slow_url = format!("{}/delay/3000", proxy.url);
    let slow = std::thread::spawn(move || {
        let outcome = ureq_get(&slow_url);
        let _ = slow_done.send(());
        outcome
    });
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..10 {
        assert_eq!(
            ureq_get(&format!("{}/fast", proxy.url)),
            (200, "fast".to_string())
        );
    }
    assert!(
        slow_finished.try_recv().is_err(),
        "the slow request finished before the fast ones were answered"
    );
    assert_eq!(slow.join().unwrap(), (200, "slept 3000".to_string()));
}

#[test]
fn an_upstream_timeout_becomes_a_504() {
    let upstream = slow_upstream();
    let proxy = proxy_to(upstream.url.clone(), Duration::from_millis(200));
    assert_eq!(
        ureq_get(&format!("{}/delay/5000", proxy.url)),
        (504, "upstream timed out".to_string())
    );
    // The proxy goes on serving.
    assert_eq!(
        ureq_get(&format!("{}/delay/10", proxy.url)),
        (200, "slept 10".to_string())
    );
}
