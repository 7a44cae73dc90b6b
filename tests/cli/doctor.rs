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
