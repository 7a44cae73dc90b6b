//! `cargo wasock test`: a project not made by our templates with passing, failing, panicking
//! and ignored tests, run in wasm on the engine (isolated and not, filtered, as JSON), on
//! the recording stand-in WasmEdge (exact command lines) and on the real WasmEdge where
//! installed (the engine's report); and a `poll` app whose end-to-end tests run against its
//! `.wasm` on each runtime.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::*;

/// The fixture's tests. `fails` fails an `assert_eq`, `panics` panics: on wasm32-wasip1 both
/// abort the whole binary, which is what isolation is for. `reads_the_package` needs the
/// package directory mapped as cargo's working directory and `CARGO_MANIFEST_DIR` set.
const LIB_RS: &str = r#"pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[cfg(test)]
mod tests {
    #[test]
    fn passes() {
        println!("said by passes");
        assert_eq!(super::add(1, 2), 3);
    }

    #[test]
    fn fails() {
        println!("said by fails before failing");
        assert_eq!(super::add(1, 2), 4);
    }

    #[test]
    fn panics() {
        panic!("boom from panics");
    }

    #[test]
    #[ignore]
    fn ignored() {
        println!("said by ignored");
    }

    #[test]
    fn reads_the_package() {
        let manifest = std::fs::read_to_string("Cargo.toml").expect("read ./Cargo.toml");
        assert!(manifest.contains("name = \"wasmtests\""));
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR at run time");
        assert_eq!(dir, env!("CARGO_MANIFEST_DIR"));
        std::fs::metadata(format!("{dir}/src/lib.rs")).expect("the package under its own path");
    }

    #[test]
    fn zlast() {}
}
"#;

/// The fixture: a library with the tests above, no dependencies (quick to build), written
/// once per test process at one path that every test uses. One path, because the tests share
/// a target directory and cargo's fingerprint of a path package leaves out its directory: a
/// second `wasmtests` elsewhere would be judged fresh and run the first one's binary, with
/// the first one's `env!("CARGO_MANIFEST_DIR")` baked in.
fn fixture() -> PathBuf {
    static FIXTURE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let project = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-cmd/wasmtests");
            fs::create_dir_all(project.join("src")).unwrap();
            let manifest = "[package]\nname = \"wasmtests\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n";
            // Rewritten only when different, so an unchanged fixture stays fresh for cargo.
            for (path, text) in [("Cargo.toml", manifest), ("src/lib.rs", LIB_RS)] {
                let path = project.join(path);
                if fs::read_to_string(&path).ok().as_deref() != Some(text) {
                    fs::write(&path, text).unwrap();
                }
            }
            project
        })
        .clone()
}

/// `cargo wasock test ARGS` in `project`, sharing the tests' target directory.
fn wasock_test(sandbox: &Sandbox, project: &Path, args: &[&str]) -> std::process::Output {
    let _build = build_lock();
    sandbox
        .cmd()
        .current_dir(project)
        .arg("test")
        .arg("--target-dir")
        .arg(shared_target_dir())
        .args(args)
        // The guest gets it too: the panic messages in the report must not depend on the
        // environment the tests run in.
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// libtest's timings vary; everything else in its report must not.
fn normalize(stdout: &str) -> String {
    stdout
        .lines()
        .map(|line| match line.find("; finished in ") {
            Some(at) => format!("{}; finished in [TIME]", &line[..at]),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_result_is_reported_in_libtest_format_and_a_failure_exits_101() {
    let sandbox = Sandbox::new();
    let project = fixture();
    let output = wasock_test(&sandbox, &project, &["--runtime", "embedded"]);
    let (stdout, stderr) = (stdout_of(&output), stderr_of(&output));
    assert_eq!(output.status.code(), Some(101), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("Testing in wasm on the embedded engine"),
        "{stderr}"
    );
    // Each failing test's own output, and how it ended, under `failures:`.
    assert!(stdout.contains("---- tests::fails stdout ----\nsaid by fails before failing\n"));
    assert!(
        stdout.contains("assertion `left == right` failed"),
        "{stdout}"
    );
    assert!(stdout.contains("boom from panics"), "{stdout}");
    // A passing test's output is not shown without --nocapture/--show-output.
    assert!(!stdout.contains("said by passes"), "{stdout}");
    insta::assert_snapshot!("isolated_report", normalize(&stdout));
}

#[test]
fn without_isolation_the_first_abort_hides_the_rest_and_filters_work() {
    let sandbox = Sandbox::new();
    let project = fixture();

    // One instance for the whole binary, as cargo runs it natively: libtest runs the tests
    // in name order, `fails` aborts the module, and nothing after it is ever reported.
    let output = wasock_test(
        &sandbox,
        &project,
        &["--runtime", "embedded", "--no-isolation"],
    );
    let stdout = stdout_of(&output);
    assert_ne!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("running 6 tests"), "{stdout}");
    assert!(stdout.contains("test tests::fails ... "), "{stdout}");
    for hidden in ["test tests::passes", "test tests::zlast", "test result:"] {
        assert!(!stdout.contains(hidden), "{hidden:?} reported:\n{stdout}");
    }

    // Filters after `--` choose the tests; the rest count as filtered out.
    let output = wasock_test(
        &sandbox,
        &project,
        &["--runtime", "embedded", "--", "pa", "--skip", "panics"],
    );
    let stdout = stdout_of(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        stderr_of(&output)
    );
    assert_eq!(
        normalize(&stdout).trim(),
        "running 2 tests\ntest tests::passes ... ok\ntest tests::reads_the_package ... ok\n\n\
         test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 4 filtered out; finished in [TIME]"
    );

    // `--ignored` runs only the ignored test; `--show-output` shows what it printed.
    let output = wasock_test(
        &sandbox,
        &project,
        &["--runtime", "embedded", "--", "--ignored", "--show-output"],
    );
    let stdout = stdout_of(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        stderr_of(&output)
    );
    assert!(stdout.contains("test tests::ignored ... ok"), "{stdout}");
    assert!(
        stdout.contains("---- tests::ignored stdout ----\nsaid by ignored\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 passed; 0 failed; 0 ignored; 0 measured; 5 filtered out"),
        "{stdout}"
    );
}

#[test]
fn json_lines_carry_every_test_and_each_binarys_totals() {
    let sandbox = Sandbox::new();
    let project = fixture();
    let output = wasock_test(
        &sandbox,
        &project,
        &["--runtime", "embedded", "--message-format", "json"],
    );
    assert_eq!(output.status.code(), Some(101), "{}", stderr_of(&output));
    let messages: Vec<serde_json::Value> = stdout_of(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    let reason = |message: &serde_json::Value| message["reason"].as_str().unwrap().to_owned();
    // cargo's own messages are in the same stream.
    assert!(messages.iter().any(|m| reason(m) == "build-finished"));
    let tests: Vec<&serde_json::Value> = messages.iter().filter(|m| reason(m) == "test").collect();
    let outcome = |name: &str| {
        let test = tests
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no `test` message for {name}"));
        assert!(
            test["binary"].as_str().unwrap().ends_with(".wasm"),
            "{test}"
        );
        assert!(test["duration_ms"].is_u64(), "{test}");
        test["outcome"].as_str().unwrap().to_owned()
    };
    assert_eq!(outcome("tests::passes"), "ok");
    assert_eq!(outcome("tests::fails"), "failed");
    assert_eq!(outcome("tests::panics"), "failed");
    assert_eq!(outcome("tests::ignored"), "ignored");
    assert_eq!(tests.len(), 6);
    let failed = tests.iter().find(|t| t["name"] == "tests::panics").unwrap();
    assert!(
        failed["output"]
            .as_str()
            .unwrap()
            .contains("boom from panics"),
        "{failed}"
    );
    let totals: Vec<&serde_json::Value> = messages
        .iter()
        .filter(|m| reason(m) == "test-result")
        .collect();
    assert_eq!(totals.len(), 1);
    let total = totals[0];
    assert_eq!(
        (
            &total["outcome"],
            &total["passed"],
            &total["failed"],
            &total["ignored"],
            &total["filtered_out"]
        ),
        (
            &serde_json::json!("failed"),
            &serde_json::json!(3),
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!(0)
        )
    );
    assert!(total["duration_ms"].is_u64());
    // The human report moved to stderr, so stdout stays JSON.
    assert!(stderr_of(&output).contains("test result: FAILED. 3 passed; 2 failed; 1 ignored"));
}

#[test]
fn on_wasmedge_each_test_is_one_process_with_the_package_mapped() {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let project = fixture();
    // The stand-in answers the lists as a test binary would (with no ignored test), and
    // passes each test it is asked to run.
    let answer = r#"case "$*" in
*--list*--ignored*) ;;
*--list*) printf 'tests::a: test\ntests::b: test\n' ;;
*) printf '\nrunning 1 test\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out; finished in 0.00s\n' ;;
esac"#;
    let output = {
        let _build = build_lock();
        sandbox
            .cmd()
            .current_dir(&project)
            .args(["test", "--runtime", "wasmedge", "--target-dir"])
            .arg(shared_target_dir())
            .env("FAKE_WASMEDGE_THEN", answer)
            .output()
            .unwrap()
    };
    let stdout = stdout_of(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        stderr_of(&output)
    );
    assert!(
        stdout.contains("test tests::a ... ok\ntest tests::b ... ok\n"),
        "{stdout}"
    );

    let package = project.to_string_lossy().into_owned();
    let mut runs: Vec<Vec<String>> = fake
        .work_invocations()
        .into_iter()
        .filter(|args| args.iter().any(|arg| arg == "--exact"))
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    // Up to a core's worth of tests start at once, so the log's order is the scheduler's.
    runs.sort_by_key(|run| {
        run.iter()
            .skip_while(|arg| *arg != "--exact")
            .nth(1)
            .cloned()
    });
    for (run, name) in runs.iter().zip(["tests::a", "tests::b"]) {
        // wasmedge --dir .:PKG --dir PKG:PKG --env K=V... MODULE --exact NAME --nocapture --test-threads=1
        assert_eq!(
            run[..4],
            [
                "--dir".to_owned(),
                format!(".:{package}"),
                "--dir".to_owned(),
                format!("{package}:{package}")
            ],
            "{run:?}"
        );
        let module_at = run
            .iter()
            .position(|arg| arg.ends_with(".wasm"))
            .unwrap_or_else(|| panic!("no module in {run:?}"));
        let module = Path::new(&run[module_at]);
        assert!(
            module.starts_with(shared_target_dir().join("wasm32-wasip1/debug/deps")),
            "{run:?}"
        );
        assert_eq!(
            run[module_at + 1..],
            ["--exact", name, "--nocapture", "--test-threads=1"],
            "{run:?}"
        );
        let env: Vec<&str> = run[4..module_at]
            .chunks(2)
            .map(|pair| {
                assert_eq!(pair[0], "--env", "{run:?}");
                pair[1].as_str()
            })
            .collect();
        assert!(
            env.contains(&format!("CARGO_MANIFEST_DIR={package}").as_str()),
            "{env:?}"
        );
        assert!(env.contains(&"CARGO_PKG_NAME=wasmtests"), "{env:?}");
        assert!(
            env.windows(2).all(|pair| pair[0] <= pair[1]),
            "variables not in a stable order: {env:?}"
        );
        assert!(
            !env.iter()
                .any(|var| var.starts_with("HOME=") || var.starts_with("PATH=")),
            "the host environment leaked: {env:?}"
        );
    }
}

/// `report` without what only one runtime says about a trap: the engine's `error: the
/// test's instance trapped: …` line and WasmEdge's own `[…] [error] …` log lines; and the
/// exit code an aborted instance ended with, which differs today (WasmEdge 0.17.1 134, the
/// engine 1: pinned by `parity::a_panicking_guest_exits_with_the_same_code_on_both_runtimes`).
fn without_trap_reports(report: &str) -> String {
    report
        .lines()
        .filter(|line| {
            !line.starts_with("error: the test's instance trapped: ")
                && !(line.starts_with('[') && line.contains("] [error] "))
        })
        .map(
            |line| match line.strip_prefix("note: the test's instance ended with exit code ") {
                Some(rest) => format!(
                    "note: the test's instance ended with exit code N {}",
                    rest.split_once(' ').map_or("", |(_, after)| after)
                ),
                None => line.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// The fixture on the real WasmEdge (each test one `wasmedge` process, the package mapped)
/// reports as on the engine: the same results in the same order, each failing test's own
/// output, the same totals and exit code.
#[test]
fn the_real_wasmedge_gives_the_engines_report() {
    const TEST: &str = "the_real_wasmedge_gives_the_engines_report";
    let sandbox = Sandbox::new();
    let project = fixture();
    let seen = same_on_each(TEST, |runtime| {
        let _build = build_lock();
        let output = sandbox
            .std_cmd_on(runtime)
            .current_dir(&project)
            .args(["test", "--runtime", runtime.flag(), "--target-dir"])
            .arg(shared_target_dir())
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        let (stdout, stderr) = (stdout_of(&output), stderr_of(&output));
        let on = match runtime {
            Runtime::Engine => "the embedded engine",
            Runtime::WasmEdge => "WasmEdge 0.17.1",
        };
        assert!(
            stderr.contains(&format!("Testing in wasm on {on}")),
            "{stderr}"
        );
        (
            output.status.code(),
            without_trap_reports(&normalize(&stdout)),
        )
    });
    assert_eq!(seen.0, Some(101), "{}", seen.1);
    assert!(
        seen.1
            .contains("test result: FAILED. 3 passed; 2 failed; 1 ignored"),
        "{}",
        seen.1
    );
    assert!(seen.1.contains("boom from panics"), "{}", seen.1);
}

#[test]
fn a_poll_apps_unit_tests_run_in_wasm_and_its_end_to_end_tests_against_its_wasm() {
    let sandbox = Sandbox::new();
    let created = sandbox
        .cmd()
        .args(["new", "pollwasm", "--template", "poll"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr_of(&created));
    let project = sandbox.work().join("pollwasm");
    // A header only the wasm build sends, and an end-to-end test that insists on it: it
    // cannot pass against the native binary (checked below with plain `cargo test`).
    let main_rs = project.join("src/main.rs");
    let source = fs::read_to_string(&main_rs).unwrap();
    let source = source.replacen(
        "    response\n}",
        "    let built_for = if cfg!(target_os = \"wasi\") { \"wasi\" } else { \"native\" };\n    \
         response.headers_mut().insert(\"x-built-for\", HeaderValue::from_static(built_for));\n    response\n}",
        1,
    );
    fs::write(&main_rs, source).unwrap();
    let app_rs = project.join("tests/app.rs");
    let mut tests = fs::read_to_string(&app_rs).unwrap();
    tests.push_str(
        r#"
#[test]
fn the_app_under_test_is_the_wasm_build() {
    let app = App::start();
    let response = wasock::get(&app.url()).expect("GET the app");
    assert_eq!(response.headers()["x-built-for"], "wasi");
}
"#,
    );
    fs::write(&app_rs, tests).unwrap();

    // On each runtime: the same module, the same tests.
    for runtime in
        runtimes("a_poll_apps_unit_tests_run_in_wasm_and_its_end_to_end_tests_against_its_wasm")
    {
        let output = {
            let _build = build_lock();
            sandbox
                .std_cmd_on(runtime)
                .current_dir(&project)
                .args(["test", "--runtime", runtime.flag(), "--target-dir"])
                .arg(shared_target_dir())
                .output()
                .unwrap()
        };
        let (stdout, stderr) = (stdout_of(&output), stderr_of(&output));
        assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
        // The unit test ran in wasm (the binary's module), the app.rs target had nothing there...
        let wasm_half = &stdout[..stdout.find("running 8 tests").expect("the e2e half")];
        assert!(
            wasm_half.contains("test tests::echo_prefixes_the_body_and_says_it_is_text ... ok"),
            "{stdout}"
        );
        assert!(wasm_half.contains("running 0 tests"), "{stdout}");
        // ...and then ran natively against the built module on the runtime.
        let module = shared_target_dir().join("wasm32-wasip1/debug/pollwasm.wasm");
        let on = match runtime {
            Runtime::Engine => "the embedded engine",
            Runtime::WasmEdge => "WasmEdge 0.17.1",
        };
        assert!(
            stderr.contains(&format!(
                "Testing end to end, natively against {} on {on}",
                module.display()
            )),
            "{stderr}"
        );
        assert!(
            stdout.contains("test the_app_under_test_is_the_wasm_build ... ok"),
            "{stdout}"
        );
        assert!(
            stdout.contains("test result: ok. 8 passed; 0 failed"),
            "{stdout}"
        );
    }

    // Plain `cargo test` still runs the same tests natively, where the wasm-only
    // assertion fails: the e2e half above really talked to the module.
    let _build = build_lock();
    let native =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(&project)
            .args(["test", "--test", "app", "--target-dir"])
            .arg(shared_target_dir().join("native"))
            .output()
            .unwrap();
    let native_out = stdout_of(&native);
    assert!(!native.status.success(), "{native_out}");
    assert!(
        native_out.contains("test the_app_under_test_is_the_wasm_build ... FAILED"),
        "{native_out}"
    );
    assert!(native_out.contains("7 passed; 1 failed"), "{native_out}");
}

#[test]
fn help_explains_isolation_runtimes_and_exit_codes() {
    let sandbox = Sandbox::new();
    let output = sandbox.cmd().args(["test", "--help"]).output().unwrap();
    assert!(output.status.success());
    let help = stdout_of(&output);
    for needle in [
        "--no-isolation",
        "--runtime",
        "Doc tests are not run",
        "WASOCK_TEST_APP_WASM",
        "101 when a test failed",
        "cargo wasock test --runtime embedded -- parse --exact",
    ] {
        assert!(
            help.contains(needle),
            "`test --help` lacks {needle:?}:\n{help}"
        );
    }
    // The runner cargo calls is not for people.
    let top = stdout_of(&sandbox.cmd().arg("--help").output().unwrap());
    assert!(top.contains("test "), "{top}");
    assert!(!top.contains("__test-runner"), "{top}");
}
