//! `cache`: where compiled code lives (XDG), how much there is, and clearing only our entries.

use std::fs;
use std::path::PathBuf;

use crate::support::*;

fn cache_dir_printed(sandbox: &Sandbox, env: &[(&str, &str)]) -> PathBuf {
    let mut command = sandbox.cmd();
    command.args(["cache", "dir"]);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    PathBuf::from(stdout_of(&output).trim_end())
}

#[test]
fn the_cache_lives_in_the_users_xdg_cache_directory() {
    let sandbox = Sandbox::new();
    assert_eq!(cache_dir_printed(&sandbox, &[]), sandbox.cache_dir());
    let xdg = sandbox.root.path().join("xdg-cache");
    assert_eq!(
        cache_dir_printed(&sandbox, &[("XDG_CACHE_HOME", xdg.to_str().unwrap())]),
        xdg.join("cargo-wasock")
    );
    let chosen = sandbox.root.path().join("chosen");
    assert_eq!(
        cache_dir_printed(
            &sandbox,
            &[
                ("XDG_CACHE_HOME", xdg.to_str().unwrap()),
                ("CARGO_WASOCK_CACHE_DIR", chosen.to_str().unwrap())
            ]
        ),
        chosen
    );
}

#[test]
fn clean_removes_compiled_modules_and_nothing_else() {
    let sandbox = Sandbox::new();
    let engine = sandbox.cache_dir().join("engine");
    let wasmedge = sandbox.cache_dir().join("wasmedge");
    fs::create_dir_all(&engine).unwrap();
    fs::create_dir_all(&wasmedge).unwrap();
    fs::write(
        engine.join(format!("{}.cwasm", "a".repeat(64))),
        vec![0u8; 2048],
    )
    .unwrap();
    fs::write(
        wasmedge.join(format!("{}.aot.wasm", "b".repeat(64))),
        vec![0u8; 1024],
    )
    .unwrap();
    fs::write(
        wasmedge.join(format!("{}.aot.wasm.wasock-cache.json", "b".repeat(64))),
        "{}",
    )
    .unwrap();
    fs::write(engine.join("notes.txt"), "not ours").unwrap();

    let size = sandbox.cmd().args(["cache", "size"]).output().unwrap();
    assert!(size.status.success(), "{}", stderr_of(&size));
    assert_eq!(
        stdout_of(&size),
        "embedded engine  1 modules, 2.0 KiB\nwasmedge         1 modules, 1.0 KiB\n"
    );

    let cleaned = sandbox.cmd().args(["cache", "clean"]).output().unwrap();
    assert!(cleaned.status.success(), "{}", stderr_of(&cleaned));
    assert_eq!(stdout_of(&cleaned), "");
    assert!(
        stderr_of(&cleaned).contains(&format!(
            "Removed 2 compiled modules (3.0 KiB) from {}",
            sandbox.cache_dir().display()
        )),
        "{}",
        stderr_of(&cleaned)
    );
    assert_eq!(
        listing(&sandbox.cache_dir()),
        [
            PathBuf::from("engine"),
            PathBuf::from("engine/notes.txt"),
            PathBuf::from("wasmedge")
        ]
    );
}
