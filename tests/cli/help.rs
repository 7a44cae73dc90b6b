//! Invocation conventions and help texts.

use crate::support::*;

#[test]
fn works_as_a_cargo_subcommand_and_directly() {
    let sandbox = Sandbox::new();
    for args in [&["wasock", "--version"][..], &["--version"][..]] {
        let output = sandbox.cmd().args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        assert!(
            stdout_of(&output).starts_with("cargo-wasock 0."),
            "{}",
            stdout_of(&output)
        );
    }
}

#[test]
fn cargo_finds_it_as_the_wasock_subcommand() {
    let sandbox = Sandbox::new();
    let cli_dir = cli_path().parent().unwrap().to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![cli_dir];
    dirs.extend(std::env::split_paths(&path));
    let output =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["wasock", "templates"])
            .current_dir(sandbox.work())
            .env("PATH", std::env::join_paths(dirs).unwrap())
            .output()
            .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stdout_of(&output).contains("poll"),
        "{}",
        stdout_of(&output)
    );
}

#[test]
fn every_subcommand_explains_itself_with_examples() {
    let sandbox = Sandbox::new();
    for (command, needle) in [
        ("new", "cargo wasock new hello --template poll"),
        ("init", "cargo init --name api && cargo wasock init"),
        ("package", "An image is built to ship, so it is built with the release profile"),
        ("push", "The image is built with the release profile"),
        ("build", "cargo wasock build --release --aot"),
        ("run", "wasmedge [--dir GUEST:HOST[:readonly]]... [--env KEY=VALUE]... [--run-mode=aot] MODULE [ARGS]..."),
        ("doctor", "cargo wasock doctor"),
        ("templates", "cargo wasock templates"),
        ("cache", "cargo wasock cache clean"),
        ("watch", "cargo wasock watch --port 8080"),
    ] {
        let output = sandbox.cmd().args(["wasock", command, "--help"]).output().unwrap();
        assert!(output.status.success());
        let stdout = stdout_of(&output);
        assert!(stdout.contains(needle), "`{command} --help` lacks {needle:?}:\n{stdout}");
    }
}

/// The quick start shows what happens: `run` builds, and compiled code is reused without
/// a separate `build --aot` step.
#[test]
fn the_quick_start_in_help_runs_without_a_separate_aot_step() {
    let sandbox = Sandbox::new();
    let output = sandbox.cmd().arg("--help").output().unwrap();
    assert!(output.status.success());
    let stdout = stdout_of(&output);
    let quick_start = &stdout[stdout.find("Quick start:").expect("a quick start")..];
    insta::assert_snapshot!("help_quick_start", quick_start);
}
