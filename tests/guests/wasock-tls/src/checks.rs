//! HTTPS client checks shared by the `wasock-tls` guest (built for wasm32-wasip1) and
//! runtime-lib/tests/tls.rs (native): the same code, held to the same answers.
//!
//! The servers (started by the test on loopback, trusted through `SSL_CERT_FILE` naming the
//! test's private CA): `trusted` is Python's `ssl` + `http.server` on 127.0.0.1 with a
//! certificate for `localhost` and 127.0.0.1; `expired`, `untrusted` (self-signed) likewise;
//! `wrong` serves the trusted certificate on 127.0.0.2; `cut` closes after reading the
//! ClientHello; `plain` is plain HTTP; `www` is `openssl s_server -www` (HTTP/1.0, the body
//! ends with the connection).

use wasock::http::{Method, Request};
use wasock::{build_request, Client, ClientConfig, ClientError, TlsFailure, TlsStream};

/// The ports of the test's servers.
pub struct Ports {
    pub trusted: u16,
    pub expired: u16,
    pub untrusted: u16,
    pub wrong: u16,
    pub cut: u16,
    pub plain: u16,
    pub www: u16,
}

impl Ports {
    /// Reads `name=PORT` arguments; every server must be named.
    pub fn from_args(args: impl Iterator<Item = String>) -> Result<Ports, String> {
        let mut found = std::collections::HashMap::new();
        for arg in args {
            let (name, port) = arg
                .split_once('=')
                .ok_or_else(|| format!("expected NAME=PORT, got `{arg}`"))?;
            let port: u16 = port.parse().map_err(|_| format!("bad port in `{arg}`"))?;
            found.insert(name.to_string(), port);
        }
        let port = |name: &str| {
            found
                .get(name)
                .copied()
                .ok_or_else(|| format!("missing {name}=PORT"))
        };
        Ok(Ports {
            trusted: port("trusted")?,
            expired: port("expired")?,
            untrusted: port("untrusted")?,
            wrong: port("wrong")?,
            cut: port("cut")?,
            plain: port("plain")?,
            www: port("www")?,
        })
    }

    /// The arguments [`from_args`](Self::from_args) reads (runtime-lib/tests/tls.rs passes them).
    #[allow(dead_code)]
    pub fn args(&self) -> Vec<String> {
        vec![
            format!("trusted={}", self.trusted),
            format!("expired={}", self.expired),
            format!("untrusted={}", self.untrusted),
            format!("wrong={}", self.wrong),
            format!("cut={}", self.cut),
            format!("plain={}", self.plain),
            format!("www={}", self.www),
        ]
    }
}

type Check = Result<(), String>;

/// How many checks [`run`] reports.
pub const CHECKS: usize = 17;

/// Runs every check in turn, handing each outcome with its name to `report` as it comes.
pub fn run(ports: &Ports, mut report: impl FnMut(&'static str, Check)) {
    let checks: [(&str, fn(&Ports) -> Check); CHECKS] = [
        ("blocking GET by name", |p| get_by_name(p.trusted)),
        ("blocking POST by IP address", |p| post_by_ip(p.trusted)),
        ("chunked response", |p| chunked(p.trusted)),
        ("1 MiB up and 1 MiB down", |p| mebibyte_each_way(p.trusted)),
        ("keep-alive: 20 fetches, one handshake", |p| {
            keep_alive(p.trusted)
        }),
        ("a new connection resumes the TLS session", |p| {
            resumed(p.trusted)
        }),
        ("send_all: 20 at once", |p| send_all(p.trusted)),
        ("TlsStream speaks HTTP by hand", |p| tls_stream(p.trusted)),
        ("AsyncTlsStream speaks HTTP by hand", |p| {
            async_tls_stream(p.trusted)
        }),
        ("100 fetches at once on one thread", |p| {
            hundred_at_once(p.trusted)
        }),
        ("openssl s_server -www, body ended by close_notify", |p| {
            www(p.www)
        }),
        ("untrusted certificate", |p| untrusted(p.untrusted)),
        ("untrusted certificate (async fetch)", |p| {
            untrusted_async(p.untrusted)
        }),
        ("expired certificate", |p| expired(p.expired)),
        ("certificate for another address", |p| wrong_name(p.wrong)),
        ("server closes mid-handshake", |p| cut(p.cut)),
        ("plain HTTP on an https URL", |p| plain(p.plain)),
    ];
    for (name, check) in checks {
        report(name, check(ports));
    }
}

fn client() -> Client {
    Client::new(ClientConfig::default().timeout(std::time::Duration::from_secs(20)))
}

/// For the heavy checks (1 MiB each way, 100 handshakes at once): WasmEdge's interpreter
/// takes tens of seconds for them on a busy machine, and they check results, not speed.
fn slow_client() -> Client {
    Client::new(ClientConfig::default().timeout(std::time::Duration::from_secs(120)))
}

fn expect_body(
    outcome: Result<wasock::http::Response<Vec<u8>>, ClientError>,
    want: &[u8],
) -> Check {
    let response = outcome.map_err(|error| error.to_string())?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    if response.body().as_slice() != want {
        return Err(format!(
            "body {:?} (want {:?})",
            String::from_utf8_lossy(&response.body()[..response.body().len().min(80)]),
            String::from_utf8_lossy(&want[..want.len().min(80)])
        ));
    }
    Ok(())
}

fn get_by_name(port: u16) -> Check {
    expect_body(
        client().get(&format!("https://localhost:{port}/hello")),
        b"hello over tls",
    )
}

fn post_by_ip(port: u16) -> Check {
    expect_body(
        client().post(&format!("https://127.0.0.1:{port}/echo"), "by ip"),
        b"by ip",
    )
}

fn chunked(port: u16) -> Check {
    let want: String = (0..10).map(|i| format!("chunk-{i};")).collect();
    let response = client()
        .get(&format!("https://localhost:{port}/chunked"))
        .map_err(|error| error.to_string())?;
    if response.headers().contains_key("content-length") {
        return Err("the response was not chunked".into());
    }
    expect_body(Ok(response), want.as_bytes())
}

fn mebibyte_each_way(port: u16) -> Check {
    let up: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
    expect_body(
        slow_client().post(&format!("https://localhost:{port}/echo"), up.clone()),
        &up,
    )?;
    let url = format!("https://localhost:{port}/big?{}", 1 << 20);
    let down = wasock::block_on(async { slow_client().get_async(&url).await });
    expect_body(down, &vec![b'x'; 1 << 20])
}

/// Counts handshakes at the server: `/conns` before and after 20 requests on one runtime
/// (whose pool keeps the connection) must read the same.
fn keep_alive(port: u16) -> Check {
    wasock::block_on(async {
        let client = client();
        let url = |path: &str| format!("https://localhost:{port}{path}");
        let count = |outcome: Result<wasock::http::Response<Vec<u8>>, ClientError>| {
            let response = outcome.map_err(|error| error.to_string())?;
            String::from_utf8_lossy(response.body())
                .parse::<u64>()
                .map_err(|_| "/conns did not answer a number".to_string())
        };
        let before = count(client.get_async(&url("/conns")).await)?;
        for i in 0..20 {
            let body = format!("request {i}");
            let response = client
                .post_async(&url("/echo"), body.clone())
                .await
                .map_err(|error| error.to_string())?;
            if response.body().as_slice() != body.as_bytes() {
                return Err(format!("request {i} got another body"));
            }
        }
        let after = count(client.get_async(&url("/conns")).await)?;
        if after != before {
            return Err(format!(
                "{} handshakes for 21 requests after the first",
                after - before
            ));
        }
        Ok(())
    })
}

/// Earlier checks left session tickets with this process's client configuration: a new
/// connection (a new runtime has an empty pool) resumes, as the server says.
fn resumed(port: u16) -> Check {
    let url = format!("https://localhost:{port}/reused");
    let outcome = wasock::block_on(async { client().get_async(&url).await });
    expect_body(outcome, b"true")
}

fn send_all(port: u16) -> Check {
    let requests: Vec<Request<Vec<u8>>> = (0..20)
        .map(|i| {
            build_request(
                Method::POST,
                &format!("https://localhost:{port}/echo"),
                format!("r{i}").into_bytes(),
            )
            .map_err(|error| error.to_string())
        })
        .collect::<Result<_, _>>()?;
    for (i, outcome) in client().send_all(requests).into_iter().enumerate() {
        expect_body(outcome, format!("r{i}").as_bytes()).map_err(|why| format!("r{i}: {why}"))?;
    }
    Ok(())
}

fn tls_stream(port: u16) -> Check {
    use std::io::{Read, Write};
    let mut stream = TlsStream::connect("localhost", port).map_err(|error| error.to_string())?;
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|error| error.to_string())?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // Framing is the protocol's business: stop once the body arrived (Python closes
    // without close_notify, which TlsStream reports as a truncation after it).
    while !got.ends_with(b"hello over tls") {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(error) => return Err(error.to_string()),
        }
    }
    hello_answer(&got)
}

fn async_tls_stream(port: u16) -> Check {
    use wasock::prelude::{AsyncReadExt, AsyncWriteExt};
    wasock::block_on(async {
        let mut stream = wasock::AsyncTlsStream::connect("localhost", port)
            .await
            .map_err(|error| error.to_string())?;
        stream
            .write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|error| error.to_string())?;
        stream.flush().await.map_err(|error| error.to_string())?;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(b"hello over tls") {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(error) => return Err(error.to_string()),
            }
        }
        hello_answer(&got)
    })
}

/// The server's answer to `GET /hello` read by hand: a 200 whose body is `hello over tls`.
fn hello_answer(got: &[u8]) -> Check {
    if !got.starts_with(b"HTTP/1.1 200") || !got.ends_with(b"hello over tls") {
        return Err(format!("got {:?}", String::from_utf8_lossy(got)));
    }
    Ok(())
}

/// 100 `https://` fetches started at once on one runtime (one thread), each answered with
/// its own body.
fn hundred_at_once(port: u16) -> Check {
    wasock::block_on(async {
        let client = slow_client();
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let client = client.clone();
                let url = format!("https://localhost:{port}/echo");
                wasock::spawn(async move { client.post_async(&url, format!("f{i}")).await })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let outcome = task.await.map_err(|error| format!("f{i}: {error:?}"))?;
            expect_body(outcome, format!("f{i}").as_bytes())
                .map_err(|why| format!("f{i}: {why}"))?;
        }
        Ok(())
    })
}

fn www(port: u16) -> Check {
    let response = client()
        .get(&format!("https://127.0.0.1:{port}/"))
        .map_err(|error| error.to_string())?;
    let body = String::from_utf8_lossy(response.body());
    if response.status() != 200 || !body.contains("Ciphers supported in s_server binary") {
        return Err(format!("status {}, body {body:?}", response.status()));
    }
    Ok(())
}

/// The error must be `ClientError::Tls` with `want`, and its words must contain `words`.
fn expect_tls_error(
    outcome: Result<wasock::http::Response<Vec<u8>>, ClientError>,
    want: fn(&TlsFailure) -> bool,
    words: &[String],
) -> Check {
    match outcome {
        Ok(response) => Err(format!("got a response: {}", response.status())),
        Err(error @ ClientError::Tls { .. }) => {
            let ClientError::Tls { failure, .. } = &error else {
                unreachable!()
            };
            let text = error.to_string();
            if !want(failure) {
                return Err(format!("another failure: {text}"));
            }
            for word in words {
                if !text.contains(word.as_str()) {
                    return Err(format!("`{text}` does not say `{word}`"));
                }
            }
            if !text.contains("; help: ") {
                return Err(format!("`{text}` has no help"));
            }
            Ok(())
        }
        Err(other) => Err(format!("not a TLS error: {other}")),
    }
}

fn untrusted(port: u16) -> Check {
    expect_tls_error(
        client().get(&format!("https://localhost:{port}/hello")),
        |f| *f == TlsFailure::UnknownIssuer,
        &[
            format!("the certificate of localhost:{port} is not trusted (unknown issuer)"),
            "SSL_CERT_FILE".into(),
        ],
    )
}

fn untrusted_async(port: u16) -> Check {
    let url = format!("https://localhost:{port}/hello");
    expect_tls_error(
        wasock::block_on(async { client().get_async(&url).await }),
        |f| *f == TlsFailure::UnknownIssuer,
        &[format!("localhost:{port} is not trusted")],
    )
}

fn expired(port: u16) -> Check {
    expect_tls_error(
        client().get(&format!("https://localhost:{port}/hello")),
        |f| *f == TlsFailure::Expired,
        &[format!("the certificate of localhost:{port} has expired")],
    )
}

fn wrong_name(port: u16) -> Check {
    expect_tls_error(
        client().get(&format!("https://127.0.0.2:{port}/hello")),
        |f| matches!(f, TlsFailure::WrongName { host } if host == "127.0.0.2"),
        &[format!(
            "the certificate of 127.0.0.2:{port} is not valid for the name `127.0.0.2`"
        )],
    )
}

fn cut(port: u16) -> Check {
    expect_tls_error(
        client().get(&format!("https://127.0.0.1:{port}/")),
        |f| *f == TlsFailure::ClosedDuringHandshake,
        &[format!(
            "127.0.0.1:{port} closed the connection during the TLS handshake"
        )],
    )
}

fn plain(port: u16) -> Check {
    expect_tls_error(
        client().get(&format!("https://127.0.0.1:{port}/")),
        |f| *f == TlsFailure::NotTls,
        &[format!("127.0.0.1:{port} did not answer in TLS")],
    )
}
