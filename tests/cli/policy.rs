//! Issue 21: the sandbox from `run`'s side. The guest `tests/guests/policy-checks` (built
//! once, release) tries the connects, allocations and sockets it is told and prints what
//! it got; `run` must say each refused destination once however often the app retries,
//! as a line and a JSON message, refuse what WasmEdge cannot enforce, refuse a malformed
//! entry before launch, and apply the memory limit on both runtimes.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use crate::support::*;

/// The policy-checks module, built once per test run into the shared target directory.
fn policy_checks() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let manifest =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/guests/policy-checks/Cargo.toml");
        let _build = build_lock();
        let output = Sandbox::new()
            .std_cmd()
            .args(["build", "--release", "--manifest-path"])
            .arg(manifest)
            .arg("--target-dir")
            .arg(shared_target_dir())
            .output()
            .expect("run build");
        assert!(output.status.success(), "{}", stderr_of(&output));
        PathBuf::from(stdout_of(&output).trim())
    })
}

/// `run --wasm policy-checks` in `sandbox` with `flags` (before `--`) and the guest's steps.
fn run_checks(sandbox: &Sandbox, flags: &[&str], steps: &[String]) -> Ran {
    let output = sandbox
        .std_cmd()
        .arg("run")
        .args(flags)
        .arg("--wasm")
        .arg(policy_checks())
        .arg("--")
        .args(steps)
        .stdin(Stdio::null())
        .output()
        .expect("run cargo-wasock");
    Ran::of(&output)
}

/// A retrying app: three connects to 127.0.0.2 and one to 127.0.0.1, which is listed. The
/// guest sees `ACCES` each time and goes on; `run` says the destination once, with its
/// help line, and once as a `blocked` message; the allowed connect arrives.
#[test]
fn a_refused_destination_is_said_once_however_often_the_app_retries() {
    let sandbox = Sandbox::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let refused = format!("tcp=127.0.0.2:{port}");
    let steps = vec![
        refused.clone(),
        refused.clone(),
        refused,
        format!("tcp=127.0.0.1:{port}"),
    ];
    let allow = format!("127.0.0.1:{port}");
    let ran = run_checks(
        &sandbox,
        &["--allow-connect", &allow, "--message-format", "json"],
        &steps,
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let app_lines: Vec<&str> = ran
        .stdout
        .lines()
        .filter(|line| !line.starts_with('{'))
        .collect();
    let denied = format!("tcp 127.0.0.2:{port}: error 2 PermissionDenied");
    assert_eq!(
        app_lines,
        [
            denied.as_str(),
            &denied,
            &denied,
            &format!("tcp 127.0.0.1:{port}: ok")
        ],
        "{ran:?}"
    );
    let line = format!(
        "blocked: the app tried to connect to 127.0.0.2:{port}, which allow-connect does not list"
    );
    let help = format!(
        "help: add \"127.0.0.2:{port}\" to [package.metadata.wasock] allow-connect, or pass --allow-connect 127.0.0.2:{port}"
    );
    assert_eq!(ran.stderr.matches(&line).count(), 1, "{}", ran.stderr);
    assert_eq!(ran.stderr.matches(&help).count(), 1, "{}", ran.stderr);
    let messages = json_messages(&ran.stdout);
    let blocked = with_reason(&messages, "blocked");
    assert_eq!(blocked.len(), 1, "{}", ran.stdout);
    assert_eq!(blocked[0]["destination"], format!("127.0.0.2:{port}"));
    assert_eq!(blocked[0]["direction"], "connect");
    assert_eq!(blocked[0]["list"], "allow-connect");
    assert_eq!(blocked[0]["port"], port);
    assert_eq!(with_reason(&messages, "runtime")[0]["name"], "embedded");
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_ok(), "the allowed connect arrived");
}

/// `--instances 2`: both instances retry the refused destination and are refused each
/// time, and the run says it once, as a line and as a message, not once per instance.
#[test]
fn instances_share_one_report_per_destination() {
    let sandbox = Sandbox::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let refused = format!("tcp=127.0.0.2:{port}");
    let allow = format!("127.0.0.1:{port}");
    let ran = run_checks(
        &sandbox,
        &[
            "--instances",
            "2",
            "--allow-connect",
            &allow,
            "--message-format",
            "json",
        ],
        &[refused.clone(), refused, format!("tcp=127.0.0.1:{port}")],
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let denied = format!("tcp 127.0.0.2:{port}: error 2 PermissionDenied");
    assert_eq!(ran.stdout.matches(&denied).count(), 4, "{ran:?}");
    let allowed = format!("tcp 127.0.0.1:{port}: ok");
    assert_eq!(ran.stdout.matches(&allowed).count(), 2, "{ran:?}");
    let line = format!(
        "blocked: the app tried to connect to 127.0.0.2:{port}, which allow-connect does not list"
    );
    assert_eq!(ran.stderr.matches(&line).count(), 1, "{}", ran.stderr);
    assert_eq!(ran.stderr.matches("help: add").count(), 1, "{}", ran.stderr);
    let messages = json_messages(&ran.stdout);
    assert_eq!(with_reason(&messages, "blocked").len(), 1, "{}", ran.stdout);
}

/// With a policy, `--runtime auto` takes the engine over a WasmEdge it found (and says
/// why under `-v`); `--runtime wasmedge` is refused with a help line and runs nothing, as
/// is `--max-sockets` there; a malformed entry is refused before launch, naming it.
#[test]
fn a_policy_needs_the_engine_and_well_formed_entries() {
    let sandbox = Sandbox::new();
    let wasmedge = sandbox.fake_wasmedge("0.17.1");
    let ran = run_checks(
        &sandbox,
        &["-v", "--allow-connect", "127.0.0.1:9"],
        &["alloc=1".to_owned()],
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(
        ran.stderr.contains("the app runs on the embedded engine: allow-connect (from the flags) is enforced by the engine only"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("on the embedded engine"),
        "{}",
        ran.stderr
    );
    assert!(wasmedge.work_invocations().is_empty());

    for flags in [
        &["--runtime", "wasmedge", "--allow-listen", "0.0.0.0:8080"][..],
        &["--runtime", "wasmedge", "--max-sockets", "10"][..],
    ] {
        let ran = run_checks(&sandbox, flags, &[]);
        assert_eq!(ran.code, Some(2), "{flags:?}: {ran:?}");
        assert!(
            ran.stderr
                .contains("error: `--runtime wasmedge` cannot enforce")
                && ran.stderr.contains("help: drop `--runtime wasmedge`"),
            "{}",
            ran.stderr
        );
    }
    assert!(wasmedge.work_invocations().is_empty(), "nothing ran");

    let ran = run_checks(&sandbox, &["--allow-connect", "db.internal:99999"], &[]);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(
        ran.stderr.contains("error: --allow-connect: `db.internal:99999` is not a valid entry: the port must be a number from 0 to 65535")
            && ran.stderr.contains("help: write HOST[:PORT]"),
        "{}",
        ran.stderr
    );
    assert!(ran.stdout.is_empty(), "the app did not start: {ran:?}");
}

/// The package's `allow-connect`: checked once the package is known (a malformed entry is
/// named, nothing runs), and a good one takes the engine over WasmEdge.
#[test]
fn the_metadata_policy_is_checked_and_takes_the_engine() {
    let sandbox = Sandbox::new();
    let wasmedge = sandbox.fake_wasmedge("0.17.1");
    let project = minimal_project(
        &sandbox.work(),
        "meta-policy",
        "fn main() { println!(\"ran\"); }\n",
        "[package.metadata.wasock]\nallow-connect = [\"10.0.0.0/33:80\"]\n",
    );
    let run = |extra: &[&str]| {
        let _build = build_lock();
        let output = sandbox
            .std_cmd()
            .current_dir(&project)
            .arg("run")
            .args(extra)
            .arg("--target-dir")
            .arg(shared_target_dir())
            .output()
            .unwrap();
        Ran::of(&output)
    };
    let ran = run(&[]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(
        ran.stderr.contains("error: [package.metadata.wasock] allow-connect: `10.0.0.0/33:80` is not a valid entry: not a CIDR block"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stdout.contains("ran"));
    std::fs::write(
        project.join("Cargo.toml"),
        std::fs::read_to_string(project.join("Cargo.toml"))
            .unwrap()
            .replace("10.0.0.0/33:80", "10.0.0.0/8:80"),
    )
    .unwrap();
    let ran = run(&["-v"]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(ran.stdout, "ran\n");
    assert!(
        ran.stderr.contains(
            "allow-connect (from [package.metadata.wasock]) is enforced by the engine only"
        ),
        "{}",
        ran.stderr
    );
    assert!(wasmedge.work_invocations().is_empty());
    let ran = run(&["--runtime", "wasmedge"]);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(wasmedge.work_invocations().is_empty());
}

/// `--memory-limit` on the engine: growth past it fails, the app aborts (exit 134) and
/// `run` adds its line; WasmEdge gets `--memory-page-limit` in 64 KiB pages (the stand-in
/// pins the command line, the real one, where installed, the same outcome); below the
/// limit the app runs on both.
#[test]
fn the_memory_limit_holds_on_both_runtimes() {
    const TEST: &str = "the_memory_limit_holds_on_both_runtimes";
    let sandbox = Sandbox::new();
    let module = policy_checks();
    let line = "the app reached its memory limit of 16 MiB (--memory-limit)";
    let ran = run_checks(
        &sandbox,
        &["--runtime", "embedded", "--memory-limit", "16MiB"],
        &["alloc=64".to_owned()],
    );
    assert_eq!(ran.code, Some(134), "{ran:?}");
    assert_eq!(ran.stderr.matches(line).count(), 1, "{}", ran.stderr);
    // Instances each have the limit; the run says it once.
    let ran = run_checks(
        &sandbox,
        &["--instances", "2", "--memory-limit", "16MiB"],
        &["alloc=64".to_owned()],
    );
    assert_eq!(ran.code, Some(134), "{ran:?}");
    assert_eq!(ran.stderr.matches(line).count(), 1, "{}", ran.stderr);
    let ran = run_checks(
        &sandbox,
        &["--runtime", "embedded", "--memory-limit", "16MiB"],
        &["alloc=4".to_owned()],
    );
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (Some(0), "alloc 4: ok 4 MiB\n"),
        "{ran:?}"
    );
    assert!(!ran.stderr.contains("memory limit"), "{}", ran.stderr);

    let stand_in = Sandbox::new();
    let wasmedge = stand_in.fake_wasmedge("0.17.1");
    let ran = run_checks(
        &stand_in,
        &["--runtime", "wasmedge", "--memory-limit", "16MiB"],
        &["alloc=64".to_owned()],
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let invocations = wasmedge.work_invocations();
    assert_eq!(invocations.len(), 1, "{invocations:?}");
    assert_eq!(
        invocations[0][..2],
        ["--memory-page-limit", "256"],
        "{invocations:?}"
    );

    if real_wasmedge_for(TEST).is_some() {
        let run_real = |steps: &str| {
            let output = sandbox
                .std_cmd_on(Runtime::WasmEdge)
                .args([
                    "run",
                    "--runtime",
                    "wasmedge",
                    "--memory-limit",
                    "16MiB",
                    "--wasm",
                ])
                .arg(module)
                .args(["--", steps])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            Ran::of(&output)
        };
        let ran = run_real("alloc=64");
        assert_eq!(ran.code, Some(134), "{ran:?}");
        assert!(ran.stderr.contains(line), "{}", ran.stderr);
        let ran = run_real("alloc=4");
        assert_eq!(ran.code, Some(0), "{ran:?}");
        assert_eq!(ran.stdout, "alloc 4: ok 4 MiB\n");
    }
}

/// `--max-sockets N`: the app's socket past N gets EMFILE (33) and the app goes on.
#[test]
fn a_socket_beyond_max_sockets_gets_emfile() {
    let sandbox = Sandbox::new();
    let ran = run_checks(
        &sandbox,
        &["--quiet", "--max-sockets", "3"],
        &["sockets=10".to_owned(), "alloc=1".to_owned()],
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(
        ran.stdout,
        "sockets 10: 3 opened, then error 33 Uncategorized\nalloc 1: ok 1 MiB\n"
    );
}

/// A soft descriptor limit of 1,024 (a common default) does not cap the app's sockets at
/// 768: `run` raises it to the hard limit first, so the default cap follows the hard limit.
#[test]
fn a_low_soft_descriptor_limit_is_raised_for_the_app() {
    use std::os::unix::process::CommandExt as _;
    let sandbox = Sandbox::new();
    let mut command = sandbox.std_cmd();
    command
        .args(["--quiet", "run", "--runtime", "embedded", "--wasm"])
        .arg(policy_checks())
        .args(["--", "sockets=1500"])
        .stdin(Stdio::null());
    // SAFETY: getrlimit/setrlimit only, between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
            limit.rlim_cur = limit.rlim_cur.min(1024);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            Ok(())
        });
    }
    let ran = Ran::of(&command.output().unwrap());
    let hard = {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit we own.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
        limit.rlim_max
    };
    if hard < 2000 {
        eprintln!("note: the hard descriptor limit is {hard}; the raise was not checked");
        return;
    }
    assert_eq!(ran.stdout, "sockets 1500: ok 1500 opened\n", "{ran:?}");
}

/// An HTTPS call (wasock's async client, rustls) through the `axum` template (the build
/// `async_apps.rs` and `tls.rs` share) to `openssl s_server` with the test's private CA:
/// `--allow-connect localhost:PORT` lets it through, name and all; an `allow-connect` that
/// does not cover it gets the app a failed call (its 502, `Permission denied`) and the user
/// the `blocked` line, naming the address: wasock resolves `localhost` without a lookup.
#[test]
fn an_https_call_to_an_allowed_name_works_and_one_not_listed_is_blocked() {
    use crate::tls;
    let app = crate::async_apps::axum_app();
    let upstream = tls::SServer::start();
    let allowed = format!("localhost:{}", upstream.port);
    for (allow, reaches) in [(allowed.as_str(), true), ("example.com:443", false)] {
        let port = free_port();
        let mut args = tls::trust_args();
        args.extend([
            "--env".to_owned(),
            format!("UPSTREAM=https://localhost:{}/", upstream.port),
            "--allow-connect".to_owned(),
            allow.to_owned(),
        ]);
        let mut running = tls::start(Runtime::Engine, &app.wasm, port, &args);
        let answer = tls::curl(&[&format!("http://127.0.0.1:{port}/upstream")]);
        let json: serde_json::Value = serde_json::from_str(&answer).expect("JSON from /upstream");
        // wasock resolves `localhost` itself (no `sock_getaddrinfo`), so the engine knows
        // the destination by its address only.
        let seen = format!("127.0.0.1:{}", upstream.port);
        let line = format!(
            "blocked: the app tried to connect to {seen}, which allow-connect does not list"
        );
        if reaches {
            assert_eq!(json["status"], 200, "{json}");
            assert!(
                json["body"]
                    .as_str()
                    .unwrap_or("")
                    .contains(tls::S_SERVER_PAGE),
                "{json}"
            );
            assert!(
                !running.stderr().contains("blocked:"),
                "{}",
                running.stderr()
            );
        } else {
            assert!(json["status"].is_null(), "{json}");
            let error = json["error"].as_str().unwrap_or("");
            assert!(
                error.contains(&format!("talking to {allowed}: Permission denied")),
                "{json}"
            );
            running.wait_for_stderr(&line, Duration::from_secs(10));
            let help = format!("help: add \"{seen}\" to [package.metadata.wasock] allow-connect, or pass --allow-connect {seen}");
            assert!(running.stderr().contains(&help), "{}", running.stderr());
        }
        assert!(running.is_running(), "{}", running.stderr());
    }
}
