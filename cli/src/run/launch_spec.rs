//! What to launch: the one description of an app run that every runtime consumes.
//!
//! `run` fills a [`LaunchSpec`] from flags, `[package.metadata.wasock]` and the build's
//! artifact; the WasmEdge launcher turns it into a command line and the embedded engine
//! into a wasmtime store. Keeping it runtime-neutral is what lets both runtimes accept
//! the same flags with the same meaning.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::project::dirs::DirMapping;
use crate::run::sandbox::SandboxSettings;

/// A fully resolved app launch: nothing in here is read from the host environment later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSpec {
    /// The wasm module to run (the plain `.wasm`, or WasmEdge's universal `.aot.wasm`).
    pub module: PathBuf,
    /// Arguments after the program name (`argv[1..]`).
    pub args: Vec<String>,
    /// The guest's whole environment, in the order given; WasmEdge inherits nothing.
    pub env: Vec<(String, String)>,
    /// Host directories made visible to the guest.
    pub dirs: Vec<DirMapping>,
    /// Where it may connect and listen, and its limits (`sandbox.rs`).
    pub sandbox: SandboxSettings,
}

impl LaunchSpec {
    /// The name the guest sees as `argv[0]`: the module's file name, as WasmEdge does.
    pub fn program_name(&self) -> String {
        self.module
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "app.wasm".to_owned())
    }
}

/// The arguments after `wasmedge` for `spec`, in the documented order:
/// `[--memory-page-limit N] [--dir GUEST:HOST[:readonly]]... [--env KEY=VALUE]...
/// [--run-mode=aot] MODULE [ARGS]...`; the page limit is the memory limit in whole 64 KiB
/// pages (WasmEdge 0.17.1's option: a `memory.grow` past it fails).
pub fn wasmedge_arguments(spec: &LaunchSpec, run_mode_aot: bool) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    if let Some(pages) = spec.sandbox.wasmedge_page_limit() {
        args.push("--memory-page-limit".into());
        args.push(pages.to_string().into());
    }
    for dir in &spec.dirs {
        args.push("--dir".into());
        args.push(dir.to_string().into());
    }
    for (key, value) in &spec.env {
        args.push("--env".into());
        args.push(format!("{key}={value}").into());
    }
    if run_mode_aot {
        args.push("--run-mode=aot".into());
    }
    args.push(spec.module.clone().into_os_string());
    args.extend(spec.args.iter().map(OsString::from));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_keep_the_documented_order() {
        let spec = LaunchSpec {
            module: "app.aot.wasm".into(),
            args: vec!["--flag".into(), "x y".into()],
            env: vec![("B".into(), "2".into()), ("A".into(), "1".into())],
            dirs: vec![DirMapping {
                guest: "/d".into(),
                host: "/h".into(),
                readonly: true,
            }],
            sandbox: SandboxSettings {
                memory_limit: Some(64 << 20),
                ..SandboxSettings::default()
            },
        };
        let args: Vec<String> = wasmedge_arguments(&spec, true)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "--memory-page-limit",
                "1024",
                "--dir",
                "/d:/h:readonly",
                "--env",
                "B=2",
                "--env",
                "A=1",
                "--run-mode=aot",
                "app.aot.wasm",
                "--flag",
                "x y"
            ]
        );
    }
}
