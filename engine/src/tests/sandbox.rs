//! Issue 21: the sandbox. The policy on a real guest (`tests/guests/policy-checks`, release):
//! what is listed goes through, what is not answers `ACCES` and the guest goes on; the
//! memory limit and the socket cap; and the hostile guests the issue found (WAT), each of
//! which got through before its fix.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

fn policy(connect: Option<&[String]>, listen: Option<&[String]>) -> Policy {
    let rules = |list: &[String]| {
        list.iter()
            .map(|text| {
                text.parse::<Rule>()
                    .unwrap_or_else(|error| panic!("{error}"))
            })
            .collect()
    };
    Policy {
        connect: connect.map(rules),
        listen: listen.map(rules),
    }
}

/// The guest run with `steps` in `sandbox`: its output lines and the events it caused.
fn run_steps(sandbox: Sandbox, steps: &[String]) -> (Outcome, Vec<SandboxEvent>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = GuestSpec {
        args: steps.to_vec(),
        stdout: GuestOutput::File(dir.path().join("stdout")),
        stderr: GuestOutput::File(dir.path().join("stderr")),
        sandbox,
        ..GuestSpec::new(guest("policy-checks"))
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut app = prepare(&spec, None).expect("prepare");
    let sink = Arc::clone(&events);
    app.on_sandbox_event(move |event| sink.lock().unwrap().push(event));
    let (code, trap) = match app.run_or_trap() {
        Ok(code) => (code, None),
        Err(trap) => (TRAP_EXIT_CODE, Some(trap)),
    };
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    let outcome = Outcome {
        code,
        stdout: read("stdout"),
        stderr: read("stderr"),
        trap,
    };
    let events = events.lock().unwrap().clone();
    (outcome, events)
}

fn assert_lines(outcome: &Outcome, want: &[String]) {
    let got: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(got, want, "{outcome}");
}

/// A listener on `ip` and port 0 that the test can ask, without waiting, what reached it.
fn tcp_listener(ip: &str) -> (TcpListener, u16) {
    let listener = TcpListener::bind((ip, 0)).expect("bind a test listener");
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn udp_socket(ip: &str) -> (UdpSocket, u16) {
    let socket = UdpSocket::bind((ip, 0)).expect("bind a test UDP socket");
    socket.set_nonblocking(true).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// How many connections reached `listener`, each having sent `hello`.
fn hellos(listener: &TcpListener) -> usize {
    let mut count = 0;
    while let Ok((mut stream, _)) = listener.accept() {
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
        count += 1;
    }
    count
}

fn datagrams(socket: &UdpSocket) -> usize {
    let mut buf = [0u8; 16];
    let mut count = 0;
    while socket.recv_from(&mut buf).is_ok() {
        count += 1;
    }
    count
}

fn blocked(direction: Direction, host: &str, port: u16) -> SandboxEvent {
    SandboxEvent::Blocked(Blocked {
        direction,
        host: host.to_owned(),
        port,
    })
}

/// 127.0.0.1 listed, 127.0.0.2 not: TCP connect, UDP send_to and connected UDP are refused
/// with `ACCES` (PermissionDenied in the guest) before anything leaves, a listen on an
/// address not listed is refused, and the guest still reaches what is listed afterwards.
/// Each refused destination is reported once, though the guest tried 127.0.0.2's UDP port
/// twice. The same steps without a policy all go through, as on WasmEdge.
#[test]
fn the_policy_refuses_what_it_does_not_list_and_the_guest_goes_on() {
    let (allowed, port) = tcp_listener("127.0.0.1");
    let (other, other_port) = tcp_listener("127.0.0.2");
    let (udp_allowed, udp_port) = udp_socket("127.0.0.1");
    let (udp_other, udp_other_port) = udp_socket("127.0.0.2");
    let steps: Vec<String> = vec![
        format!("tcp=127.0.0.1:{port}"),
        format!("tcp=127.0.0.2:{other_port}"),
        format!("udp-send=127.0.0.2:{udp_other_port}"),
        format!("udp-connect=127.0.0.2:{udp_other_port}"),
        format!("udp-send=127.0.0.1:{udp_port}"),
        "listen=127.0.0.3:0".to_owned(),
        "udp-bind=127.0.0.3:0".to_owned(),
        "listen=127.0.0.1:0".to_owned(),
        format!("tcp=127.0.0.1:{port}"),
    ];
    let sandbox = Sandbox {
        policy: policy(
            Some(&[format!("127.0.0.1:{port}"), format!("127.0.0.1:{udp_port}")]),
            Some(&["127.0.0.1:*".to_owned()]),
        ),
        ..Sandbox::default()
    };
    let (outcome, events) = run_steps(sandbox, &steps);
    let refused = "error 2 PermissionDenied";
    // wasock's binds name the address in their error, which keeps the kind, not the errno.
    let refused_bind = "error -1 PermissionDenied";
    let want: Vec<String> = steps
        .iter()
        .zip([
            "ok",
            refused,
            refused,
            refused,
            "ok",
            refused_bind,
            refused_bind,
            "ok port",
            "ok",
        ])
        .map(|(step, result)| {
            format!(
                "{} {}: {result}",
                step.split_once('=').unwrap().0,
                step.split_once('=').unwrap().1
            )
        })
        .collect();
    let got: Vec<String> = outcome
        .stdout
        .lines()
        .map(|line| match line.find(": ok port ") {
            Some(at) => format!("{}: ok port", &line[..at]),
            None => line.to_owned(),
        })
        .collect();
    assert_eq!(got, want, "{outcome}");
    assert_eq!(outcome.code, 0, "{outcome}");
    assert_eq!(hellos(&allowed), 2, "both allowed connects arrived");
    assert_eq!(hellos(&other), 0, "nothing reached 127.0.0.2");
    assert_eq!(datagrams(&udp_allowed), 1);
    assert_eq!(datagrams(&udp_other), 0);
    assert_eq!(
        events,
        [
            blocked(Direction::Connect, "127.0.0.2", other_port),
            blocked(Direction::Connect, "127.0.0.2", udp_other_port),
            blocked(Direction::Listen, "127.0.0.3", 0),
        ]
    );

    // No policy: everything goes through.
    let (outcome, events) = run_steps(Sandbox::default(), &steps);
    for line in outcome.stdout.lines() {
        assert!(line.contains(": ok"), "{line}\n{outcome}");
    }
    assert_eq!(outcome.stdout.lines().count(), steps.len(), "{outcome}");
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(hellos(&other), 1);
    assert_eq!(datagrams(&udp_other), 2);
}

/// By name: `localhost:PORT` lets the guest look `localhost` up and connect (to loopback,
/// RFC 6761); a CIDR block with a port wildcard covers its addresses on any port and
/// nothing outside it.
#[test]
fn names_blocks_and_port_wildcards() {
    let (local, port) = tcp_listener("127.0.0.1");
    let (other, other_port) = tcp_listener("127.0.0.2");
    let steps = vec![
        "lookup=localhost".to_owned(),
        format!("tcp=localhost:{port}"),
        format!("tcp=localhost:{other_port}"),
    ];
    let sandbox = Sandbox {
        policy: policy(Some(&[format!("localhost:{port}")]), None),
        ..Sandbox::default()
    };
    let (outcome, events) = run_steps(sandbox, &steps);
    let lookup = outcome.stdout.lines().next().unwrap_or_default().to_owned();
    assert!(lookup.starts_with("lookup localhost: ok "), "{outcome}");
    assert_lines(
        &outcome,
        &[
            lookup,
            format!("tcp localhost:{port}: ok"),
            format!("tcp localhost:{other_port}: error 2 PermissionDenied"),
        ],
    );
    assert_eq!(hellos(&local), 1);
    assert_eq!(
        events,
        [blocked(Direction::Connect, "localhost", other_port)],
        "the lookup named the address"
    );

    // 127.0.0.0/31 is .0 and .1: .2 is outside it, on any port.
    let steps = vec![
        format!("tcp=127.0.0.1:{port}"),
        format!("tcp=127.0.0.1:{other_port}"),
        format!("tcp=127.0.0.2:{other_port}"),
    ];
    let sandbox = Sandbox {
        policy: policy(Some(&["127.0.0.0/31:*".to_owned()]), None),
        ..Sandbox::default()
    };
    let (outcome, _) = run_steps(sandbox, &steps);
    assert_lines(
        &outcome,
        &[
            format!("tcp 127.0.0.1:{port}: ok"),
            // Allowed, and refused by the kernel: nothing listens on 127.0.0.1 there.
            format!("tcp 127.0.0.1:{other_port}: error 14 ConnectionRefused"),
            format!("tcp 127.0.0.2:{other_port}: error 2 PermissionDenied"),
        ],
    );
    assert_eq!(hellos(&local), 1);
    assert_eq!(hellos(&other), 0);
}

/// `SO_BINDTODEVICE` would let a guest pick a host interface past the addresses the policy
/// judges: refused under a policy, passed through without one (before the fix it passed
/// through under a policy too).
#[test]
fn bind_to_device_is_refused_under_a_policy() {
    let steps = vec!["bind-device=lo".to_owned()];
    let sandbox = Sandbox {
        policy: policy(Some(&[]), None),
        ..Sandbox::default()
    };
    let (outcome, _) = run_steps(sandbox, &steps);
    assert_lines(
        &outcome,
        &["bind-device lo: error 2 PermissionDenied".to_owned()],
    );
    let (outcome, _) = run_steps(Sandbox::default(), &steps);
    assert!(
        !outcome.stdout.contains("error 2 "),
        "without a policy the host decides: {outcome}"
    );
}

/// The memory limit: growth past it fails (Rust's allocator then aborts: a trap, exit
/// 134, as on WasmEdge) and is reported once; below it the guest runs as before.
#[test]
fn the_memory_limit_stops_growth_and_is_reported() {
    let limit = 16 << 20;
    let sandbox = Sandbox {
        memory_limit: Some(limit),
        ..Sandbox::default()
    };
    let (outcome, events) = run_steps(sandbox.clone(), &["alloc=4".to_owned()]);
    assert_lines(&outcome, &["alloc 4: ok 4 MiB".to_owned()]);
    assert!(events.is_empty(), "{events:?}");
    let (outcome, events) = run_steps(sandbox, &["alloc=64".to_owned()]);
    assert_eq!(outcome.code, TRAP_EXIT_CODE, "{outcome}");
    assert_eq!(events, [SandboxEvent::MemoryLimitReached { limit }]);
}

/// `max_sockets`: the socket past the cap answers `MFILE` (33), as at a process's
/// descriptor limit; a closed one frees its place (the guest holds them here).
#[test]
fn sockets_past_the_cap_answer_mfile() {
    let sandbox = Sandbox {
        max_sockets: Some(5),
        ..Sandbox::default()
    };
    let (outcome, _) = run_steps(
        sandbox,
        &["sockets=8".to_owned(), "lookup=localhost".to_owned()],
    );
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"sockets 8: 5 opened, then error 33 Uncategorized"),
        "{outcome}"
    );
}

/// Without `max_sockets`, a guest that opens sockets without end stops at the default cap
/// and the process keeps descriptors for itself: a name lookup (which needs a few) still
/// works. Before the cap, 100,000 `sock_open`s ran until the process limit and the lookup
/// failed. Run in a child process with a small descriptor limit (512), so that this test
/// neither takes its siblings' descriptors nor opens twenty thousand sockets.
#[test]
fn the_default_socket_cap_keeps_descriptors_for_the_host() {
    use std::os::unix::process::CommandExt;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child.args([
        "--exact",
        "tests::sandbox::default_socket_cap_in_a_small_process",
        "--ignored",
        "--nocapture",
    ]);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        child.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 512,
                rlim_max: 512,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // The guest is built here, once, not in the child.
    let _ = guest("policy-checks");
    let output = child.output().expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The child half of [`the_default_socket_cap_keeps_descriptors_for_the_host`].
#[test]
#[ignore = "run by the_default_socket_cap_keeps_descriptors_for_the_host in a process with 512 descriptors"]
fn default_socket_cap_in_a_small_process() {
    let cap = default_max_sockets();
    assert_eq!(cap, 512 - HOST_RESERVED_FDS as usize);
    let (outcome, _) = run_steps(
        Sandbox::default(),
        &["sockets=100000".to_owned(), "lookup=localhost".to_owned()],
    );
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(format!("sockets 100000: {cap} opened, then error 33 Uncategorized").as_str()),
        "{outcome}"
    );
    assert!(
        lines
            .get(1)
            .is_some_and(|line| line.starts_with("lookup localhost: ok ")),
        "{outcome}"
    );
}

const LISTEN_IMPORTS: &str = r#"
    (import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_bind" (func $bind (param i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_listen" (func $listen (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))"#;

/// A listener on 127.0.0.1:0 in `$fd`.
const LISTENER: &str = r#"
    (call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 0) (i32.const 10))
    (local.set $fd (i32.load (i32.const 0)))
    (i32.store (i32.const 16) (i32.const 32))
    (i32.store (i32.const 20) (i32.const 4))
    (i32.store (i32.const 32) (i32.const 0x0100007f))
    (call $expect (call $bind (local.get $fd) (i32.const 16) (i32.const 0)) (i32.const 0) (i32.const 11))"#;

/// `sock_listen` 10,000 times on one socket: the embedder hears of the address once (it
/// used to be told once per call, which the CLI printed and queued without bound).
#[test]
fn repeated_listens_are_reported_once() {
    let checks = format!(
        r#"{LISTENER}
        (block $done (loop $again
            (call $expect (call $listen (local.get $fd) (i32.const 4)) (i32.const 0) (i32.const 12))
            (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (i32.const 1)))
            (br_if $again (i32.lt_u (i32.load (i32.const 8)) (i32.const 10000)))))"#
    );
    let wat = checks_module(LISTEN_IMPORTS, "", &checks);
    with_wat_module(&wat, |spec| {
        let reports = Arc::new(Mutex::new(Vec::<SocketAddr>::new()));
        let mut app = prepare(&spec, None).expect("prepare");
        let sink = Arc::clone(&reports);
        app.on_listen(move |address| sink.lock().unwrap().push(address));
        assert_eq!(app.run(), 0);
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(reports[0].ip().to_string(), "127.0.0.1");
    });
}

/// One `poll_oneoff` over most of the guest's memory (a socket, then zero-timeout clocks,
/// which zeroed memory is): without a memory limit the host's share is capped at
/// `POLL_HOST_BYTES_CAP`, with one at the limit; beyond it the call answers `NOMEM` (48)
/// before the host allocates. Before the cap, these calls succeeded, the first holding
/// ~3× the guest's memory on the host while it ran.
#[test]
fn a_huge_poll_is_nomem_not_host_memory() {
    // (pages of guest memory, subscriptions, memory limit)
    let cases = [
        (1200, 1_500_000u32, None),
        (240, 300_000, Some(16u64 << 20)),
    ];
    for (pages, count, limit) in cases {
        let checks = format!(
            r#"{LISTENER}
            (call $expect (call $listen (local.get $fd) (i32.const 4)) (i32.const 0) (i32.const 12))
            (i64.store (i32.const 1024) (i64.const 6))
            (i32.store8 (i32.const 1032) (i32.const 1))
            (i32.store (i32.const 1040) (local.get $fd))
            (call $expect (call $poll (i32.const 1024) (i32.const 1024) (i32.const {count}) (i32.const 512)) (i32.const 48) (i32.const 20))
            ;; An ordinary call still works: the listener and a 0 s clock.
            (call $expect (call $poll (i32.const 1024) (i32.const 1024) (i32.const 2) (i32.const 512)) (i32.const 0) (i32.const 21))"#
        );
        let wat = checks_module(LISTEN_IMPORTS, "", &checks).replace(
            r#"(memory (export "memory") 1)"#,
            &format!(r#"(memory (export "memory") {pages})"#),
        );
        with_wat_module(&wat, |spec| {
            let spec = GuestSpec {
                sandbox: Sandbox {
                    memory_limit: limit,
                    ..Sandbox::default()
                },
                ..spec
            };
            let outcome = run_spec(&spec);
            assert_eq!(
                outcome.code, 0,
                "{pages} pages, {count} subscriptions: {outcome}"
            );
        });
    }
}
