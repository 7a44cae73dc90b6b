//! A socket app as a user might write one for WasmEdge, without our templates or library:
//! bind `$HOST:$PORT` (HOST defaults to 127.0.0.1), print `bound`, then serve `$COUNT`
//! connections (default 1) one after another: read each to EOF, write the bytes back
//! reversed, close. Exits 0 after the last one.
//!
//! An app that accepts exactly once is what a readiness probe that connects would break:
//! the probe would be served instead of the user's client.

use std::io::{Read, Write};

use wasmedge_wasi_socket::{Shutdown, TcpListener};

fn main() {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = std::env::var("PORT").expect("PORT is set");
    let count: usize = std::env::var("COUNT")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(1);
    let listener = TcpListener::bind(format!("{host}:{port}"), false).expect("bind");
    println!("bound");
    for _ in 0..count {
        let (mut stream, _) = listener.accept(false).expect("accept");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).expect("read to EOF");
        bytes.reverse();
        stream.write_all(&bytes).expect("write back");
        let _ = stream.shutdown(Shutdown::Both);
    }
}
