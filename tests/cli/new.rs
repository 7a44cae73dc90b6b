//! `new` and `templates`: every template scaffolds and builds; every refusal writes nothing.

use std::fs;

use crate::support::*;

#[test]
fn templates_are_listed_with_descriptions_and_aliases() {
    let sandbox = Sandbox::new();
    let listed = sandbox.cmd().arg("templates").output().unwrap();
    assert!(listed.status.success(), "{}", stderr_of(&listed));
    let stdout = stdout_of(&listed);
    for name in ["client", "server", "poll"] {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{stdout}"));
        assert!(
            line.len() > name.len() + 10,
            "no description for {name}: {line:?}"
        );
    }
    assert!(stdout.contains("alias: poll-server"), "{stdout}");
    let via_new = sandbox.cmd().args(["new", "--list"]).output().unwrap();
    assert_eq!(stdout_of(&via_new), stdout);
}

#[test]
fn every_template_scaffolds_and_builds_to_a_wasm_module() {
    let sandbox = Sandbox::new();
    let target_dir = shared_target_dir();
    for (index, template) in ["client", "server", "poll-server"].into_iter().enumerate() {
        let name = format!("app-{index}-{}", template.replace('-', ""));
        let created = sandbox
            .cmd()
            .args(["new", &name, "--template", template, "--port", "4321"])
            .output()
            .unwrap();
        assert!(
            created.status.success(),
            "new --template {template}: {}",
            stderr_of(&created)
        );
        let project = sandbox.work().join(&name);
        for file in ["Cargo.toml", "src/main.rs", "README.md"] {
            assert!(project.join(file).is_file(), "{template}: {file} missing");
        }
        let manifest = fs::read_to_string(project.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{manifest}"
        );
        assert!(manifest.contains("[package.metadata.wasock]"), "{manifest}");
        assert!(manifest.contains("path = \"vendor/wasock-"), "{manifest}");
        assert!(!manifest.contains("git ="), "{manifest}");
        let vendored: Vec<_> = fs::read_dir(project.join("vendor"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(vendored.len(), 1);
        assert!(
            vendored[0].path().join("Cargo.toml").is_file()
                && vendored[0].path().join("src/lib.rs").is_file()
        );
        // Only what a build needs: the library's own tests and fuzz checks stay home.
        let extra: Vec<_> = listing(&vendored[0].path())
            .into_iter()
            .filter(|path| {
                let text = path.to_string_lossy();
                text.contains("test") || text.contains("fuzz")
            })
            .collect();
        assert!(extra.is_empty(), "vendored beyond the build: {extra:?}");
        // The default port has one home: the app's code. The manifest does not repeat it.
        let main_rs = fs::read_to_string(project.join("src/main.rs")).unwrap();
        assert!(
            main_rs.contains(":4321/") || main_rs.contains("DEFAULT_PORT: u16 = 4321;"),
            "--port not written into {template}'s src/main.rs:\n{main_rs}"
        );
        assert!(!manifest.contains("port ="), "{manifest}");
        let gitignore = fs::read_to_string(project.join(".gitignore")).unwrap();
        assert!(gitignore.lines().any(|line| line == ".env"), "{gitignore}");
        let leftovers: Vec<_> = listing(&sandbox.work())
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(".wasock-new-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        let _lock = build_lock();
        let built = sandbox
            .cmd()
            .current_dir(&project)
            .arg("build")
            .arg("--target-dir")
            .arg(&target_dir)
            .output()
            .unwrap();
        let stderr = stderr_of(&built);
        assert!(
            built.status.success(),
            "build of {template} failed:\n{stderr}"
        );
        // Generated apps (and the vendored library, compiled afresh per project) must build
        // for wasm32-wasip1 without a single warning; `build` forwards rustc's diagnostics.
        assert!(
            !stderr.contains("warning"),
            "build of {template} has warnings:\n{stderr}"
        );
        let artifact = printed_path(&stderr, "Built");
        assert!(
            artifact.starts_with(target_dir.join("wasm32-wasip1")),
            "{}",
            artifact.display()
        );
        assert_eq!(
            artifact.file_name().unwrap().to_string_lossy(),
            format!("{name}.wasm")
        );
        assert!(
            is_wasm_module(&artifact),
            "{} is not a wasm module",
            artifact.display()
        );

        // The project's own test runs natively with plain cargo.
        let native =
            std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .current_dir(&project)
                .arg("test")
                .arg("--target-dir")
                .arg(target_dir.join("native"))
                .output()
                .unwrap();
        assert!(
            native.status.success(),
            "`cargo test` of the {template} project failed:\n{}{}",
            stdout_of(&native),
            stderr_of(&native)
        );
    }
}

#[test]
fn new_fills_an_existing_empty_directory_given_with_path() {
    let sandbox = Sandbox::new();
    let destination = sandbox.work().join("nested/dir");
    fs::create_dir_all(&destination).unwrap();
    let created = sandbox
        .cmd()
        .args(["new", "inplace", "--template", "server", "--path"])
        .arg(&destination)
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr_of(&created));
    assert!(destination.join("Cargo.toml").is_file());
    // Without --port, the app's default port is the one the READMEs show.
    let main_rs = fs::read_to_string(destination.join("src/main.rs")).unwrap();
    assert!(
        main_rs.contains("const DEFAULT_PORT: u16 = 8080;"),
        "{main_rs}"
    );
    let readme = fs::read_to_string(destination.join("README.md")).unwrap();
    assert!(readme.contains("http://127.0.0.1:8080/"), "{readme}");
    assert_eq!(
        fs::read_dir(sandbox.work().join("nested")).unwrap().count(),
        1,
        "staging directory left behind"
    );
}

#[test]
fn bad_names_are_refused() {
    let sandbox = Sandbox::new();
    let cases: &[(&str, &str)] = &[
        ("1app", "starts with a digit"),
        ("my app", "invalid character ` `"),
        ("fn", "is a Rust keyword"),
        ("test", "is reserved"),
        ("std", "is reserved"),
        ("wasock", "is reserved"),
    ];
    for (name, message) in cases {
        let output = assert_refused_writing_nothing(
            &sandbox,
            &sandbox.work(),
            &["new", name],
            &[message, "help:"],
        );
        assert_eq!(output.status.code(), Some(2), "{name}: an argument error");
    }
}

#[test]
fn an_existing_non_empty_directory_is_refused_and_untouched() {
    let sandbox = Sandbox::new();
    let existing = sandbox.work().join("taken");
    fs::create_dir_all(&existing).unwrap();
    fs::write(existing.join("notes.txt"), "keep me").unwrap();
    assert_refused_writing_nothing(
        &sandbox,
        &sandbox.work(),
        &["new", "taken"],
        &[
            "`taken` already exists and is not empty",
            "help: choose another name",
        ],
    );
    assert_eq!(
        fs::read_to_string(existing.join("notes.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn an_unknown_template_is_a_usage_error_with_the_closest_name() {
    let sandbox = Sandbox::new();
    let output = assert_refused_writing_nothing(
        &sandbox,
        &sandbox.work(),
        &["new", "fine", "--template", "pol"],
        &[],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "as clap's own argument errors"
    );
    insta::assert_snapshot!("new_unknown_template", stderr_of(&output));
}

#[test]
fn an_invalid_port_is_refused() {
    let sandbox = Sandbox::new();
    for port in ["0", "70000", "http"] {
        assert_refused_writing_nothing(
            &sandbox,
            &sandbox.work(),
            &["new", "fine", "--port", port],
            &["invalid value", "--port"],
        );
    }
}

#[test]
fn new_fills_the_current_directory_when_it_is_empty() {
    let sandbox = Sandbox::new();
    let here = sandbox.work().join("here");
    fs::create_dir_all(&here).unwrap();
    let created = sandbox
        .cmd()
        .current_dir(&here)
        .args(["new", "here-app", "--path", "."])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr_of(&created));
    assert!(here.join("Cargo.toml").is_file() && here.join("src/main.rs").is_file());
    let hidden: Vec<_> = listing(&here)
        .into_iter()
        .filter(|path| path.to_string_lossy().contains(".wasock-new-"))
        .collect();
    assert!(hidden.is_empty(), "staging left behind: {hidden:?}");
}

/// `path` below the sandbox's work folder, for snapshots that must not hold temp paths.
fn redacted(text: &str, sandbox: &Sandbox) -> String {
    text.replace(&sandbox.work().display().to_string(), "[WORK]")
}

#[test]
fn new_says_what_it_made_and_what_to_run_next() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .cmd()
        .args(["new", "hello", "--template", "poll"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "");
    insta::assert_snapshot!("new_created", redacted(&stderr_of(&output), &sandbox));

    // The quick start run a second time: the project is there, and the message says how
    // to use it.
    let again = assert_refused_writing_nothing(
        &sandbox,
        &sandbox.work(),
        &["new", "hello", "--template", "poll"],
        &[],
    );
    assert_eq!(again.status.code(), Some(1));
    insta::assert_snapshot!("new_twice", redacted(&stderr_of(&again), &sandbox));
}

fn git(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("run git")
}

#[test]
fn new_initialises_git_unless_inside_a_repository_or_told_not_to() {
    let sandbox = Sandbox::new();
    let created = sandbox.cmd().args(["new", "alone"]).output().unwrap();
    assert!(created.status.success(), "{}", stderr_of(&created));
    let project = sandbox.work().join("alone");
    assert!(
        project.join(".git").is_dir(),
        "no repository in a new project"
    );
    let status = git(
        &project,
        &["status", "--porcelain", "--untracked-files=all"],
    );
    assert!(status.status.success());
    let untracked = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(untracked.contains("?? Cargo.toml"), "{untracked}");
    assert!(untracked.contains("?? src/main.rs"), "{untracked}");

    let outer = sandbox.work().join("monorepo");
    fs::create_dir_all(&outer).unwrap();
    assert!(git(&outer, &["init", "--quiet"]).status.success());
    let nested = sandbox
        .cmd()
        .current_dir(&outer)
        .args(["new", "member"])
        .output()
        .unwrap();
    assert!(nested.status.success(), "{}", stderr_of(&nested));
    assert!(outer.join("member/Cargo.toml").is_file());
    assert!(
        !outer.join("member/.git").exists(),
        "a repository inside a repository"
    );

    let skipped = sandbox
        .cmd()
        .args(["new", "plain", "--vcs", "none"])
        .output()
        .unwrap();
    assert!(skipped.status.success(), "{}", stderr_of(&skipped));
    assert!(sandbox.work().join("plain/Cargo.toml").is_file());
    assert!(!sandbox.work().join("plain/.git").exists());
}

#[test]
fn init_makes_an_existing_package_a_wasock_app_without_touching_its_code() {
    // Issue 24: a user who starts from their own crate. The package is not one of ours: a
    // comment and a dependency of the user's in its manifest, its own .gitignore, and code
    // that uses wasock the way the README shows.
    let sandbox = Sandbox::new();
    let main_rs = "fn main() {\n    let port = wasock::port_from_env(8080).unwrap_or(8080);\n    println!(\"port {port}\");\n}\n";
    let project = minimal_project(
        &sandbox.work(),
        "mine",
        main_rs,
        "# my own settings\n[features]\nextra = []\n",
    );
    fs::write(project.join(".gitignore"), "/target\nnotes.txt").unwrap();
    let manifest_before = fs::read_to_string(project.join("Cargo.toml")).unwrap();

    let output = sandbox
        .cmd()
        .current_dir(&project)
        .arg("init")
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("Added `wasock = { path = \"vendor/wasock-"),
        "{stderr}"
    );
    assert!(stderr.contains("Vendored wasock "), "{stderr}");
    assert!(
        stderr.contains("Added [package.metadata.wasock]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Added *.aot.wasm, .env to .gitignore"),
        "{stderr}"
    );

    assert_eq!(
        fs::read_to_string(project.join("src/main.rs")).unwrap(),
        main_rs
    );
    let manifest = fs::read_to_string(project.join("Cargo.toml")).unwrap();
    for line in manifest_before.lines() {
        assert!(manifest.contains(line), "lost {line:?}:\n{manifest}");
    }
    let parsed: toml::Table = manifest.parse().unwrap();
    assert!(
        parsed["package"]["metadata"]["wasock"].is_table(),
        "{manifest}"
    );
    let gitignore = fs::read_to_string(project.join(".gitignore")).unwrap();
    assert!(gitignore.starts_with("/target\nnotes.txt\n"), "{gitignore}");
    assert_eq!(gitignore.matches("/target").count(), 1, "{gitignore}");

    // The package now builds for WASI with the vendored library.
    let built = {
        let _lock = build_lock();
        sandbox
            .cmd()
            .current_dir(&project)
            .args(["build", "--quiet", "--target-dir"])
            .arg(shared_target_dir())
            .output()
            .unwrap()
    };
    assert!(built.status.success(), "{}", stderr_of(&built));
    assert!(is_wasm_module(std::path::Path::new(
        stdout_of(&built).trim()
    )));

    // Again: nothing is added, nothing is rewritten.
    let again = sandbox
        .cmd()
        .current_dir(&project)
        .arg("init")
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr_of(&again));
    assert!(
        stderr_of(&again).contains("Nothing to add"),
        "{}",
        stderr_of(&again)
    );
    assert_eq!(
        fs::read_to_string(project.join("Cargo.toml")).unwrap(),
        manifest
    );
    assert_eq!(
        fs::read_to_string(project.join(".gitignore")).unwrap(),
        gitignore
    );
}

#[test]
fn init_refuses_where_there_is_no_package_writing_nothing() {
    let sandbox = Sandbox::new();
    let empty = sandbox.work().join("empty");
    fs::create_dir_all(&empty).unwrap();
    assert_refused_writing_nothing(
        &sandbox,
        &empty,
        &["init"],
        &[
            "error: there is no `Cargo.toml`",
            "help: run `cargo init` first",
        ],
    );
    let workspace = sandbox.work().join("ws");
    fs::create_dir_all(&workspace).unwrap();
    fs::write(workspace.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
    assert_refused_writing_nothing(
        &sandbox,
        &workspace,
        &["init"],
        &[
            "has no [package]",
            "help: run `cargo wasock init` in the package's directory",
        ],
    );
    fs::write(workspace.join("Cargo.toml"), "[package\nname = 1").unwrap();
    assert_refused_writing_nothing(
        &sandbox,
        &workspace,
        &["init"],
        &["is not valid TOML", "help: fix the manifest"],
    );
}
