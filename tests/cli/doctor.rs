//! `doctor`: one ✓/✗ line per prerequisite and a failing exit when a required one is missing.

use crate::support::*;

#[test]
fn doctor_reports_wasmedge_with_path_and_version() {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let output = sandbox.cmd().arg("doctor").output().unwrap();
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{stdout}{}", stderr_of(&output));
    assert!(stdout.contains("✓ cargo"), "{stdout}");
    assert!(
        stdout.contains("✓ WASI target      wasm32-wasip1"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "✓ wasmedge         WasmEdge 0.17.1 ({})",
            fake.path.display()
        )),
        "{stdout}"
    );
}

#[test]
fn doctor_fails_with_the_fix_when_the_target_is_missing() {
    let sandbox = Sandbox::new();
    sandbox.fake_wasmedge("0.17.1");
    let sysroot = sandbox.root.path().join("sysroot");
    std::fs::create_dir_all(&sysroot).unwrap();
    let rustc = sandbox.bin().join("rustc");
    std::fs::write(&rustc, format!("#!/bin/sh\n[ \"$1\" = --version ] && echo 'rustc 1.95.0 (0 2026-01-01)' || echo '{}'\n", sysroot.display())).unwrap();
    make_executable(&rustc);
    let output = sandbox
        .cmd()
        .env("PATH", format!("{}:/usr/bin:/bin", sandbox.bin().display()))
        .env_remove("CARGO")
        .arg("doctor")
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ cargo"), "{stdout}");
    assert!(
        stdout.contains("✗ WASI target      wasm32-wasip1 is not installed for rustc 1.95.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fix: install rustup, then run `rustup target add wasm32-wasip1`"),
        "{stdout}"
    );
}

#[cfg(feature = "embedded")]
#[test]
fn a_missing_optional_wasmedge_is_a_warning_not_a_failure() {
    let sandbox = Sandbox::new();
    let output = sandbox.cmd().arg("doctor").output().unwrap();
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "! wasmedge         not found on PATH, $WASMEDGE_DIR/bin and ~/.wasmedge/bin (optional)\n"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains('✗'), "{stdout}");
    assert!(
        stdout.contains("✓ embedded engine  built in (wasmtime "),
        "{stdout}"
    );
}

#[cfg(not(feature = "embedded"))]
#[test]
fn doctor_without_engine_or_wasmedge_fails() {
    let sandbox = Sandbox::new();
    let output = sandbox.cmd().arg("doctor").output().unwrap();
    let stdout = stdout_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ wasmedge"), "{stdout}");
    assert!(stdout.contains("✗ embedded engine"), "{stdout}");
}

#[test]
fn doctor_checks_as_json_messages_with_the_report_on_stderr() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .cmd()
        .args(["doctor", "--message-format", "json"])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    let stderr = stderr_of(&output);
    let messages = json_messages(&stdout);
    assert_eq!(messages.len(), stdout.lines().count(), "{stdout}");
    let checks = with_reason(&messages, "doctor-check");
    let names: Vec<&str> = checks
        .iter()
        .map(|check| check["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "cargo",
            "rustup",
            "WASI target",
            "wasmedge",
            "embedded engine",
            "C for wasm",
            "JS toolchain"
        ]
    );
    for check in &checks {
        let status = check["status"].as_str().unwrap();
        assert!(["ok", "warn", "error"].contains(&status), "{check}");
        assert!(check["detail"].is_string(), "{check}");
        assert_eq!(check.get("help").is_some(), status != "ok", "{check}");
    }
    // No WasmEdge in the sandbox: optional beside the embedded engine, with its fix.
    let wasmedge = checks
        .iter()
        .find(|check| check["name"] == "wasmedge")
        .unwrap();
    assert_eq!(wasmedge["status"], "warn", "{wasmedge}");
    assert!(wasmedge["help"].as_str().unwrap().contains("install.sh"));
    // The same report for people, on stderr.
    assert!(stderr.contains("✓ cargo"), "{stderr}");
    assert!(stderr.contains("! wasmedge"), "{stderr}");
}

#[test]
fn templates_as_json_messages() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .cmd()
        .args(["templates", "--message-format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = stdout_of(&output);
    let messages = json_messages(&stdout);
    assert_eq!(messages.len(), stdout.lines().count(), "{stdout}");
    let poll = messages
        .iter()
        .find(|message| message["reason"] == "template" && message["name"] == "poll")
        .expect("the poll template");
    assert!(poll["description"].as_str().unwrap().len() > 10, "{poll}");
    assert_eq!(poll["aliases"][0], "poll-server", "{poll}");
    assert_eq!(poll["js"], false);
    let plain = sandbox.cmd().arg("templates").output().unwrap();
    assert!(stderr_of(&output).contains(stdout_of(&plain).lines().next().unwrap()));
}
