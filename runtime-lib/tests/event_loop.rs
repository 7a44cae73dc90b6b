//! The readiness loop on real loopback sockets: level-triggered reports, interest changes,
//! timeouts.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use wasock::{Event, EventLoop, Interest, TcpListener, TcpStream, Token};

fn pair() -> (TcpListener, TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    (listener, client, server)
}

fn find(events: &[Event], token: Token) -> Option<Event> {
    events.iter().copied().find(|event| event.token == token)
}

/// Waits up to `timeout`, leaves everything reported in `ready` and returns `token`'s event.
fn wait_for(
    events: &mut EventLoop,
    ready: &mut Vec<Event>,
    timeout: Duration,
    token: Token,
) -> Option<Event> {
    events.wait(ready, Some(timeout)).expect("wait");
    find(ready, token)
}

const BRIEFLY: Duration = Duration::from_millis(50);
const PATIENTLY: Duration = Duration::from_secs(5);

#[test]
fn reports_readiness_until_drained_and_follows_interest_changes() {
    let (_listener, mut client, mut server) = pair();
    server.set_nonblocking(true).expect("nonblocking");
    let mut events = EventLoop::new().expect("event loop");
    let mut ready = Vec::new();
    events
        .register(&server, Token(7), Interest::READABLE)
        .expect("register");

    let event = wait_for(&mut events, &mut ready, BRIEFLY, Token(7));
    assert!(event.is_none(), "nothing sent yet: {ready:?}");

    client.write_all(b"hello").expect("send");
    for _ in 0..2 {
        // Level-triggered: reported again while unread.
        let event = wait_for(&mut events, &mut ready, PATIENTLY, Token(7));
        assert!(event.is_some_and(|e| e.readable), "{ready:?}");
    }
    let mut buffer = [0u8; 16];
    assert_eq!(server.read(&mut buffer).expect("read"), 5);
    let event = wait_for(&mut events, &mut ready, BRIEFLY, Token(7));
    assert!(event.is_none(), "drained: {ready:?}");

    events
        .reregister(&server, Token(8), Interest::WRITABLE)
        .expect("reregister");
    let event = wait_for(&mut events, &mut ready, PATIENTLY, Token(8));
    assert!(event.is_some_and(|e| e.writable), "{ready:?}");

    events.deregister(&server).expect("deregister");
    assert!(events.is_empty());
    assert!(
        events.deregister(&server).is_err(),
        "double deregister is refused"
    );
}

#[test]
fn hang_up_is_reported_as_readable() {
    let (_listener, client, server) = pair();
    let mut events = EventLoop::new().expect("event loop");
    events
        .register(&server, Token(1), Interest::READABLE)
        .expect("register");
    drop(client);
    let mut ready = Vec::new();
    let event = wait_for(&mut events, &mut ready, PATIENTLY, Token(1));
    assert!(event.is_some_and(|e| e.readable), "{ready:?}");
    events.deregister(&server).expect("deregister");
}

#[test]
fn listener_readiness_means_a_pending_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let mut events = EventLoop::new().expect("event loop");
    events
        .register(&listener, Token(0), Interest::READABLE)
        .expect("register");
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
    let _client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let mut ready = Vec::new();
    let event = wait_for(&mut events, &mut ready, PATIENTLY, Token(0));
    assert!(event.is_some(), "{ready:?}");
    assert!(listener.accept().is_ok());
    events.deregister(&listener).expect("deregister");
}

#[test]
fn wait_honours_its_timeout_and_refuses_to_block_forever() {
    let mut events = EventLoop::new().expect("event loop");
    let mut ready = Vec::new();
    let started = Instant::now();
    events
        .wait(&mut ready, Some(Duration::from_millis(100)))
        .expect("wait");
    assert!(ready.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(90));
    assert!(events.wait(&mut ready, None).is_err());

    let (_listener, _client, server) = pair();
    events
        .register(&server, Token(3), Interest::READABLE)
        .expect("register");
    assert!(
        events
            .register(&server, Token(4), Interest::READABLE)
            .is_err(),
        "double register is refused"
    );
    events.deregister(&server).expect("deregister");
}
