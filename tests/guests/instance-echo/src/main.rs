//! Says which instance answered (`cargo wasock run --instances N` tests).
//!
//! TCP (the default): binds `$HOST:$PORT` (HOST defaults to 127.0.0.1), prints `listening`,
//! and answers each connection's request with one HTTP/1.1 response whose body is
//! `instance <WASOCK_INSTANCE> served <count>`, then closes it. A request for `/exit/<code>`
//! is answered, then the instance exits with that code.
//!
//! With `WORK_KIB=K`, each answer first hashes K KiB of memory (FNV-1a), so that a benchmark
//! (`scripts/bench-instances.sh`) loads the server's cores rather than the client's.
//!
//! With `PROTO=udp`: binds a UDP socket there, prints `bound`, and answers each datagram
//! with `<WASOCK_INSTANCE> <the datagram>` to its sender.

use std::io::{Read, Write};
use std::net::Shutdown;

use wasock::net::{TcpListener, UdpSocket};

fn main() {
    let instance = std::env::var("WASOCK_INSTANCE").unwrap_or_else(|_| "none".to_owned());
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port: u16 = std::env::var("PORT")
        .expect("PORT is set")
        .parse()
        .expect("PORT is a port");
    if std::env::var("PROTO").as_deref() == Ok("udp") {
        let socket = UdpSocket::bind((host.as_str(), port)).expect("bind");
        println!("bound");
        let mut buffer = [0u8; 1500];
        loop {
            let (length, peer) = socket.recv_from(&mut buffer).expect("recv_from");
            let mut reply = format!("{instance} ").into_bytes();
            reply.extend_from_slice(&buffer[..length]);
            socket.send_to(&reply, peer).expect("send_to");
        }
    }
    let listener = TcpListener::bind((host.as_str(), port)).expect("bind");
    println!("listening");
    let work_kib: usize = std::env::var("WORK_KIB")
        .ok()
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0);
    let memory: Vec<u8> = (0..work_kib * 1024).map(|index| index as u8).collect();
    let mut served = 0u64;
    loop {
        let Ok((mut stream, _)) = listener.accept() else {
            continue;
        };
        let mut head = Vec::new();
        let mut chunk = [0u8; 1024];
        while !head.windows(4).any(|window| window == b"\r\n\r\n") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(read) => head.extend_from_slice(&chunk[..read]),
            }
        }
        served += 1;
        let text = String::from_utf8_lossy(&head);
        let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let body = if memory.is_empty() {
            format!("instance {instance} served {served}\n")
        } else {
            format!("instance {instance} served {served} hash {:016x}\n", fnv1a(&memory, served))
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes());
        let _ = stream.shutdown(Shutdown::Both);
        if let Some(code) = path.strip_prefix("/exit/") {
            std::process::exit(code.parse().unwrap_or(1));
        }
    }
}

/// FNV-1a over `bytes`, seeded with `seed` so that no two answers can be cached.
fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
