//! Issue 19: hostile inputs, each run on the engine and on the real WasmEdge 0.17.1 (WAT
//! guests built from text here). Where WasmEdge hangs, crashes or answers wrongly, the
//! engine must still be safe and answer sensibly; the test pins both behaviours, and
//! ARCHITECTURE.md's deliberate differences name the case.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::wasmedge::{self, Ended, Limits};
use super::*;

/// Run `spec` on the engine, failing the test when it has not ended within `limit` (the
/// guest is left running on its thread: a hung `poll_oneoff` cannot be interrupted).
fn run_within(spec: &GuestSpec, limit: Duration) -> Outcome {
    let spec = spec.clone();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(run_spec(&spec));
    });
    receiver
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("the guest was still running after {limit:?}"))
}

/// A WasmEdge run that must end within a few seconds, or is reported as still running.
fn briefly() -> Limits {
    Limits {
        time: Duration::from_secs(3),
        ..Limits::default()
    }
}

/// The exit code of a WasmEdge run that exited.
fn exit_code(outcome: &wasmedge::Outcome) -> i32 {
    match outcome.ended {
        Ended::Exited(code) => code,
        other => panic!("WasmEdge did not exit but {other:?}: {outcome}"),
    }
}

const POLL_IMPORTS: &str = r#"
    (import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_bind" (func $bind (param i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_listen" (func $listen (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))"#;

/// A listener on 127.0.0.1 that nobody connects to (never readable), in `$fd`, and two
/// subscriptions at 1024: 0 writes to stdout (userdata 5), 1 reads the listener (userdata 6).
const IDLE_LISTENER_AND_STDOUT: &str = r#"
    (call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 0) (i32.const 10))
    (local.set $fd (i32.load (i32.const 0)))
    (i32.store (i32.const 16) (i32.const 32))
    (i32.store (i32.const 20) (i32.const 4))
    (i32.store (i32.const 32) (i32.const 0x0100007f))
    (call $expect (call $bind (local.get $fd) (i32.const 16) (i32.const 0)) (i32.const 0) (i32.const 11))
    (call $expect (call $listen (local.get $fd) (i32.const 4)) (i32.const 0) (i32.const 12))
    (i64.store (i32.const 1024) (i64.const 5))
    (i32.store8 (i32.const 1032) (i32.const 2))
    (i32.store (i32.const 1040) (i32.const 1))
    (i64.store (i32.const 1072) (i64.const 6))
    (i32.store8 (i32.const 1080) (i32.const 1))
    (i32.store (i32.const 1088) (local.get $fd))"#;

/// `poll_oneoff` with the events array over the subscriptions (`out == in`), a preview1
/// subscription (stdout) beside a socket that never becomes ready: the stdout event must
/// come back. The engine used to put the subscriptions back (it borrows their bytes to
/// ask preview1) before reading preview1's events and count, so the event was lost on
/// every pass: without a clock the call never returned, with one it returned only at the
/// timeout, and a count placed inside the subscriptions was read from them, turning their
/// bytes into an event nobody produced. WasmEdge 0.17.1 gets all three right.
#[test]
fn poll_events_over_the_subscriptions_keep_the_preview1_event() {
    // (what, extra setup, nsubscriptions, nevents pointer)
    let cases = [
        ("out == in, no clock", "", 2, 4000),
        (
            "out == in, a 5 s clock",
            r#"(i64.store (i32.const 1120) (i64.const 7))
               (i32.store8 (i32.const 1128) (i32.const 0))
               (i32.store (i32.const 1136) (i32.const 1))
               (i64.store (i32.const 1144) (i64.const 5000000000))"#,
            3,
            4000,
        ),
        (
            // The count over subscription 1's fd, and padding that reads as an event type.
            "out == in, nevents inside the subscriptions",
            r#"(i32.store8 (i32.const 1034) (i32.const 1))"#,
            2,
            1088,
        ),
    ];
    for (what, setup, count, nevents) in cases {
        let checks = format!(
            r#"{IDLE_LISTENER_AND_STDOUT}
            {setup}
            (call $expect (call $poll (i32.const 1024) (i32.const 1024) (i32.const {count}) (i32.const {nevents})) (i32.const 0) (i32.const 20))
            (call $expect (i32.load (i32.const {nevents})) (i32.const 1) (i32.const 21))
            (call $expect (i32.wrap_i64 (i64.load (i32.const 1024))) (i32.const 5) (i32.const 22))
            (call $expect (i32.load16_u (i32.const 1032)) (i32.const 0) (i32.const 23))
            (call $expect (i32.load8_u (i32.const 1034)) (i32.const 2) (i32.const 24))"#
        );
        let wat = checks_module(POLL_IMPORTS, "", &checks);
        with_wat_module(&wat, |launch| {
            let began = Instant::now();
            let engine = run_within(&launch, Duration::from_secs(10));
            assert_eq!(
                engine.code, 0,
                "{what}: the exit code names the check; {engine}"
            );
            assert!(
                began.elapsed() < Duration::from_secs(2),
                "{what}: waited for the clock"
            );
            let began = Instant::now();
            if let Some(wasmedge) = wasmedge::run_with(&launch, briefly()) {
                assert_eq!(wasmedge.ended, Ended::Exited(0), "{what}: {wasmedge}");
                assert!(
                    began.elapsed() < Duration::from_secs(2),
                    "{what}: {wasmedge}"
                );
            }
        });
    }
}

/// A subscription whose tag is none of clock, read, write fails the whole `poll_oneoff`
/// with `INVAL` on the engine, as preview1 answers it (which the engine's calls without
/// sockets reach), and the count is left alone. WasmEdge 0.17.1 reports an event whose
/// type is the unknown tag, outside the enum a guest decodes, and with no clock beside it
/// waits for ever (its error event does not end the wait).
#[test]
fn an_unknown_poll_tag_fails_the_call() {
    // Exits with poll's errno, else 100 + 10 * nevents + the first event's type.
    let report = r#"(local.set $fd (call $poll (i32.const 1024) (i32.const 2048) (i32.const COUNT) (i32.const 4000)))
        (if (local.get $fd) (then (call $exit (local.get $fd))))
        (call $exit (i32.add (i32.const 100) (i32.add
            (i32.mul (i32.load (i32.const 4000)) (i32.const 10))
            (i32.load8_u (i32.const 2058)))))"#;
    let clock = r#"(i64.store (i32.const 1120) (i64.const 7))
        (i32.store8 (i32.const 1128) (i32.const 0))
        (i32.store (i32.const 1136) (i32.const 1))
        (i64.store (i32.const 1144) (i64.const 100000000))"#;
    // (what, setup, nsubscriptions, WasmEdge's answer)
    let cases = [
        // tag 7 in subscription 0, the idle listener, a 100 ms clock: two events, the
        // first typed 7.
        ("beside a socket and a clock", clock, "3", Some(127)),
        ("beside a socket", "", "2", None),
        ("alone", "", "1", None),
    ];
    for (what, setup, count, on_wasmedge) in cases {
        let checks = format!(
            r#"{IDLE_LISTENER_AND_STDOUT}
            {setup}
            (i32.store8 (i32.const 1032) (i32.const 7))
            (i32.store (i32.const 4000) (i32.const 9))
            {}"#,
            report.replace("COUNT", count)
        );
        let wat = checks_module(POLL_IMPORTS, "", &checks);
        with_wat_module(&wat, |launch| {
            let engine = run_within(&launch, Duration::from_secs(10));
            assert_eq!(engine.code, 28, "{what}: {engine}");
            if let Some(wasmedge) = wasmedge::run_with(&launch, briefly()) {
                match on_wasmedge {
                    Some(code) => {
                        assert_eq!(wasmedge.ended, Ended::Exited(code), "{what}: {wasmedge}")
                    }
                    None => assert_eq!(wasmedge.ended, Ended::StillRunning, "{what}: {wasmedge}"),
                }
            }
        });
    }
    // And the count is left alone: nevents (9 before the call) is still 9 (on the engine;
    // WasmEdge, pinned above, does not return).
    let checks = format!(
        r#"{IDLE_LISTENER_AND_STDOUT}
        (i32.store8 (i32.const 1032) (i32.const 7))
        (i32.store (i32.const 4000) (i32.const 9))
        (call $expect (call $poll (i32.const 1024) (i32.const 2048) (i32.const 2) (i32.const 4000)) (i32.const 28) (i32.const 20))
        (call $expect (i32.load (i32.const 4000)) (i32.const 9) (i32.const 21))"#
    );
    assert_engine_checks_pass(POLL_IMPORTS, "", &checks);
}

const ADDRESS_IMPORTS: &str = r#"
    (import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_bind" (func $bind (param i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_bind_v2" (func $bind_v2 (param i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_connect" (func $connect (param i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_send_to" (func $send_to (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_getlocaladdr" (func $local (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_getlocaladdr_v2" (func $local_v2 (param i32 i32 i32) (result i32)))"#;

/// A port that is free now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("an ephemeral port")
        .port()
}

/// A port is 16 bits: `bind`, `connect` and `send_to` with a larger one are `INVAL` on the
/// engine. WasmEdge 0.17.1 cuts it to 16 bits (a bind to 0x10000 + P binds P).
#[test]
fn ports_above_65535_are_refused() {
    let port = free_port();
    // Exits with bind's errno, else 100 when the socket got port P, 101 when another.
    let checks = format!(
        r#"(call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 0) (i32.const 10))
        (local.set $fd (i32.load (i32.const 0)))
        (i32.store (i32.const 16) (i32.const 32))
        (i32.store (i32.const 20) (i32.const 4))
        (i32.store (i32.const 32) (i32.const 0x0100007f))
        (i32.store (i32.const 40) (call $bind (local.get $fd) (i32.const 16) (i32.const {})))
        (if (i32.load (i32.const 40)) (then (call $exit (i32.load (i32.const 40)))))
        (i32.store (i32.const 48) (i32.const 64))
        (i32.store (i32.const 52) (i32.const 4))
        (call $expect (call $local (local.get $fd) (i32.const 48) (i32.const 72) (i32.const 76)) (i32.const 0) (i32.const 11))
        (call $expect (i32.load (i32.const 76)) (i32.const {port}) (i32.const 101))
        (call $exit (i32.const 100))"#,
        0x10000 + u32::from(port)
    );
    with_wat_module(&checks_module(ADDRESS_IMPORTS, "", &checks), |launch| {
        let engine = run_spec(&launch);
        assert_eq!(engine.code, 28, "{engine}");
        if let Some(wasmedge) = wasmedge::run(&launch) {
            assert_eq!(exit_code(&wasmedge), 100, "{wasmedge}");
        }
    });
    // connect and send_to, on the engine.
    assert_engine_checks_pass(
        ADDRESS_IMPORTS,
        r#"(data (i32.const 400) "hi")"#,
        r#"(i32.store (i32.const 16) (i32.const 32))
        (i32.store (i32.const 20) (i32.const 4))
        (i32.store (i32.const 32) (i32.const 0x0100007f))
        (call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 0) (i32.const 10))
        (call $expect (call $connect (i32.load (i32.const 0)) (i32.const 16) (i32.const 0x10050)) (i32.const 28) (i32.const 11))
        (call $expect (call $open (i32.const 1) (i32.const 1) (i32.const 0)) (i32.const 0) (i32.const 12))
        (i32.store (i32.const 80) (i32.const 400))
        (i32.store (i32.const 84) (i32.const 2))
        (call $expect (call $send_to (i32.load (i32.const 0)) (i32.const 80) (i32.const 1) (i32.const 16) (i32.const -1) (i32.const 0) (i32.const 88)) (i32.const 28) (i32.const 13))
        (call $expect (call $send_to (i32.load (i32.const 0)) (i32.const 80) (i32.const 1) (i32.const 16) (i32.const 0x10000) (i32.const 0) (i32.const 88)) (i32.const 28) (i32.const 14))"#,
    );
}

/// An address storage's family is a 16-bit value: one that is not IPv4 (1), IPv6 (2) or
/// Unix (3) is `AFNOSUPPORT` on the engine, 0x0201 included. WasmEdge 0.17.1 reads it
/// through an 8-bit enum, so 0x0201 binds as IPv4; family 9 is `AFNOSUPPORT` on both.
/// And the first-generation calls (`sock_bind`, not `_v2`) take only a 4- or 16-byte IP,
/// never a storage: `INVAL` on both.
#[test]
fn address_families_are_read_whole() {
    // Binds a TCP socket through sock_bind_v2 to a storage with family FAMILY and
    // 127.0.0.1; exits with bind's errno, else 100 + the family getlocaladdr_v2 reports.
    let bind_with_family = |family: u32| {
        format!(
            r#"(call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 0) (i32.const 10))
            (local.set $fd (i32.load (i32.const 0)))
            (i32.store (i32.const 16) (i32.const 256))
            (i32.store (i32.const 20) (i32.const 128))
            (i32.store16 (i32.const 256) (i32.const {family}))
            (i32.store (i32.const 258) (i32.const 0x0100007f))
            (i32.store (i32.const 40) (call $bind_v2 (local.get $fd) (i32.const 16) (i32.const 0)))
            (if (i32.load (i32.const 40)) (then (call $exit (i32.load (i32.const 40)))))
            (i32.store (i32.const 24) (i32.const 512))
            (i32.store (i32.const 28) (i32.const 128))
            (call $expect (call $local_v2 (local.get $fd) (i32.const 24) (i32.const 44)) (i32.const 0) (i32.const 11))
            (call $exit (i32.add (i32.const 100) (i32.load16_u (i32.const 512))))"#
        )
    };
    // (family, the engine's answer, WasmEdge's)
    for (family, on_engine, on_wasmedge) in [(1, 101, 101), (0x0201, 5, 101), (9, 5, 5)] {
        let wat = checks_module(ADDRESS_IMPORTS, "", &bind_with_family(family));
        with_wat_module(&wat, |launch| {
            let engine = run_spec(&launch);
            assert_eq!(engine.code, on_engine, "family {family:#x}: {engine}");
            if let Some(wasmedge) = wasmedge::run(&launch) {
                assert_eq!(
                    exit_code(&wasmedge),
                    on_wasmedge,
                    "family {family:#x}: {wasmedge}"
                );
            }
        });
    }
    let storage_to_v1_bind = r#"(call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 0) (i32.const 10))
        (i32.store (i32.const 16) (i32.const 256))
        (i32.store (i32.const 20) (i32.const 128))
        (i32.store16 (i32.const 256) (i32.const 1))
        (i32.store (i32.const 258) (i32.const 0x0100007f))
        (call $expect (call $bind (i32.load (i32.const 0)) (i32.const 16) (i32.const 0)) (i32.const 28) (i32.const 11))
        (call $expect (call $connect (i32.load (i32.const 0)) (i32.const 16) (i32.const 80)) (i32.const 28) (i32.const 12))"#;
    with_wat_module(
        &checks_module(ADDRESS_IMPORTS, "", storage_to_v1_bind),
        |launch| {
            let engine = run_spec(&launch);
            assert_eq!(engine.code, 0, "the exit code names the check; {engine}");
            if let Some(wasmedge) = wasmedge::run(&launch) {
                assert_eq!(exit_code(&wasmedge), 0, "{wasmedge}");
            }
        },
    );
}

/// `SO_TYPE` and `SO_ERROR`, whose values the engine translates to WASI's numbers, into a
/// buffer shorter than an int: the translated value cut to the buffer, as the kernel cuts
/// any int option (so a stream socket's type reads 2, not the host's `SOCK_STREAM`, 1), and
/// nothing written past it. WasmEdge 0.17.1 crashes (SIGSEGV) on both.
#[test]
fn translated_socket_options_fit_a_short_buffer() {
    let imports = r#"
        (import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "sock_getsockopt" (func $getopt (param i32 i32 i32 i32 i32) (result i32)))"#;
    // Option NAME of a TCP socket into SIZE bytes at 300 (0xaa after them): the value
    // VALUE, its size and the bytes after it.
    let option = |name: u32, size: u32, value: u32| {
        format!(
            r#"(call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 0) (i32.const 10))
            (local.set $fd (i32.load (i32.const 0)))
            (i64.store (i32.const 300) (i64.const 0xaaaaaaaaaaaaaaaa))
            (i32.store (i32.const 40) (i32.const {size}))
            (call $expect (call $getopt (local.get $fd) (i32.const 0) (i32.const {name}) (i32.const 300) (i32.const 40)) (i32.const 0) (i32.const 11))
            (call $expect (i32.load (i32.const 40)) (i32.const {size}) (i32.const 12))
            (call $expect (i32.load8_u (i32.const 300)) (i32.const {value}) (i32.const 13))
            (call $expect (i32.load8_u (i32.const {})) (i32.const 0xaa) (i32.const 14))"#,
            300 + size.min(4)
        )
    };
    // (what, option, buffer, value, WasmEdge's end)
    let cases = [
        ("SO_TYPE into 1 byte", 1, 1, 2, Ended::Signal(libc::SIGSEGV)),
        (
            "SO_ERROR into 1 byte",
            2,
            1,
            0,
            Ended::Signal(libc::SIGSEGV),
        ),
        ("SO_TYPE into 4 bytes", 1, 4, 2, Ended::Exited(0)),
    ];
    for (what, name, size, value, on_wasmedge) in cases {
        let wat = checks_module(imports, "", &option(name, size, value));
        with_wat_module(&wat, |launch| {
            let engine = run_spec(&launch);
            assert_eq!(
                engine.code, 0,
                "{what}: the exit code names the check; {engine}"
            );
            if let Some(wasmedge) = wasmedge::run(&launch) {
                assert_eq!(wasmedge.ended, on_wasmedge, "{what}: {wasmedge}");
            }
        });
    }
}

/// `poll_oneoff` with no subscriptions is `INVAL` on the engine, as preview1 answers it.
/// WasmEdge 0.17.1 returns at once with no events and success (its `epoll_wait` for no
/// events fails, and the failure is dropped), which a guest waiting in a loop would spin on.
#[test]
fn poll_without_subscriptions_is_inval() {
    let checks = r#"(i32.store (i32.const 4000) (i32.const 9))
        (local.set $fd (call $poll (i32.const 1024) (i32.const 2048) (i32.const 0) (i32.const 4000)))
        (if (local.get $fd) (then (call $exit (local.get $fd))))
        (call $exit (i32.add (i32.const 100) (i32.load (i32.const 4000))))"#;
    with_wat_module(&checks_module(POLL_IMPORTS, "", checks), |launch| {
        let engine = run_within(&launch, Duration::from_secs(10));
        assert_eq!(engine.code, 28, "{engine}");
        if let Some(wasmedge) = wasmedge::run_with(&launch, briefly()) {
            assert_eq!(wasmedge.ended, Ended::Exited(100), "{wasmedge}");
        }
    });
}

/// A misaligned or out-of-bounds pointer to a preview1 function the engine does not shadow
/// (here `clock_time_get`'s result) traps on the engine, as the WASI spec says and
/// wasmtime-wasi does: exit 134. WasmEdge 0.17.1 answers `ADDRNOTAVAIL` (misaligned) or
/// `FAULT` (outside memory) and the guest goes on; the engine does too for the functions it
/// implements or shadows (`bad_guest_pointers_are_errnos_not_panics`).
#[test]
fn bad_pointers_to_preview1_trap_as_the_wasi_spec_says() {
    let imports = r#"(import "wasi_snapshot_preview1" "clock_time_get" (func $time (param i32 i64 i32) (result i32)))"#;
    // (where the result goes, wasmtime's words, WasmEdge's errno)
    for (pointer, reason, errno) in [
        (1028, "Pointer not aligned to 8", 4),
        (65536, "out of bounds", 21),
    ] {
        let checks =
            format!("(call $exit (call $time (i32.const 1) (i64.const 0) (i32.const {pointer})))");
        with_wat_module(&checks_module(imports, "", &checks), |launch| {
            let engine = run_spec(&launch);
            assert_eq!(engine.code, 134, "{pointer}: {engine}");
            let trap = &engine.trap.as_ref().expect("a trap").detail;
            assert!(
                trap.contains("clock_time_get") && trap.contains(reason),
                "{pointer}: {engine}"
            );
            if let Some(wasmedge) = wasmedge::run(&launch) {
                assert_eq!(
                    wasmedge.ended,
                    Ended::Exited(errno),
                    "{pointer}: {wasmedge}"
                );
            }
        });
    }
}
