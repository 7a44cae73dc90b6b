//! Checks the order in which `wasock::EventLoop::wait` reports ready sockets on
//! wasm32-wasip1: least recently ready first. `poll_oneoff` reports ready subscriptions in
//! subscription order, so the event loop's subscription order decides which connection a
//! server answers first; with a fixed order the same connections would always wait for all
//! the others (see `runtime-lib/src/event.rs`).
//!
//! Eight connections to ourselves, A to H, registered in that order. First A, C and E have
//! data: the wait reports them. Then all eight have data: the wait must report B D F G H
//! A C E (A, C and E were ready last time, so they go last). Any other order (by fd, by
//! hash, by registration) fails. Then B is deregistered and registered again under a new
//! token, and D deregistered: the next wait reports B (once, with its new token) F G H A C
//! E. Natively epoll reports in the order the data arrived instead, so this guest is for
//! wasm only. Prints `ok - …` or `not ok - …` and exits 0 only when the check passes.

use std::io::{Read, Write};
use std::time::Duration;

use wasock::{EventLoop, Interest, TcpListener, TcpStream, Token};

const NAMES: [&str; 8] = ["A", "B", "C", "D", "E", "F", "G", "H"];
const FIRST: [usize; 3] = [0, 2, 4];
/// B's token once it is registered again.
const RENAMED_B: usize = 8;

fn main() {
    match check() {
        Ok(()) => println!("ok - least recently ready first"),
        Err(why) => {
            println!("not ok - least recently ready first: {why}");
            std::process::exit(1);
        }
    }
}

fn check() -> Result<(), String> {
    let io = |what: &str| {
        let what = what.to_string();
        move |error: std::io::Error| format!("{what}: {error}")
    };
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
    let address = listener.local_addr().map_err(io("local_addr"))?;
    let mut clients = Vec::new();
    let mut accepted = Vec::new();
    for _ in NAMES {
        clients.push(TcpStream::connect(address).map_err(io("connect"))?);
        accepted.push(listener.accept().map_err(io("accept"))?.0);
    }
    let mut events = EventLoop::new().map_err(io("event loop"))?;
    for (index, stream) in accepted.iter().enumerate() {
        events
            .register(stream, Token(index), Interest::READABLE)
            .map_err(io("register"))?;
    }
    let mut ready = Vec::new();
    let names = |ready: &[wasock::Event]| {
        ready
            .iter()
            .map(|event| match event.token.0 {
                RENAMED_B => "B'",
                index => NAMES.get(index).copied().unwrap_or("?"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };

    for index in FIRST {
        (&clients[index])
            .write_all(b"a")
            .map_err(io(&format!("write to {}", NAMES[index])))?;
    }
    std::thread::sleep(Duration::from_millis(50));
    events
        .wait(&mut ready, Some(Duration::from_secs(5)))
        .map_err(io("first wait"))?;
    if names(&ready) != "A C E" {
        return Err(format!(
            "first wait reported [{}], want [A C E]",
            names(&ready)
        ));
    }
    let mut byte = [0u8; 1];
    for index in FIRST {
        (&accepted[index])
            .read_exact(&mut byte)
            .map_err(io(&format!("read {}", NAMES[index])))?;
    }

    for (client, name) in clients.iter().zip(NAMES) {
        (&*client)
            .write_all(b"x")
            .map_err(io(&format!("write to {name}")))?;
    }
    // Loopback delivers at once; the pauses only make sure the writes have all landed.
    std::thread::sleep(Duration::from_millis(50));
    events
        .wait(&mut ready, Some(Duration::from_secs(5)))
        .map_err(io("second wait"))?;
    if names(&ready) != "B D F G H A C E" {
        return Err(format!(
            "second wait reported [{}], want [B D F G H A C E]",
            names(&ready)
        ));
    }

    // Deregistered and registered again under a new token before the next wait, B keeps
    // its place and is reported once, with the new token; D, only deregistered, is gone.
    events
        .deregister(&accepted[1])
        .map_err(io("deregister B"))?;
    events
        .register(&accepted[1], Token(RENAMED_B), Interest::READABLE)
        .map_err(io("register B again"))?;
    events
        .deregister(&accepted[3])
        .map_err(io("deregister D"))?;
    events
        .wait(&mut ready, Some(Duration::from_secs(5)))
        .map_err(io("third wait"))?;
    if names(&ready) != "B' F G H A C E" {
        return Err(format!(
            "third wait reported [{}], want [B' F G H A C E]",
            names(&ready)
        ));
    }
    Ok(())
}
