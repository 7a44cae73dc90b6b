//! `build`: target detection and its refusal, binary choice, and `--aot` through WasmEdge
//! with its cache record.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::*;

const HELLO: &str = "fn main() { println!(\"hello\"); }\n";

fn build(sandbox: &Sandbox, project: &Path, extra: &[&str]) -> std::process::Output {
    build_by(sandbox, project, extra, None)
}

/// `build` as `cargo wasock build` runs it, with `$CARGO` naming `cargo` when given.
fn build_by(
    sandbox: &Sandbox,
    project: &Path,
    extra: &[&str],
    cargo: Option<&Path>,
) -> std::process::Output {
    let _lock = build_lock();
    let mut command = sandbox.cmd();
    if let Some(cargo) = cargo {
        command.env("CARGO", cargo);
    }
    command
        .current_dir(project)
        .arg("build")
        .args(extra)
        .arg("--target-dir")
        .arg(shared_target_dir())
        .output()
        .unwrap()
}

/// A toolchain without any WASI standard library: its `bin/cargo`, which hands over to the
/// real cargo. As `$CARGO` (which cargo sets for `cargo wasock`), it makes the target look
/// missing to `build`, which then asks rustup.
fn toolchain_without_wasi(sandbox: &Sandbox) -> PathBuf {
    let root = sandbox.root.path().join("toolchain");
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("lib/rustlib/x86_64-unknown-linux-gnu/lib")).unwrap();
    let real = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let cargo = root.join("bin/cargo");
    fs::write(&cargo, format!("#!/bin/sh\nexec '{real}' \"$@\"\n")).unwrap();
    make_executable(&cargo);
    cargo
}

fn compile_invocations(fake: &FakeWasmEdge) -> Vec<Vec<String>> {
    fake.work_invocations()
        .into_iter()
        .filter(|args| args[0] == "compile")
        .collect()
}

#[test]
fn aot_compiles_with_wasmedge_and_skips_an_unchanged_module() {
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_wasmedge("0.17.1");
    let project = minimal_project(&sandbox.work(), "aot-cache", HELLO, "");

    let first = build(&sandbox, &project, &["--aot"]);
    let stderr = stderr_of(&first);
    assert!(first.status.success(), "{stderr}");
    let module = printed_path(&stderr, "Built");
    let aot = printed_path(&stderr, "AOT");
    assert_eq!(aot, module.with_file_name("aot-cache.aot.wasm"));
    assert_eq!(
        compile_invocations(&fake),
        vec![vec![
            "compile".to_owned(),
            module.display().to_string(),
            aot.display().to_string()
        ]]
    );
    assert_eq!(
        fake.version_queries(),
        1,
        "wasmedge --version must be read once"
    );
    assert!(fs::read(&aot).unwrap().ends_with(b"aot-by-0.17.1"));
    assert!(aot
        .with_file_name("aot-cache.aot.wasm.wasock-cache.json")
        .is_file());

    fake.clear();
    let unchanged = build(&sandbox, &project, &["--aot"]);
    assert!(unchanged.status.success(), "{}", stderr_of(&unchanged));
    assert!(
        compile_invocations(&fake).is_empty(),
        "an unchanged module was compiled again"
    );
    assert!(
        stderr_of(&unchanged).contains("unchanged"),
        "{}",
        stderr_of(&unchanged)
    );

    // A changed module is compiled again.
    fs::write(
        project.join("src/main.rs"),
        "fn main() { println!(\"changed\"); }\n",
    )
    .unwrap();
    let changed = build(&sandbox, &project, &["--aot"]);
    assert!(changed.status.success(), "{}", stderr_of(&changed));
    assert_eq!(
        compile_invocations(&fake).len(),
        1,
        "a changed module was not recompiled"
    );

    // So is an unchanged module under another WasmEdge version.
    fake.clear();
    let newer = sandbox.fake_wasmedge("0.17.2");
    let upgraded = build(&sandbox, &project, &["--aot"]);
    assert!(upgraded.status.success(), "{}", stderr_of(&upgraded));
    assert_eq!(
        compile_invocations(&newer).len(),
        1,
        "a new WasmEdge version did not recompile"
    );
    assert!(fs::read(&aot).unwrap().ends_with(b"aot-by-0.17.2"));

    // And an output someone replaced.
    fake.clear();
    fs::write(&aot, b"tampered").unwrap();
    let repaired = build(&sandbox, &project, &["--aot"]);
    assert!(repaired.status.success(), "{}", stderr_of(&repaired));
    assert_eq!(
        compile_invocations(&newer).len(),
        1,
        "an edited output was trusted"
    );
}

#[test]
fn wasmedge_is_found_in_wasmedge_dir() {
    let sandbox = Sandbox::new();
    let install = sandbox.root.path().join("wasmedge-install");
    let fake = sandbox.fake_wasmedge_in(&install.join("bin"), "0.16.1");
    let project = minimal_project(&sandbox.work(), "aot-wasmedge-dir", HELLO, "");
    let _lock = build_lock();
    let output = sandbox
        .cmd()
        .current_dir(&project)
        .env("WASMEDGE_DIR", &install)
        .args(["build", "--aot", "--target-dir"])
        .arg(shared_target_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(compile_invocations(&fake).len(), 1);
    assert!(
        stderr_of(&output).contains("WasmEdge 0.16.1"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn several_binaries_need_a_choice_and_bin_picks_one() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "two-bins", HELLO, "");
    fs::create_dir_all(project.join("src/bin")).unwrap();
    fs::write(project.join("src/bin/other.rs"), HELLO).unwrap();

    let ambiguous = build(&sandbox, &project, &[]);
    let stderr = stderr_of(&ambiguous);
    assert!(!ambiguous.status.success());
    assert!(stderr.contains("cargo built several binaries: `other` (package `two-bins`), `two-bins` (package `two-bins`)") || stderr.contains("cargo built several binaries: `two-bins` (package `two-bins`), `other` (package `two-bins`)"), "{stderr}");
    assert!(
        stderr.contains("help: pick one with `--bin NAME`"),
        "{stderr}"
    );

    let chosen = build(&sandbox, &project, &["--bin", "other"]);
    assert!(chosen.status.success(), "{}", stderr_of(&chosen));
    let module = printed_path(&stderr_of(&chosen), "Built");
    assert_eq!(module.file_name().unwrap(), "other.wasm");
    assert!(is_wasm_module(&module));
}

#[test]
fn compile_errors_are_shown_as_cargo_renders_them() {
    let sandbox = Sandbox::new();
    let project = minimal_project(
        &sandbox.work(),
        "broken-app",
        "fn main() { let x: u8 = \"no\"; }\n",
        "",
    );
    let output = build(&sandbox, &project, &[]);
    let stderr = stderr_of(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("error[E0308]: mismatched types"),
        "{stderr}"
    );
    assert!(stderr.contains("src/main.rs:1"), "{stderr}");
    assert!(
        stderr.contains("help: fix the errors cargo reported above"),
        "{stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "stdout is reserved: {}",
        stdout_of(&output)
    );
}

/// A `rustc` that reports `version` and a sysroot without any WASI standard library.
fn fake_rustc(sandbox: &Sandbox, version: &str) -> PathBuf {
    let sysroot = sandbox.root.path().join("sysroot");
    fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu/lib")).unwrap();
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n  --version) echo 'rustc {version} (0000000 2026-01-01)';;\n  --print) echo '{}';;\n  *) exit 1;;\nesac\n",
        sysroot.display()
    );
    let path = sandbox.bin().join("rustc");
    fs::write(&path, script).unwrap();
    make_executable(&path);
    sandbox.bin()
}

#[test]
fn a_missing_target_without_rustup_is_refused_with_the_command() {
    // PATH holds only the fake rustc and the system folders: no rustup, no cargo.
    for (version, triple) in [("1.95.0", "wasm32-wasip1"), ("1.77.2", "wasm32-wasi")] {
        let sandbox = Sandbox::new();
        let bin = fake_rustc(&sandbox, version);
        let project = minimal_project(&sandbox.work(), "no-target", HELLO, "");
        let before = listing(&sandbox.work());
        let output = sandbox
            .cmd()
            .current_dir(&project)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("CARGO", toolchain_without_wasi(&sandbox))
            .arg("build")
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert!(!output.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!("the WASI target `{triple}` is not installed for rustc {version}, and rustup was not found")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("help: run `rustup target add {triple}`")),
            "{stderr}"
        );
        assert_eq!(
            listing(&sandbox.work()),
            before,
            "a refused build wrote something"
        );
    }
}

#[test]
fn quiet_builds_say_nothing_and_print_only_the_module_on_stdout() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "quiet-app", HELLO, "");
    let _lock = build_lock();
    let output = sandbox
        .cmd()
        .current_dir(&project)
        .args(["-q", "build", "--target-dir"])
        .arg(shared_target_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stderr_of(&output), "");
    let stdout = stdout_of(&output);
    let module = PathBuf::from(stdout.strip_suffix('\n').expect("one line"));
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    assert!(module.is_absolute(), "{stdout:?}");
    assert_eq!(module.file_name().unwrap(), "quiet-app.wasm");
    assert!(is_wasm_module(&module), "{stdout:?}");
}

#[test]
fn building_outside_a_project_is_refused_with_one_error_and_the_ways_out() {
    let sandbox = Sandbox::new();
    for command in ["build", "run"] {
        let output = assert_refused_writing_nothing(&sandbox, &sandbox.work(), &[command], &[]);
        assert_eq!(output.status.code(), Some(1));
        let stderr = stderr_of(&output).replace(&sandbox.work().display().to_string(), "[WORK]");
        insta::assert_snapshot!("outside_a_project", stderr);
    }
}

#[test]
fn a_broken_manifest_is_one_error_with_cargos_words() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "broken", HELLO, "garbage[\n");
    let output = assert_refused_writing_nothing(&sandbox, &project, &["build"], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(!stderr.contains("\n\n"), "a stray blank line:\n{stderr}");
    assert!(
        stderr.starts_with("error: could not read the cargo project in the current directory: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("Cargo.toml:"),
        "cargo's snippet is kept:\n{stderr}"
    );
    assert!(
        stderr.ends_with("help: fix what cargo reports above, then try again\n"),
        "{stderr}"
    );
}

#[test]
fn a_missing_manifest_path_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let missing = sandbox.work().join("nowhere/Cargo.toml");
    let output = assert_refused_writing_nothing(
        &sandbox,
        &sandbox.work(),
        &["build", "--manifest-path", missing.to_str().unwrap()],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_of(&output),
        format!(
            "error: the manifest `{}` does not exist\nhelp: pass `--manifest-path` the path of a project's Cargo.toml\n",
            missing.display()
        )
    );
}

/// A `rustup` that lists no WASI target and records what it is asked to do.
fn fake_rustup(sandbox: &Sandbox, add_succeeds: bool) -> PathBuf {
    let log = sandbox.root.path().join("rustup.log");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{}'\nif [ \"$1 $2\" = \"target list\" ]; then echo x86_64-unknown-linux-gnu; exit 0; fi\n\
if [ \"$1 $2\" = \"target add\" ]; then {}; fi\nexit 1\n",
        log.display(),
        if add_succeeds { "echo 'info: component installed' >&2; exit 0" } else { "echo 'error: no network' >&2; exit 1" }
    );
    let path = sandbox.bin().join("rustup");
    fs::write(&path, script).unwrap();
    make_executable(&path);
    log
}

#[test]
fn a_missing_target_is_installed_with_rustup_saying_so() {
    let sandbox = Sandbox::new();
    let log = fake_rustup(&sandbox, true);
    let cargo = toolchain_without_wasi(&sandbox);
    let project = minimal_project(&sandbox.work(), "installs-target", HELLO, "");
    let output = build_by(&sandbox, &project, &[], Some(&cargo));
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("Installing the WASI target with `rustup target add wasm32-wasip1`"),
        "{stderr}"
    );
    let calls = fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        ["target list --installed", "target add wasm32-wasip1"]
    );
}

/// A project built before starts cargo before the toolchain has answered; when the answer
/// is "no target", that build's output is dropped and the careful way installs the target
/// and builds again, showing one build.
#[test]
fn a_target_missing_under_a_project_built_before_is_still_installed() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "built-before", HELLO, "");
    let first = build(&sandbox, &project, &[]);
    assert!(first.status.success(), "{}", stderr_of(&first));
    assert!(project.join("Cargo.lock").is_file());
    let log = fake_rustup(&sandbox, true);
    let cargo = toolchain_without_wasi(&sandbox);
    let output = build_by(&sandbox, &project, &[], Some(&cargo));
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("Installing the WASI target with `rustup target add wasm32-wasip1`"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("Finished").count(), 1, "{stderr}");
    let calls = fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        [
            "target list --installed",
            "target list --installed",
            "target add wasm32-wasip1"
        ]
    );
}

/// Run by cargo (`$CARGO` is the toolchain's own cargo, here the real one, which has the
/// target), `build` asks the toolchain nothing: its sysroot says the target is there. The
/// checks would otherwise cost as much as a no-op build (issue 7 §8).
#[test]
fn run_by_cargo_with_the_target_installed_build_asks_rustup_nothing() {
    let sandbox = Sandbox::new();
    let log = fake_rustup(&sandbox, true);
    let project = minimal_project(&sandbox.work(), "asks-nothing", HELLO, "");
    let cargo = std::env::var("CARGO").expect("cargo test sets CARGO");
    let output = build_by(&sandbox, &project, &[], Some(Path::new(&cargo)));
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(fs::read_to_string(&log).unwrap_or_default(), "");
}

#[test]
fn a_failed_target_install_names_the_command() {
    let sandbox = Sandbox::new();
    fake_rustup(&sandbox, false);
    let cargo = toolchain_without_wasi(&sandbox);
    let project = minimal_project(&sandbox.work(), "install-fails", HELLO, "");
    let before = listing(&sandbox.work());
    let output = build_by(&sandbox, &project, &[], Some(&cargo));
    let stderr = stderr_of(&output);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("error: `rustup target add wasm32-wasip1` failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: run `rustup target add wasm32-wasip1` yourself"),
        "{stderr}"
    );
    assert_eq!(listing(&sandbox.work()), before);
}

#[test]
fn invalid_package_metadata_is_reported_with_its_manifest() {
    let sandbox = Sandbox::new();
    sandbox.fake_wasmedge("0.17.1");
    let project = minimal_project(
        &sandbox.work(),
        "bad-metadata",
        HELLO,
        "[package.metadata.wasock]\nport = \"soon\"\n",
    );
    let _lock = build_lock();
    let output = sandbox
        .cmd()
        .current_dir(&project)
        .args(["run", "--target-dir"])
        .arg(shared_target_dir())
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "invalid [package.metadata.wasock] in `{}`",
            project.join("Cargo.toml").display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("help: expected `port = 1234`"), "{stderr}");
}

#[test]
fn progress_is_plain_lines_off_a_terminal_and_a_bar_on_one() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "progress-app", HELLO, "");
    let target_dir = sandbox.root.path().join("own-target");

    let _lock = build_lock();
    let plain = sandbox
        .cmd()
        .current_dir(&project)
        .args(["build", "--target-dir"])
        .arg(&target_dir)
        .output()
        .unwrap();
    let stderr = stderr_of(&plain);
    assert!(plain.status.success(), "{stderr}");
    assert!(stderr.contains("Compiling progress-app v0.1.0"), "{stderr}");
    assert!(
        !stderr.contains('\r') && !stderr.contains('\x1b'),
        "terminal control codes off a terminal:\n{stderr:?}"
    );

    // On a pseudo-terminal (from `script`) the bar is drawn: `Building [...] N/M`.
    fs::write(
        project.join("src/main.rs"),
        "fn main() { println!(\"again\"); }\n",
    )
    .unwrap();
    let line = format!(
        "exec {} build --target-dir {}",
        cli_path().display(),
        target_dir.display()
    );
    let mut script = sandbox.on_terminal(&project, &line);
    let on_tty = script
        .env_remove("NO_COLOR")
        .output()
        .expect("`script` (util-linux) runs");
    let shown = String::from_utf8_lossy(&on_tty.stdout);
    assert!(on_tty.status.success(), "{shown}");
    assert!(shown.contains("Building"), "{shown}");
    assert!(shown.contains("1/1"), "no N/M counter:\n{shown}");
}

#[test]
fn message_format_json_passes_cargos_messages_through_and_adds_the_artifact() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "json-app", HELLO, "");
    let output = build(&sandbox, &project, &["--message-format", "json"]);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    // Human status is unchanged, on stderr.
    assert!(stderr.contains("Built "), "{stderr}");
    let stdout = stdout_of(&output);
    // Every line on stdout is a message: the module's bare path is not printed.
    assert!(
        stdout.lines().all(|line| line.starts_with("{\"reason\":")),
        "{stdout}"
    );
    let messages = json_messages(&stdout);
    let compiled: Vec<_> = with_reason(&messages, "compiler-artifact")
        .into_iter()
        .filter(|message| message["target"]["name"] == "json-app")
        .collect();
    assert_eq!(compiled.len(), 1, "{stdout}");
    assert_eq!(with_reason(&messages, "build-finished")[0]["success"], true);
    let artifact = with_reason(&messages, "artifact");
    assert_eq!(artifact.len(), 1, "{stdout}");
    let module = PathBuf::from(artifact[0]["path"].as_str().expect("a path"));
    assert_eq!(module.file_name().unwrap(), "json-app.wasm");
    assert!(is_wasm_module(&module));
    assert_eq!(artifact[0]["profile"], "dev");
    assert_eq!(artifact[0]["target"], "wasm32-wasip1");
    // Ours come after cargo's.
    assert_eq!(messages.last().unwrap()["reason"], "artifact");
}
