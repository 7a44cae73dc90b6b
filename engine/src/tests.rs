//! Engine tests on real guests: the crates in `tests/guests/`, built once per test run
//! with real cargo for wasm32-wasip1, and small WAT modules for what Rust will not emit
//! (bad pointers, missing imports).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::*;

mod hostile;
mod readonly;
mod sandbox;
mod wasmedge;
use wasmedge::{Ended, Limits, Runtime};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("engine/ has a parent")
        .to_path_buf()
}

fn guest_target_dir() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    base.join("engine-guests")
}

/// Build every guest crate once per test run; the paths of their `.wasm` files.
fn guests() -> &'static Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target_dir = guest_target_dir();
        for name in [
            "socket-checks",
            "process-checks",
            "wasock-addrs",
            "wasock-event-order",
            "policy-checks",
        ] {
            let manifest = repo_root()
                .join("tests/guests")
                .join(name)
                .join("Cargo.toml");
            let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args([
                    "build",
                    "--release",
                    "--quiet",
                    "--target",
                    "wasm32-wasip1",
                    "--manifest-path",
                ])
                .arg(&manifest)
                .env("CARGO_TARGET_DIR", &target_dir)
                .output()
                .map_err(|err| format!("could not run cargo: {err}"))?;
            if !output.status.success() {
                return Err(format!(
                    "building {name} failed:\n{}",
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
        }
        Ok(target_dir.join("wasm32-wasip1/release"))
    })
}

fn guest(name: &str) -> PathBuf {
    match guests() {
        Ok(dir) => dir.join(format!("{name}.wasm")),
        Err(why) => panic!("{why}"),
    }
}

fn spec(module: PathBuf, args: &[&str]) -> GuestSpec {
    GuestSpec {
        args: args.iter().map(|a| a.to_string()).collect(),
        ..GuestSpec::new(module)
    }
}

/// A guest's exit code and everything it wrote. The engine runs guests in this process,
/// where inherited output would bypass libtest's capture; capturing it into files keeps
/// a passing run quiet, and `Display` shows it in a failing test's message.
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
    /// The trap, when the guest trapped (`code` is then [`TRAP_EXIT_CODE`], as `run` gives).
    trap: Option<GuestTrap>,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "guest exited with {}\n--- guest stdout ---\n{}--- guest stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )?;
        if let Some(trap) = &self.trap {
            write!(f, "--- trap ---\n{}\n", trap.detail)?;
        }
        Ok(())
    }
}

/// Run `spec` (through `cache` when given) with its stdout and stderr captured, and its
/// trap, if any, kept (where `run` prints it).
fn run_captured(spec: &GuestSpec, cache: Option<&ModuleCache>) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = GuestSpec {
        stdout: GuestOutput::File(dir.path().join("stdout")),
        stderr: GuestOutput::File(dir.path().join("stderr")),
        ..spec.clone()
    };
    let (code, trap) = match prepare(&spec, cache).expect("prepare").run_or_trap() {
        Ok(code) => (code, None),
        Err(trap) => (TRAP_EXIT_CODE, Some(trap)),
    };
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    Outcome {
        code,
        stdout: read("stdout"),
        stderr: read("stderr"),
        trap,
    }
}

fn run_spec(spec: &GuestSpec) -> Outcome {
    run_captured(spec, None)
}

/// `spec` ran and exited with `code`; the guest's output is shown only when it did not.
fn assert_exit(spec: &GuestSpec, code: i32) -> Outcome {
    let outcome = run_spec(spec);
    assert_eq!(outcome.code, code, "{outcome}");
    outcome
}

/// Write `wat` to a temporary file and give `use_it` a launch of it, without arguments,
/// while the file exists.
fn with_wat_module<T>(wat: &str, use_it: impl FnOnce(GuestSpec) -> T) -> T {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("module.wasm");
    let binary = wat::parse_str(wat).unwrap_or_else(|error| panic!("{error}\n{wat}"));
    std::fs::write(&path, binary).expect("write the module");
    use_it(spec(path, &[]))
}

/// The trampolines the engine embeds in binary form are the translation of their text
/// (`engine/src/preview1_trampolines.wat`), so the text is what a reader can trust.
#[test]
fn preview1_trampolines_match_their_text() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let binary = wat::parse_file(dir.join("preview1_trampolines.wat"))
        .expect("the trampolines' text parses");
    let embedded = dir.join("preview1_trampolines.wasm");
    if std::env::var_os("WASOCK_BLESS").is_some() {
        std::fs::write(&embedded, &binary).expect("write the binary trampolines");
        return;
    }
    assert!(
        std::fs::read(&embedded).expect("read the binary trampolines") == binary,
        "{} is not the translation of preview1_trampolines.wat; \
         help: run `WASOCK_BLESS=1 cargo test -p wasock-engine preview1_trampolines` to rewrite it",
        embedded.display()
    );
}

/// `prepare`'s error for a module it must refuse, with its causes.
fn prepare_error(wat: &str) -> String {
    with_wat_module(wat, |launch| match prepare(&launch, None) {
        Ok(_) => panic!("prepare accepted a module it must refuse:\n{wat}"),
        Err(error) => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause:#}"));
                source = cause.source();
            }
            text
        }
    })
}

/// A module whose `_start` makes `checks` and exits 0 when all pass. The module has
/// `imports`, then `proc_exit` as `$exit`, one page of memory, then `data`; `checks` may use
/// a local `$fd` and `(call $expect GOT WANT CODE)`, which exits with CODE on a wrong answer.
fn checks_module(imports: &str, data: &str, checks: &str) -> String {
    format!(
        r#"(module
          {imports}
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          {data}
          (func $expect (param $got i32) (param $want i32) (param $code i32)
            (if (i32.ne (local.get $got) (local.get $want)) (then (call $exit (local.get $code)))))
          (func (export "_start") (local $fd i32)
            {checks}
            (call $exit (i32.const 0))))"#
    )
}

/// Run [`checks_module`] on the engine only: for the deliberate differences from WasmEdge,
/// whose other side a test pins beside it.
fn assert_engine_checks_pass(imports: &str, data: &str, checks: &str) {
    let wat = checks_module(imports, data, checks);
    let outcome = with_wat_module(&wat, |launch| run_spec(&launch));
    assert_eq!(
        outcome.code, 0,
        "exit code names the first check that went wrong; {outcome}"
    );
}

/// Run [`checks_module`] on the engine and, where this machine has it, on WasmEdge: every
/// check must pass on both.
fn assert_checks_pass(imports: &str, data: &str, checks: &str) {
    let wat = checks_module(imports, data, checks);
    with_wat_module(&wat, |launch| {
        let outcome = run_spec(&launch);
        assert_eq!(
            outcome.code, 0,
            "exit code names the first check that went wrong; {outcome}"
        );
        if let Some(wasmedge) = wasmedge::run(&launch) {
            assert_eq!(
                wasmedge.ended,
                Ended::Exited(0),
                "exit code names the first check that went wrong on WasmEdge; {wasmedge}"
            );
        }
    });
}

/// The `ok - …` and `not ok - …` lines a self-checking guest printed.
fn check_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|line| line.starts_with("ok - ") || line.starts_with("not ok - "))
        .map(str::to_owned)
        .collect()
}

/// Issue 19: a self-checking guest on both runtimes, the same built module, each told
/// which it runs on ([`wasmedge::told`]): both exit with `code` and print the same check
/// lines (all `ok`, when `code` is 0). The engine's outcome and WasmEdge's, `None` where
/// this machine has no WasmEdge.
fn assert_same_on_both_runtimes(
    launch: &GuestSpec,
    code: i32,
) -> (Outcome, Option<wasmedge::Outcome>) {
    let engine = run_spec(&wasmedge::told(launch, Runtime::Engine));
    assert_eq!(engine.code, code, "on the engine: {engine}");
    let lines = check_lines(&engine.stdout);
    assert!(!lines.is_empty(), "no check lines on the engine: {engine}");
    if code == 0 {
        assert!(
            lines.iter().all(|line| line.starts_with("ok - ")),
            "on the engine: {engine}"
        );
    }
    let wasmedge = wasmedge::run(&wasmedge::told(launch, Runtime::WasmEdge));
    if let Some(wasmedge) = &wasmedge {
        assert_eq!(
            wasmedge.ended,
            Ended::Exited(code),
            "on WasmEdge: {wasmedge}"
        );
        assert_eq!(
            check_lines(&wasmedge.guest_stdout()),
            lines,
            "the check lines differ between the engine and WasmEdge: {wasmedge}"
        );
    }
    (engine, wasmedge)
}

/// Every socket import through `wasmedge_wasi_socket`, on both runtimes (issue 19): the
/// checks where WasmEdge 0.17.1 is known to differ accept its answer explicitly (see the
/// guest, and ARCHITECTURE.md's deliberate differences).
#[test]
fn socket_guest_passes_every_check() {
    assert_same_on_both_runtimes(&spec(guest("socket-checks"), &[]), 0);
}

/// Issue 7 §3: `wasock` built in release reads addresses back right (`local_addr`,
/// `peer_addr`, `accept`, `recv_from`), with clients on 127.0.0.2 and servers on 127.0.0.3,
/// and a UDP echo reaches its sender. `wasmedge_wasi_socket` alone gives `0.0.0.0` here.
/// On both runtimes; on WasmEdge the peer port of `recv_from` reads byte-swapped.
#[test]
fn wasock_reads_socket_addresses_back_in_release_builds() {
    assert_same_on_both_runtimes(&spec(guest("wasock-addrs"), &[]), 0);
}

/// `wasock`'s event loop on wasm subscribes least recently ready first, so the sockets a
/// server answered last turn do not come first again (a fixed order made the same
/// connections wait two turns, and the tail latency at 10,000 connections twice native's).
/// On both runtimes.
#[test]
fn wasock_serves_the_least_recently_ready_socket_first() {
    let (engine, _) = assert_same_on_both_runtimes(&spec(guest("wasock-event-order"), &[]), 0);
    assert!(
        engine.stdout.contains("ok - least recently ready first"),
        "{engine}"
    );
}

/// A message without std's ` (os error N)` suffix: the numbers differ between WASI and
/// the host by design, the words and the kind must not.
fn without_os_code(message: &str) -> &str {
    match message.rfind(" (os error ") {
        Some(at) if message.ends_with(')') => &message[..at],
        _ => message,
    }
}

/// An app on `wasock` sees a failed lookup and a refused connection as a native build
/// of it does: the same words and the same `io::ErrorKind`, on both runtimes.
#[test]
fn socket_errors_read_as_in_a_native_build() {
    use std::net::ToSocketAddrs as _;
    // RFC 6761: `.invalid` never resolves, so every resolver fails the lookup.
    let host = "example.invalid";
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("an ephemeral port")
        .port();
    let launch = spec(
        guest("wasock-addrs"),
        &["errors", host, &closed_port.to_string()],
    );
    let native_lookup = (host, 80)
        .to_socket_addrs()
        .expect_err("`.invalid` resolved");
    let native_connect = std::net::TcpStream::connect(("127.0.0.1", closed_port))
        .expect_err("a closed port accepted");
    let expected: Vec<String> = [("lookup", native_lookup), ("connect", native_connect)]
        .iter()
        .map(|(what, native)| {
            format!(
                "{what}\t{}\t{:?}",
                without_os_code(&native.to_string()),
                native.kind()
            )
        })
        .collect();
    // The guest's lines, each without its OS error number.
    let reported = |stdout: &str| -> Vec<String> {
        stdout
            .lines()
            .filter_map(|line| {
                let (label, rest) = line.split_once('\t')?;
                let (message, kind) = rest.rsplit_once('\t')?;
                Some(format!("{label}\t{}\t{kind}", without_os_code(message)))
            })
            .collect()
    };
    let engine = assert_exit(&launch, 0);
    assert_eq!(reported(&engine.stdout), expected, "{engine}");
    if let Some(wasmedge) = wasmedge::run(&launch) {
        assert_eq!(wasmedge.ended, Ended::Exited(0), "{wasmedge}");
        assert_eq!(reported(&wasmedge.guest_stdout()), expected, "{wasmedge}");
    }
}

/// Every exit code, 0 to 255, as WasmEdge 0.17.1 exits with it, 126 and above included
/// (where wasmtime-wasi's own `proc_exit` traps); on both runtimes. A code beyond 255 is
/// the engine's `run` value as given, which a process exits with as its low 8 bits, as
/// WasmEdge's does.
#[test]
fn proc_exit_code_passes_through() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One compile for the 258 runs.
    let cache = ModuleCache::new(dir.path());
    for code in (0..=255).chain([256, -1]) {
        let launch = spec(guest("process-checks"), &["exit", &code.to_string()]);
        let engine = run_captured(&launch, Some(&cache));
        assert_eq!(engine.code, code, "{engine}");
        if let Some(wasmedge) = wasmedge::run(&launch) {
            assert_eq!(
                wasmedge.ended,
                Ended::Exited(code & 0xff),
                "{code}: {wasmedge}"
            );
        }
    }
}

/// Readiness without connecting: a successful `sock_listen` reports the address the OS
/// bound. The guest binds TCP to 127.0.0.2 port 0, listens, and exits with the port
/// `sock_getlocaladdr` gives it; a socket that is only bound, and a UDP socket whose
/// `sock_listen` fails, are not reported.
#[test]
fn each_listening_socket_is_observed_with_its_bound_address() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "sock_bind" (func $bind (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "sock_listen" (func $listen (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "sock_getlocaladdr" (func $local (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func $check (param $errno i32) (param $code i32)
        (if (local.get $errno) (then (call $exit (local.get $code)))))
      (func (export "_start") (local $fd i32)
        ;; address struct at 16 -> 4-byte IP at 32: 127.0.0.2
        (i32.store (i32.const 16) (i32.const 32))
        (i32.store (i32.const 20) (i32.const 4))
        (i32.store (i32.const 32) (i32.const 0x0200007f))
        ;; a TCP socket bound but never listening
        (call $check (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 1))
        (call $check (call $bind (i32.load (i32.const 0)) (i32.const 16) (i32.const 0)) (i32.const 2))
        ;; a UDP socket: listen fails
        (call $check (call $open (i32.const 1) (i32.const 1) (i32.const 0)) (i32.const 3))
        (call $check (call $bind (i32.load (i32.const 0)) (i32.const 16) (i32.const 0)) (i32.const 4))
        (if (i32.eqz (call $listen (i32.load (i32.const 0)) (i32.const 4))) (then (call $exit (i32.const 5))))
        ;; the listener
        (call $check (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 6))
        (local.set $fd (i32.load (i32.const 0)))
        (call $check (call $bind (local.get $fd) (i32.const 16) (i32.const 0)) (i32.const 7))
        (call $check (call $listen (local.get $fd) (i32.const 4)) (i32.const 8))
        ;; its port: struct at 48 -> buffer at 64; type at 72, port at 76
        (i32.store (i32.const 48) (i32.const 64))
        (i32.store (i32.const 52) (i32.const 4))
        (call $check (call $local (local.get $fd) (i32.const 48) (i32.const 72) (i32.const 76)) (i32.const 9))
        (call $exit (i32.load (i32.const 76)))))"#;
    let (sender, observed) = std::sync::mpsc::channel();
    let port = with_wat_module(wat, |launch| {
        let mut app = prepare(&launch, None).expect("prepare");
        app.on_listen(move |address| {
            let _ = sender.send(address);
        });
        app.run()
    });
    assert!(port > 9, "the guest's check {port} failed");
    let observed: Vec<std::net::SocketAddr> = observed.try_iter().collect();
    assert_eq!(
        observed,
        vec![std::net::SocketAddr::from(([127, 0, 0, 2], port as u16))]
    );
}

/// Issue 19: a trap ends the guest with WasmEdge 0.17.1's exit code, 134 (`128 + SIGABRT`,
/// which its CLI returns after any trap), whichever way a Rust guest traps. The engine
/// says why on stderr with the wasm backtrace; WasmEdge says `execution failed: REASON`
/// in its log, on stdout. A panic's message is the guest's own, on its stderr, on both.
#[test]
fn every_way_a_rust_guest_traps_exits_134_as_on_wasmedge() {
    // mode of process-checks, WasmEdge's reason, wasmtime's, the panic message
    let kinds = [
        (
            "trap",
            "unreachable",
            "wasm `unreachable` instruction executed",
            None,
        ),
        (
            "panic",
            "unreachable",
            "wasm `unreachable` instruction executed",
            Some("deliberate panic from the guest"),
        ),
        (
            "index",
            "unreachable",
            "wasm `unreachable` instruction executed",
            Some("index out of bounds: the len is 3 but the index is 7"),
        ),
        (
            "divide-by-zero",
            "unreachable",
            "wasm `unreachable` instruction executed",
            Some("attempt to divide by zero"),
        ),
        (
            "out-of-bounds",
            "out of bounds memory access",
            "out of bounds memory access",
            None,
        ),
        (
            "stack-overflow",
            "out of bounds memory access",
            "out of bounds memory access",
            None,
        ),
        (
            "indirect-call",
            "indirect call type mismatch",
            "indirect call type mismatch",
            None,
        ),
    ];
    for (mode, wasmedge_reason, engine_reason, panic_message) in kinds {
        let launch = spec(guest("process-checks"), &[mode]);
        let engine = run_spec(&launch);
        assert_eq!(engine.code, 134, "{mode} on the engine: {engine}");
        let trap = engine.trap.as_ref().expect("a trap");
        assert_eq!(
            trap.reason,
            format!("wasm trap: {engine_reason}"),
            "{mode}: {engine}"
        );
        assert!(trap.detail.contains("wasm backtrace"), "{mode}: {engine}");
        if let Some(message) = panic_message {
            assert!(
                engine.stderr.contains(message),
                "{mode} on the engine: {engine}"
            );
        }
        let Some(wasmedge) = wasmedge::run(&launch) else {
            continue;
        };
        assert_eq!(wasmedge.ended, Ended::Exited(134), "{mode}: {wasmedge}");
        assert!(
            wasmedge
                .stdout
                .contains(&format!("execution failed: {wasmedge_reason}, Code: ")),
            "{mode}: {wasmedge}"
        );
        if let Some(message) = panic_message {
            assert!(wasmedge.stderr.contains(message), "{mode}: {wasmedge}");
        }
    }
    // The engine's report names the function that trapped.
    let trapped = run_spec(&spec(guest("process-checks"), &["trap"]));
    let detail = &trapped.trap.as_ref().expect("a trap").detail;
    assert!(detail.contains("guest_function_that_traps"), "{trapped}");
}

/// Issue 19: each trap wasm has (beyond what Rust emits) exits 134 on both runtimes, the
/// two naming it alike.
#[test]
fn every_wasm_trap_exits_134_as_on_wasmedge() {
    // the body of `_start` (with a table of 2 holding $f0, type (func), at 0), WasmEdge's
    // reason, wasmtime's
    let kinds = [
        (
            "unreachable",
            "unreachable",
            "wasm `unreachable` instruction executed",
        ),
        (
            "(drop (i32.load (i32.const 70000)))",
            "out of bounds memory access",
            "out of bounds memory access",
        ),
        (
            "(drop (i32.div_s (i32.const 1) (i32.const 0)))",
            "integer divide by zero",
            "integer divide by zero",
        ),
        (
            "(drop (i32.div_s (i32.const 0x80000000) (i32.const -1)))",
            "integer overflow",
            "integer overflow",
        ),
        (
            "(drop (i32.trunc_f32_s (f32.const nan)))",
            "invalid conversion to integer",
            "invalid conversion to integer",
        ),
        (
            "(call_indirect (type $takes_i32) (i32.const 7) (i32.const 0))",
            "indirect call type mismatch",
            "indirect call type mismatch",
        ),
        (
            "(call_indirect (type $none) (i32.const 1))",
            "uninitialized element",
            "uninitialized element",
        ),
        (
            "(call_indirect (type $none) (i32.const 5))",
            "undefined element",
            "undefined element",
        ),
    ];
    for (body, wasmedge_reason, engine_reason) in kinds {
        let wat = format!(
            r#"(module
              (type $none (func))
              (type $takes_i32 (func (param i32)))
              (memory (export "memory") 1)
              (table 2 funcref)
              (elem (i32.const 0) $f0)
              (func $f0)
              (func (export "_start") {body}))"#
        );
        with_wat_module(&wat, |launch| {
            let engine = run_spec(&launch);
            assert_eq!(engine.code, 134, "{body}: {engine}");
            let reason = &engine.trap.as_ref().expect("a trap").reason;
            assert!(
                reason.starts_with(&format!("wasm trap: {engine_reason}")),
                "{body}: {engine}"
            );
            if let Some(wasmedge) = wasmedge::run(&launch) {
                assert_eq!(wasmedge.ended, Ended::Exited(134), "{body}: {wasmedge}");
                assert!(
                    wasmedge
                        .stdout
                        .contains(&format!("execution failed: {wasmedge_reason}, Code: ")),
                    "{body}: {wasmedge}"
                );
            }
        });
    }
}

/// Issue 19: a guest that recurses without end in wasm's own call stack (no frames in
/// linear memory) traps on the engine with `call stack exhausted` and exits 134. WasmEdge
/// 0.17.1's interpreter grows its stack on the heap without a bound: it takes memory until
/// an allocation fails (`std::bad_alloc`, then SIGABRT) or the machine's memory runs out.
/// Pinned under a 512 MiB data limit, which WasmEdge reaches in about a second.
#[test]
fn call_stack_exhaustion_traps_where_wasmedge_exhausts_memory() {
    let wat = r#"(module
      (memory (export "memory") 1)
      (func $deeper (param i32) (result i32)
        (i32.add (call $deeper (local.get 0)) (i32.const 1)))
      (func (export "_start") (drop (call $deeper (i32.const 0)))))"#;
    with_wat_module(wat, |launch| {
        let engine = run_spec(&launch);
        assert_eq!(engine.code, 134, "{engine}");
        let reason = &engine.trap.as_ref().expect("a trap").reason;
        assert_eq!(reason, "wasm trap: call stack exhausted", "{engine}");
        let limits = Limits {
            data_bytes: Some(512 << 20),
            ..Limits::default()
        };
        if let Some(wasmedge) = wasmedge::run_with(&launch, limits) {
            assert_eq!(wasmedge.ended, Ended::Signal(libc::SIGABRT), "{wasmedge}");
            assert!(wasmedge.stderr.contains("std::bad_alloc"), "{wasmedge}");
        }
    });
}

/// The guest's output goes where the spec says; on WasmEdge too (to its stdout), the
/// same words, nothing on stderr.
#[test]
fn guest_output_goes_where_the_spec_says() {
    let launch = spec(guest("process-checks"), &["env", "MISSING=1"]);
    let outcome = assert_exit(&launch, 3);
    assert!(
        outcome.stdout.contains("check failed: "),
        "the guest's stdout is captured into its file; {outcome}"
    );
    assert!(outcome.stderr.is_empty(), "{outcome}");
    if let Some(wasmedge) = wasmedge::run(&launch) {
        assert_eq!(wasmedge.ended, Ended::Exited(3), "{wasmedge}");
        assert_eq!(wasmedge.stdout, outcome.stdout, "{wasmedge}");
        assert!(wasmedge.stderr.is_empty(), "{wasmedge}");
    }
}

/// Arguments (after `argv[0]`, the module's file name) and exactly the given environment
/// reach the guest, the same on both runtimes: the guest prints them all.
#[test]
fn args_and_env_reach_the_guest() {
    let mut launch = spec(
        guest("process-checks"),
        &["env", "GREETING=hello world", "PORT=8080"],
    );
    launch.env = vec![
        ("GREETING".into(), "hello world".into()),
        ("PORT".into(), "8080".into()),
    ];
    let engine = assert_exit(&launch, 0);
    assert!(
        engine.stdout.starts_with("arg 0=process-checks.wasm\n"),
        "{engine}"
    );
    if let Some(wasmedge) = wasmedge::run(&launch) {
        assert_eq!(wasmedge.ended, Ended::Exited(0), "{wasmedge}");
        assert_eq!(wasmedge.stdout, engine.stdout, "{wasmedge}");
    }
    launch.env.pop();
    let missing = run_spec(&launch);
    assert_eq!(
        missing.code, 3,
        "a missing variable must fail the guest's check; {missing}"
    );
    if let Some(wasmedge) = wasmedge::run(&launch) {
        assert_eq!(wasmedge.ended, Ended::Exited(3), "{wasmedge}");
        assert_eq!(wasmedge.stdout, missing.stdout, "{wasmedge}");
    }
}

/// A preopened directory honours its mode on both runtimes: read-only refuses the write,
/// read-write writes. The refusal is `NOTCAPABLE` (76) on both, WasmEdge 0.17.1's answer from
/// preview1's rights (each call's answer: `tests/readonly.rs`).
#[test]
fn preopened_dirs_honour_readonly() {
    let host = tempfile::tempdir().expect("tempdir");
    std::fs::write(host.path().join("input.txt"), "hello\n").expect("write input");
    // The guest checks `/data` behaves as its mode says; the mapping is made the same way.
    let launch = |mode: &str| {
        let mut launch = spec(guest("process-checks"), &["dirs", "/data", mode]);
        launch.preopens = vec![Preopen {
            guest: "/data".into(),
            host: host.path().to_path_buf(),
            readonly: mode == "readonly",
        }];
        launch
    };
    // The guest checks the refusal is NOTCAPABLE (76) itself, too.
    let refused = "read hello\nwrite denied: Capabilities insufficient (os error 76)\n";
    let readonly = run_spec(&launch("readonly"));
    assert_eq!(readonly.code, 0, "{readonly}");
    assert_eq!(readonly.stdout, refused, "{readonly}");
    assert!(
        !host.path().join("output.txt").exists(),
        "read-only mapping was written to"
    );
    if let Some(wasmedge) = wasmedge::run(&launch("readonly")) {
        assert_eq!(wasmedge.ended, Ended::Exited(0), "{wasmedge}");
        assert_eq!(wasmedge.stdout, refused, "{wasmedge}");
        assert!(!host.path().join("output.txt").exists());
    }

    for runtime in ["engine", "WasmEdge"] {
        let _ = std::fs::remove_file(host.path().join("output.txt"));
        if runtime == "engine" {
            let readwrite = run_spec(&launch("readwrite"));
            assert_eq!(readwrite.code, 0, "{readwrite}");
        } else if let Some(wasmedge) = wasmedge::run(&launch("readwrite")) {
            assert_eq!(wasmedge.ended, Ended::Exited(0), "{wasmedge}");
        } else {
            continue;
        }
        let written = std::fs::read_to_string(host.path().join("output.txt"))
            .unwrap_or_else(|_| panic!("the guest on the {runtime} wrote no output.txt"));
        assert_eq!(written, "written by the guest", "on the {runtime}");
    }
}

#[test]
fn missing_imports_fail_prepare_with_their_names() {
    let error = prepare_error(
        r#"(module
             (import "env" "not_provided" (func (param i32)))
             (import "wasi_snapshot_preview1" "sock_frobnicate" (func (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")))"#,
    );
    assert!(error.contains("env::not_provided"), "{error}");
    assert!(
        error.contains("wasi_snapshot_preview1::sock_frobnicate"),
        "{error}"
    );
}

#[test]
fn wrongly_typed_socket_import_is_named() {
    let error = prepare_error(
        r#"(module
             (import "wasi_snapshot_preview1" "sock_listen" (func (param i64) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")))"#,
    );
    assert!(error.contains("sock_listen"), "{error}");
}

/// Every call below hands the host a pointer outside memory, a misaligned one or a bad
/// value; each must come back as an errno (exit code = index of the first wrong answer),
/// never a panic, and the same errno as on WasmEdge 0.17.1.
#[test]
fn bad_guest_pointers_are_errnos_not_panics() {
    assert_checks_pass(
        r#"(import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_bind" (func $bind (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_send" (func $send (param i32 i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_recv_from" (func $recv_from (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_getlocaladdr" (func $local (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_getsockopt" (func $getopt (param i32 i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_setsockopt" (func $setopt (param i32 i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_getaddrinfo" (func $gai (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))"#,
        "",
        r#";; FAULT = 21, INVAL = 28, BADF = 8
            (call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 65536)) (i32.const 21) (i32.const 10))
            (call $expect (call $open (i32.const 9) (i32.const 2) (i32.const 0)) (i32.const 28) (i32.const 11))
            (call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 0) (i32.const 12))
            (local.set $fd (i32.load (i32.const 0)))
            (call $expect (call $bind (local.get $fd) (i32.const -16) (i32.const 80)) (i32.const 21) (i32.const 13))
            (i32.store (i32.const 16) (i32.const -65536))
            (i32.store (i32.const 20) (i32.const 4))
            (call $expect (call $bind (local.get $fd) (i32.const 16) (i32.const 80)) (i32.const 21) (i32.const 14))
            (i32.store (i32.const 16) (i32.const 64))
            (i32.store (i32.const 20) (i32.const 7))
            (call $expect (call $bind (local.get $fd) (i32.const 16) (i32.const 80)) (i32.const 28) (i32.const 15))
            (call $expect (call $accept (local.get $fd) (i32.const 65536)) (i32.const 21) (i32.const 16))
            (call $expect (call $recv (local.get $fd) (i32.const 65532) (i32.const 4) (i32.const 0) (i32.const 100) (i32.const 104)) (i32.const 21) (i32.const 17))
            (call $expect (call $recv (local.get $fd) (i32.const 0) (i32.const 100000) (i32.const 0) (i32.const 100) (i32.const 104)) (i32.const 28) (i32.const 18))
            (i32.store (i32.const 32) (i32.const 65000))
            (i32.store (i32.const 36) (i32.const 4096))
            (call $expect (call $send (local.get $fd) (i32.const 32) (i32.const 1) (i32.const 0) (i32.const 100)) (i32.const 21) (i32.const 19))
            (call $expect (call $send (i32.const 1073741823) (i32.const 32) (i32.const 0) (i32.const 0) (i32.const 100)) (i32.const 8) (i32.const 20))
            (call $expect (call $recv_from (local.get $fd) (i32.const 0) (i32.const 0) (i32.const -8) (i32.const 0) (i32.const 100) (i32.const 104) (i32.const 108)) (i32.const 21) (i32.const 21))
            (call $expect (call $local (local.get $fd) (i32.const 65536) (i32.const 100) (i32.const 104)) (i32.const 21) (i32.const 22))
            (i32.store (i32.const 40) (i32.const 100000))
            (call $expect (call $getopt (local.get $fd) (i32.const 0) (i32.const 0) (i32.const 64) (i32.const 40)) (i32.const 21) (i32.const 23))
            (call $expect (call $getopt (local.get $fd) (i32.const 1) (i32.const 0) (i32.const 64) (i32.const 40)) (i32.const 28) (i32.const 24))
            (call $expect (call $setopt (local.get $fd) (i32.const 0) (i32.const 99) (i32.const 64) (i32.const 4)) (i32.const 28) (i32.const 25))
            (call $expect (call $setopt (local.get $fd) (i32.const 0) (i32.const 0) (i32.const 65534) (i32.const 4)) (i32.const 21) (i32.const 26))
            (call $expect (call $gai (i32.const 65530) (i32.const 100) (i32.const 0) (i32.const 0) (i32.const 200) (i32.const 300) (i32.const 1) (i32.const 304)) (i32.const 21) (i32.const 27))
            (call $expect (call $poll (i32.const 0) (i32.const 0) (i32.const 100000) (i32.const 100)) (i32.const 21) (i32.const 28))
            (call $expect (call $fd_write (local.get $fd) (i32.const 65528) (i32.const 2) (i32.const 100)) (i32.const 21) (i32.const 29))
            (call $expect (call $fdstat (local.get $fd) (i32.const 65528)) (i32.const 21) (i32.const 30))
            (call $expect (call $fdstat (local.get $fd) (i32.const 200)) (i32.const 0) (i32.const 31))
            ;; a socket's fdstat says SOCKET_STREAM (6)
            (call $expect (i32.load8_u (i32.const 200)) (i32.const 6) (i32.const 32))
            ;; a pointer not aligned for what it points to is ADDRNOTAVAIL (4), before
            ;; anything else is looked at, as on WasmEdge; for stdout (fd 1) too
            (call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 2)) (i32.const 4) (i32.const 33))
            (call $expect (call $accept (local.get $fd) (i32.const 2)) (i32.const 4) (i32.const 34))
            (call $expect (call $local (local.get $fd) (i32.const 2) (i32.const 100) (i32.const 104)) (i32.const 4) (i32.const 35))
            (call $expect (call $local (local.get $fd) (i32.const 16) (i32.const 102) (i32.const 104)) (i32.const 4) (i32.const 36))
            (call $expect (call $recv (local.get $fd) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 100) (i32.const 105)) (i32.const 4) (i32.const 37))
            (call $expect (call $recv_from (local.get $fd) (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 0) (i32.const 101) (i32.const 104) (i32.const 108)) (i32.const 4) (i32.const 38))
            (call $expect (call $send (local.get $fd) (i32.const 34) (i32.const 1) (i32.const 0) (i32.const 100)) (i32.const 4) (i32.const 39))
            (call $expect (call $getopt (local.get $fd) (i32.const 0) (i32.const 0) (i32.const 64) (i32.const 42)) (i32.const 4) (i32.const 40))
            (call $expect (call $gai (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 202) (i32.const 300) (i32.const 1) (i32.const 304)) (i32.const 4) (i32.const 41))
            (call $expect (call $poll (i32.const 4) (i32.const 0) (i32.const 1) (i32.const 100)) (i32.const 4) (i32.const 42))
            (call $expect (call $fd_write (local.get $fd) (i32.const 2) (i32.const 0) (i32.const 100)) (i32.const 4) (i32.const 43))
            (call $expect (call $fd_write (i32.const 1) (i32.const 2) (i32.const 0) (i32.const 100)) (i32.const 4) (i32.const 44))
            (call $expect (call $fdstat (local.get $fd) (i32.const 4)) (i32.const 4) (i32.const 45))
            (call $expect (call $fdstat (i32.const 1) (i32.const 4)) (i32.const 4) (i32.const 46))
            ;; outside memory for stdout too: FAULT, where preview1 itself would trap
            (call $expect (call $fd_write (i32.const 1) (i32.const 65528) (i32.const 2) (i32.const 100)) (i32.const 21) (i32.const 47))
            (call $expect (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 65536)) (i32.const 21) (i32.const 48))
            (call $expect (call $fdstat (i32.const 1) (i32.const 65528)) (i32.const 21) (i32.const 49))"#,
    );
}

/// WasmEdge's `_v2` forms: a 128-byte address storage (u16 family, then the IP) for
/// bind and getlocaladdr, and the 3-parameter accept.
#[test]
fn v2_address_storage_round_trips() {
    assert_checks_pass(
        r#"(import "wasi_snapshot_preview1" "sock_open_v2" (func $open (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_bind_v2" (func $bind (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_listen_v2" (func $listen (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_accept_v2" (func $accept (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_getlocaladdr_v2" (func $local (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func $setflags (param i32 i32) (result i32)))"#,
        "",
        r#"(call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 0) (i32.const 10))
            (local.set $fd (i32.load (i32.const 0)))
            ;; address struct at 16 -> storage at 256 (128 bytes): family 1, 127.0.0.1
            (i32.store (i32.const 16) (i32.const 256))
            (i32.store (i32.const 20) (i32.const 128))
            (i32.store16 (i32.const 256) (i32.const 1))
            (i32.store (i32.const 258) (i32.const 0x0100007f))
            (call $expect (call $bind (local.get $fd) (i32.const 16) (i32.const 0)) (i32.const 0) (i32.const 11))
            (call $expect (call $listen (local.get $fd) (i32.const 4)) (i32.const 0) (i32.const 12))
            ;; read it back into a zeroed storage at 512
            (i32.store (i32.const 24) (i32.const 512))
            (i32.store (i32.const 28) (i32.const 128))
            (call $expect (call $local (local.get $fd) (i32.const 24) (i32.const 32)) (i32.const 0) (i32.const 13))
            (call $expect (i32.load16_u (i32.const 512)) (i32.const 1) (i32.const 14))
            (call $expect (i32.load (i32.const 514)) (i32.const 0x0100007f) (i32.const 15))
            (call $expect (i32.eqz (i32.load (i32.const 32))) (i32.const 0) (i32.const 16))
            ;; a 16-byte buffer is not a storage: INVAL (28)
            (i32.store (i32.const 28) (i32.const 16))
            (call $expect (call $local (local.get $fd) (i32.const 24) (i32.const 32)) (i32.const 28) (i32.const 17))
            ;; non-blocking listener with nobody connecting: AGAIN (6) at once
            (call $expect (call $setflags (local.get $fd) (i32.const 4)) (i32.const 0) (i32.const 18))
            (call $expect (call $accept (local.get $fd) (i32.const 4) (i32.const 40)) (i32.const 6) (i32.const 19))"#,
    );
}

/// `epoll_oneoff` (WasmEdge's edge-triggered name) answers like `poll_oneoff`: an idle
/// listener next to a 10 ms relative monotonic clock yields just the clock event.
#[test]
fn epoll_oneoff_reports_the_clock_next_to_an_idle_socket() {
    assert_checks_pass(
        r#"(import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_bind" (func $bind (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_listen" (func $listen (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "epoll_oneoff" (func $epoll (param i32 i32 i32 i32) (result i32)))"#,
        "",
        r#"(call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 0) (i32.const 10))
            (local.set $fd (i32.load (i32.const 0)))
            (i32.store (i32.const 16) (i32.const 32))
            (i32.store (i32.const 20) (i32.const 4))
            (i32.store (i32.const 32) (i32.const 0x0100007f))
            (call $expect (call $bind (local.get $fd) (i32.const 16) (i32.const 0)) (i32.const 0) (i32.const 11))
            (call $expect (call $listen (local.get $fd) (i32.const 4)) (i32.const 0) (i32.const 12))
            ;; subscription 0 at 1024: clock, userdata 7, monotonic, 10 ms relative
            (i64.store (i32.const 1024) (i64.const 7))
            (i32.store8 (i32.const 1032) (i32.const 0))
            (i32.store (i32.const 1040) (i32.const 1))
            (i64.store (i32.const 1048) (i64.const 10000000))
            ;; subscription 1 at 1072: fd_read on the listener, userdata 8
            (i64.store (i32.const 1072) (i64.const 8))
            (i32.store8 (i32.const 1080) (i32.const 1))
            (i32.store (i32.const 1088) (local.get $fd))
            (call $expect (call $epoll (i32.const 1024) (i32.const 2048) (i32.const 2) (i32.const 4000)) (i32.const 0) (i32.const 13))
            (call $expect (i32.load (i32.const 4000)) (i32.const 1) (i32.const 14))
            (call $expect (i32.wrap_i64 (i64.load (i32.const 2048))) (i32.const 7) (i32.const 15))
            (call $expect (i32.load8_u (i32.const 2058)) (i32.const 0) (i32.const 16))"#,
    );
}

/// A read event's `nbytes` is WasmEdge 0.17.1's, not the byte count: its poller
/// (lib/host/wasi/inode-linux.cpp, `Poller::wait`) reports 1 when `FIONREAD` succeeds and
/// leaves 0 when it fails, as it does on a listener (EINVAL). Guests written against
/// WasmEdge see these values, so the engine must give the same.
#[test]
fn poll_read_nbytes_are_wasmedges() {
    assert_checks_pass(
        r#"(import "wasi_snapshot_preview1" "sock_open_v2" (func $open (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_bind_v2" (func $bind (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_listen_v2" (func $listen (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_accept_v2" (func $accept (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_connect_v2" (func $connect (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_send" (func $send (param i32 i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_getlocaladdr_v2" (func $local (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_shutdown" (func $shutdown (param i32 i32) (result i32)))"#,
        r#"(data (i32.const 600) "hello")"#,
        r#"(local $listener i32) (local $client i32) (local $conn i32) (local $tries i32)
            (call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 0) (i32.const 10))
            (local.set $listener (i32.load (i32.const 0)))
            ;; address struct at 16 -> storage at 256: family 1, 127.0.0.1, port 0
            (i32.store (i32.const 16) (i32.const 256))
            (i32.store (i32.const 20) (i32.const 128))
            (i32.store16 (i32.const 256) (i32.const 1))
            (i32.store (i32.const 258) (i32.const 0x0100007f))
            (call $expect (call $bind (local.get $listener) (i32.const 16) (i32.const 0)) (i32.const 0) (i32.const 11))
            (call $expect (call $listen (local.get $listener) (i32.const 4)) (i32.const 0) (i32.const 12))
            (i32.store (i32.const 24) (i32.const 512))
            (i32.store (i32.const 28) (i32.const 128))
            (call $expect (call $local (local.get $listener) (i32.const 24) (i32.const 32)) (i32.const 0) (i32.const 13))
            ;; two clients: one is accepted and sends 5 bytes, one stays in the listen queue
            (call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 4)) (i32.const 0) (i32.const 14))
            (local.set $client (i32.load (i32.const 4)))
            (call $expect (call $connect (local.get $client) (i32.const 16) (i32.load (i32.const 32))) (i32.const 0) (i32.const 15))
            (call $expect (call $accept (local.get $listener) (i32.const 0) (i32.const 8)) (i32.const 0) (i32.const 16))
            (local.set $conn (i32.load (i32.const 8)))
            (call $expect (call $open (i32.const 1) (i32.const 2) (i32.const 4)) (i32.const 0) (i32.const 17))
            (call $expect (call $connect (i32.load (i32.const 4)) (i32.const 16) (i32.load (i32.const 32))) (i32.const 0) (i32.const 18))
            (i32.store (i32.const 40) (i32.const 600))
            (i32.store (i32.const 44) (i32.const 5))
            (call $expect (call $send (local.get $client) (i32.const 40) (i32.const 1) (i32.const 0) (i32.const 48)) (i32.const 0) (i32.const 19))
            ;; subscriptions at 1024 (48 bytes each): read the listener (userdata 1), read
            ;; the accepted connection (userdata 2)
            (i64.store (i32.const 1024) (i64.const 1))
            (i32.store8 (i32.const 1032) (i32.const 1))
            (i32.store (i32.const 1040) (local.get $listener))
            (i64.store (i32.const 1072) (i64.const 2))
            (i32.store8 (i32.const 1080) (i32.const 1))
            (i32.store (i32.const 1088) (local.get $conn))
            ;; loopback delivers at once, but wait (up to 1,000 polls) until both are ready
            (loop $again
              (call $expect (call $poll (i32.const 1024) (i32.const 2048) (i32.const 2) (i32.const 4000)) (i32.const 0) (i32.const 20))
              (local.set $tries (i32.add (local.get $tries) (i32.const 1)))
              (br_if $again (i32.and (i32.lt_u (i32.load (i32.const 4000)) (i32.const 2))
                                     (i32.lt_u (local.get $tries) (i32.const 1000)))))
            (call $expect (i32.load (i32.const 4000)) (i32.const 2) (i32.const 21))
            ;; events (32 bytes each) in subscription order: userdata, then nbytes at +16
            (call $expect (i32.wrap_i64 (i64.load (i32.const 2048))) (i32.const 1) (i32.const 22))
            (call $expect (i32.wrap_i64 (i64.load (i32.const 2064))) (i32.const 0) (i32.const 23))
            (call $expect (i32.wrap_i64 (i64.load (i32.const 2080))) (i32.const 2) (i32.const 24))
            (call $expect (i32.wrap_i64 (i64.load (i32.const 2096))) (i32.const 1) (i32.const 25))
            ;; shutting down reading closes the listener (TCP_CLOSE): FIONREAD answers now, so
            ;; its read event (a hang-up) reports 1
            (call $expect (call $shutdown (local.get $listener) (i32.const 1)) (i32.const 0) (i32.const 26))
            (call $expect (call $poll (i32.const 1024) (i32.const 2048) (i32.const 1) (i32.const 4000)) (i32.const 0) (i32.const 27))
            (call $expect (i32.load (i32.const 4000)) (i32.const 1) (i32.const 28))
            (call $expect (i32.wrap_i64 (i64.load (i32.const 2048))) (i32.const 1) (i32.const 29))
            (call $expect (i32.wrap_i64 (i64.load (i32.const 2064))) (i32.const 1) (i32.const 30))"#,
    );
}

/// Raise this process's open-file limit to at least `needed` descriptors (the engine's
/// sockets and the test's clients share it); a hard limit below that fails the test.
fn raise_fd_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    if limit.rlim_cur >= needed {
        return;
    }
    assert!(
        limit.rlim_max >= needed,
        "this test needs {needed} open files and the hard limit is {}; help: raise it (ulimit -Hn)",
        limit.rlim_max
    );
    limit.rlim_cur = needed;
    // SAFETY: setrlimit reads one rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
}

/// Issue 12 §2: 2,000 connections open at once to a poll server on the engine (each one in
/// every `poll_oneoff`), and every one answered.
#[test]
fn a_poll_server_answers_two_thousand_concurrent_connections() {
    use std::io::{Read, Write};
    const COUNT: usize = 2000;
    raise_fd_limit(2 * COUNT as u64 + 256);
    let dir = tempfile::tempdir().expect("tempdir");
    let launch = GuestSpec {
        stdout: GuestOutput::File(dir.path().join("stdout")),
        stderr: GuestOutput::File(dir.path().join("stderr")),
        ..spec(guest("socket-checks"), &["serve", "0", &COUNT.to_string()])
    };
    let (sender, listening) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let mut app = prepare(&launch, None).expect("prepare");
        app.on_listen(move |address| {
            let _ = sender.send(address);
        });
        app.run()
    });
    let address = listening
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the guest listens");
    // All connected before any request, so all are open in the guest at once.
    let mut clients: Vec<std::net::TcpStream> = (0..COUNT)
        .map(|i| {
            std::net::TcpStream::connect(address)
                .unwrap_or_else(|err| panic!("connection {i}: {err}"))
        })
        .collect();
    for (i, client) in clients.iter_mut().enumerate() {
        client
            .write_all(format!("request-{i}\n").as_bytes())
            .unwrap_or_else(|err| panic!("request {i}: {err}"));
    }
    for (i, client) in clients.iter_mut().enumerate() {
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .expect("read timeout");
        let mut reply = String::new();
        client
            .read_to_string(&mut reply)
            .unwrap_or_else(|err| panic!("reply {i}: {err}"));
        let wanted: String = format!("request-{i}").chars().rev().collect();
        assert_eq!(reply, format!("{wanted}\n"), "reply to connection {i}");
    }
    let code = server.join().expect("the engine thread");
    let stdout = std::fs::read_to_string(dir.path().join("stdout")).unwrap_or_default();
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains(&format!("answered {COUNT}, at most {COUNT} open at once")),
        "{stdout}"
    );
}

/// A module importing the older 7-parameter `sock_recv_from` (no port) gets that form:
/// a UDP socket sends to itself and reads the datagram and the sender's raw IP back.
#[test]
fn seven_parameter_recv_from_is_served_by_import_type() {
    assert_checks_pass(
        r#"(import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_bind" (func $bind (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_getlocaladdr" (func $local (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_send_to" (func $send_to (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "sock_recv_from" (func $recv_from (param i32 i32 i32 i32 i32 i32 i32) (result i32)))"#,
        r#"(data (i32.const 400) "hi")"#,
        r#"(call $expect (call $open (i32.const 1) (i32.const 1) (i32.const 0)) (i32.const 0) (i32.const 10))
            (local.set $fd (i32.load (i32.const 0)))
            ;; address struct at 16 -> 4-byte IP at 32 (127.0.0.1)
            (i32.store (i32.const 16) (i32.const 32))
            (i32.store (i32.const 20) (i32.const 4))
            (i32.store (i32.const 32) (i32.const 0x0100007f))
            (call $expect (call $bind (local.get $fd) (i32.const 16) (i32.const 0)) (i32.const 0) (i32.const 11))
            ;; local address into struct at 48 -> buffer at 64; type at 72, port at 76
            (i32.store (i32.const 48) (i32.const 64))
            (i32.store (i32.const 52) (i32.const 4))
            (call $expect (call $local (local.get $fd) (i32.const 48) (i32.const 72) (i32.const 76)) (i32.const 0) (i32.const 12))
            (call $expect (i32.load (i32.const 72)) (i32.const 4) (i32.const 13))
            ;; send "hi" (ciovec at 80) to ourselves
            (i32.store (i32.const 80) (i32.const 400))
            (i32.store (i32.const 84) (i32.const 2))
            (call $expect (call $send_to (local.get $fd) (i32.const 80) (i32.const 1) (i32.const 48) (i32.load (i32.const 76)) (i32.const 0) (i32.const 88)) (i32.const 0) (i32.const 14))
            (call $expect (i32.load (i32.const 88)) (i32.const 2) (i32.const 15))
            ;; receive into 500 (iovec at 96), sender IP into struct at 104 -> buffer at 112 (4 bytes)
            (i32.store (i32.const 96) (i32.const 500))
            (i32.store (i32.const 100) (i32.const 16))
            (i32.store (i32.const 104) (i32.const 112))
            (i32.store (i32.const 108) (i32.const 4))
            (call $expect (call $recv_from (local.get $fd) (i32.const 96) (i32.const 1) (i32.const 104) (i32.const 0) (i32.const 120) (i32.const 124)) (i32.const 0) (i32.const 16))
            (call $expect (i32.load (i32.const 120)) (i32.const 2) (i32.const 17))
            (call $expect (i32.load16_u (i32.const 500)) (i32.const 0x6968) (i32.const 18))
            (call $expect (i32.load (i32.const 112)) (i32.const 0x0100007f) (i32.const 19))"#,
    );
}

/// `prepare` through `cache`: where the code came from, and why the cache was not used.
fn prepared_from(spec: &GuestSpec, cache: &ModuleCache) -> (CodeSource, Option<String>) {
    let app = prepare(spec, Some(cache)).expect("prepare");
    (
        app.code_source(),
        app.cache_error().map(ToString::to_string),
    )
}

#[test]
fn prepare_compiles_once_then_starts_from_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = ModuleCache::new(dir.path().join("engine"));
    let launch = spec(guest("process-checks"), &["exit", "5"]);
    assert_eq!(
        prepared_from(&launch, &cache),
        (CodeSource::CompiledAndCached, None)
    );
    assert_eq!(prepared_from(&launch, &cache), (CodeSource::Cache, None));
    let outcome = run_captured(&launch, Some(&cache));
    assert_eq!(outcome.code, 5, "{outcome}");
    let usage = cache.usage().expect("usage");
    assert_eq!(usage.entries, 1);
    assert!(usage.bytes > 0);

    // `precompile` ("compile ahead now") finds the same entry `prepare` made.
    let ahead = cache.precompile(&launch.module).expect("precompile");
    assert!(ahead.reused);
    assert!(ahead.path.starts_with(cache.dir()));

    // Another module is another entry; clearing removes both.
    let changed = dir.path().join("changed.wasm");
    let mut bytes = std::fs::read(&launch.module).expect("read module");
    // A custom section changes the bytes, not the behaviour.
    bytes.extend_from_slice(&[0, 4, 3, b'a', b'b', b'c']);
    std::fs::write(&changed, bytes).expect("write module");
    assert_eq!(
        prepared_from(&GuestSpec::new(&changed), &cache).0,
        CodeSource::CompiledAndCached
    );
    assert_eq!(cache.usage().expect("usage").entries, 2);
    let removed = cache.clear().expect("clear");
    assert_eq!(removed.entries, 2);
    assert_eq!(cache.usage().expect("usage"), CacheUsage::default());
}

#[test]
fn the_cache_evicts_the_least_recently_used_beyond_its_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = |name: &str, text: &str| {
        let path = dir.path().join(name);
        let wat = format!(r#"(module (func (export "_start")) (data "{text}"))"#);
        std::fs::write(
            &path,
            wat::parse_str(wat).expect("the module's text parses"),
        )
        .expect("write module");
        path
    };
    let (a, b, c) = (
        module("a.wasm", "a"),
        module("b.wasm", "b"),
        module("c.wasm", "c"),
    );
    let unbounded = ModuleCache::new(dir.path().join("cache"));
    let first = unbounded.precompile(&a).expect("precompile a");
    let entry_size = std::fs::metadata(&first.path).expect("entry").len();
    // Room for two entries of this size (they differ by a few bytes at most).
    let cache = unbounded.with_max_bytes(entry_size * 2 + entry_size / 2);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = cache.precompile(&b).expect("precompile b");
    std::thread::sleep(std::time::Duration::from_millis(20));
    // A hit makes `a` the most recently used, so `b` is the one to go.
    assert!(cache.precompile(&a).expect("reuse a").reused);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let third = cache.precompile(&c).expect("precompile c");
    assert!(first.path.is_file(), "the recently used entry was evicted");
    assert!(
        !second.path.exists(),
        "the least recently used entry stayed"
    );
    assert!(third.path.is_file(), "the new entry was evicted");
    assert_eq!(cache.usage().expect("usage").entries, 2);
}

#[test]
fn a_damaged_entry_is_recompiled_and_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = ModuleCache::new(dir.path());
    let launch = spec(guest("process-checks"), &["exit", "0"]);
    let entry = cache.precompile(&launch.module).expect("precompile").path;
    std::fs::write(&entry, b"not a precompiled module").expect("damage the entry");
    let (source, error) = prepared_from(&launch, &cache);
    assert_eq!(source, CodeSource::Compiled);
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("could not load the precompiled module")),
        "{error:?}"
    );
    assert_eq!(
        prepared_from(&launch, &cache),
        (CodeSource::CompiledAndCached, None),
        "the damaged entry was not replaced"
    );
}

#[test]
fn an_unusable_cache_does_not_stop_the_guest() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A file where the cache directory should be: nothing can be created below it.
    let blocked = dir.path().join("not-a-dir");
    std::fs::write(&blocked, b"").expect("write file");
    let cache = ModuleCache::new(blocked.join("engine"));
    let launch = spec(guest("process-checks"), &["exit", "4"]);
    let (source, error) = prepared_from(&launch, &cache);
    assert_eq!(source, CodeSource::Compiled);
    assert!(error.is_some_and(|e| e.contains("not-a-dir")));
    let outcome = run_captured(&launch, Some(&cache));
    assert_eq!(outcome.code, 4, "{outcome}");
}

#[test]
fn version_matches_the_lock_file() {
    let lock = std::fs::read_to_string(repo_root().join("Cargo.lock")).expect("Cargo.lock");
    let mut lines = lock.lines();
    let locked = loop {
        match lines.next() {
            Some("name = \"wasmtime\"") => break lines.next().unwrap_or_default().to_owned(),
            Some(_) => continue,
            None => panic!("wasmtime is not in Cargo.lock"),
        }
    };
    assert_eq!(
        locked,
        format!("version = \"{WASMTIME_VERSION}\""),
        "update WASMTIME_VERSION in engine/src/lib.rs"
    );
}
