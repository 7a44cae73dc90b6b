//! The C compiler cargo's build scripts use for the WASI target. Crates with C inside (ring,
//! which rustls and wasock's `tls` feature use) compile it with cc-rs, which reads
//! `CC_<target>`/`AR_<target>`; without them it tries a plain `clang` and fails with
//! `failed to find tool "clang"`. Debian and Ubuntu name it `clang-19` (with `llvm-ar-19`),
//! and its WebAssembly backend is all ring needs (no wasi-libc).

use std::path::PathBuf;

/// Compilers tried in order: Debian's versioned names first, then plain ones.
const CLANG_NAMES: &[&str] = &["clang-19", "clang-20", "clang-18", "clang"];
const AR_NAMES: &[&str] = &["llvm-ar-19", "llvm-ar-20", "llvm-ar-18", "llvm-ar"];
/// The Debian/Ubuntu packages with clang-19 and llvm-ar-19.
pub const APT_PACKAGES: &str = "clang-19 llvm-19";

/// clang and llvm-ar on PATH, if both are there.
pub fn find() -> Option<(PathBuf, PathBuf)> {
    let first = |names: &[&str]| names.iter().find_map(|name| which::which(name).ok());
    Some((first(CLANG_NAMES)?, first(AR_NAMES)?))
}

/// `CC_<target>` and `AR_<target>` for cargo, each unless the user set it (under either
/// spelling cc-rs reads, or as `TARGET_CC`/`TARGET_AR`); empty when no clang is found.
pub fn wasi_env(triple: &str) -> Vec<(String, String)> {
    let Some((clang, ar)) = find() else {
        return Vec::new();
    };
    let suffix = triple.replace('-', "_");
    let user_set = |tool: &str| {
        [
            format!("{tool}_{suffix}"),
            format!("{tool}_{triple}"),
            format!("TARGET_{tool}"),
        ]
        .iter()
        .any(|key| std::env::var_os(key).is_some_and(|value| !value.is_empty()))
    };
    let mut env = Vec::new();
    if !user_set("CC") {
        env.push((format!("CC_{suffix}"), clang.display().to_string()));
    }
    if !user_set("AR") {
        env.push((format!("AR_{suffix}"), ar.display().to_string()));
    }
    env
}

/// `doctor`'s line: the compiler found, or what is missing.
pub fn doctor_check() -> Result<String, String> {
    match find() {
        Some((clang, ar)) => Ok(format!(
            "{}, {} — for crates with C, such as ring (wasock's `tls` feature)",
            clang.display(),
            ar.display()
        )),
        None => Err(
            "no clang with llvm-ar: crates with C for wasm, such as ring (wasock's `tls` \
             feature, rustls), will not build"
                .into(),
        ),
    }
}

/// The command that installs it.
pub fn install_command() -> String {
    if which::which("apt-get").is_ok() {
        format!("sudo apt-get update && sudo apt-get install -y {APT_PACKAGES}")
    } else {
        "install clang (18 or later, with the WebAssembly target) and llvm-ar with your system's \
         package manager"
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_target_with_underscores() {
        let env = wasi_env("wasm32-wasip1");
        for (key, _) in &env {
            assert!(
                key == "CC_wasm32_wasip1" || key == "AR_wasm32_wasip1",
                "{key}"
            );
        }
        // Where clang is installed (as on the machines that build JavaScript apps), both are set.
        if find().is_some()
            && std::env::var_os("CC_wasm32_wasip1").is_none()
            && std::env::var_os("TARGET_CC").is_none()
        {
            assert!(env.iter().any(|(key, _)| key == "CC_wasm32_wasip1"));
        }
    }
}
