//! Rebuild the CLI when the embedded templates or runtime library change.
//!
//! `include_dir!` does not tell cargo which files it read, so without these lines an edited
//! template would silently keep its old embedded copy.

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let workspace = manifest_dir
        .parent()
        .expect("cli/ lives inside the workspace")
        .to_path_buf();

    // A developer may point at a scratch copy of the templates while editing them elsewhere.
    println!("cargo:rerun-if-env-changed=WASOCK_TEMPLATES_DIR");
    let templates = match std::env::var_os("WASOCK_TEMPLATES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace.join("templates"),
    };
    println!("cargo:rerun-if-changed={}", templates.display());
    println!(
        "cargo:rustc-env=WASOCK_TEMPLATES_DIR={}",
        templates.display()
    );

    let runtime = workspace.join("runtime-lib");
    println!(
        "cargo:rerun-if-changed={}",
        runtime.join("Cargo.toml").display()
    );
    println!("cargo:rerun-if-changed={}", runtime.join("src").display());
    let readme = runtime.join("README.md");
    println!("cargo:rerun-if-changed={}", readme.display());

    // The JavaScript runtime's source, built by `run --js` (see src/js.rs).
    let js_runtime = workspace.join("js-runtime");
    for file in ["Cargo.toml", "Cargo.lock", "src"] {
        println!("cargo:rerun-if-changed={}", js_runtime.join(file).display());
    }

    // include_str! needs a file that exists, and the README is optional.
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let readme_text = std::fs::read_to_string(&readme).unwrap_or_default();
    std::fs::write(out_dir.join("runtime-readme.md"), readme_text).expect("OUT_DIR is writable");
}
