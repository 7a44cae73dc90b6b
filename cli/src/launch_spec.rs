//! What to launch: the one description of an app run that every runtime consumes.
//!
//! `run` fills a [`LaunchSpec`] from flags, `[package.metadata.wasock]` and the build's
//! artifact; the WasmEdge launcher turns it into a command line and the embedded engine
//! into a wasmtime store. Keeping it runtime-neutral is what lets both runtimes accept
//! the same flags with the same meaning.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context as _;

use crate::errors::hint;

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

/// `GUEST:HOST[:readonly]`, the `--dir` syntax WasmEdge uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirMapping {
    pub guest: String,
    pub host: PathBuf,
    pub readonly: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid directory mapping `{0}`: expected GUEST:HOST or GUEST:HOST:readonly")]
pub struct DirMappingError(String);

impl FromStr for DirMapping {
    type Err = DirMappingError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || DirMappingError(text.to_owned());
        let (rest, readonly) = match text.strip_suffix(":readonly") {
            Some(rest) => (rest, true),
            None => (text, false),
        };
        let (guest, host) = rest.split_once(':').ok_or_else(invalid)?;
        if guest.is_empty() || host.is_empty() {
            return Err(invalid());
        }
        Ok(DirMapping {
            guest: guest.to_owned(),
            host: PathBuf::from(host),
            readonly,
        })
    }
}

impl DirMapping {
    /// Make each host path absolute (WasmEdge and the engine may run elsewhere) and check
    /// that it is a directory.
    pub fn resolve_all(mut dirs: Vec<DirMapping>) -> anyhow::Result<Vec<DirMapping>> {
        for dir in &mut dirs {
            let given = dir.to_string();
            dir.host = std::path::absolute(&dir.host)
                .with_context(|| format!("could not resolve `{}`", dir.host.display()))?;
            if !dir.host.is_dir() {
                return Err(hint(
                    format!(
                        "the host directory `{}` of `--dir {given}` does not exist",
                        dir.host.display()
                    ),
                    "create it, or fix the HOST part of GUEST:HOST[:readonly]",
                ));
            }
        }
        Ok(dirs)
    }
}

impl fmt::Display for DirMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.guest, self.host.display())?;
        if self.readonly {
            f.write_str(":readonly")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mappings_with_and_without_readonly() {
        let rw: DirMapping = "/data:./data".parse().unwrap();
        assert_eq!(
            rw,
            DirMapping {
                guest: "/data".into(),
                host: "./data".into(),
                readonly: false
            }
        );
        let ro: DirMapping = "/etc/app:/srv/conf:readonly".parse().unwrap();
        assert!(ro.readonly);
        assert_eq!(ro.host, PathBuf::from("/srv/conf"));
        assert_eq!(ro.to_string(), "/etc/app:/srv/conf:readonly");
    }

    #[test]
    fn rejects_mappings_without_both_sides() {
        assert!("/data".parse::<DirMapping>().is_err());
        assert!(":/srv".parse::<DirMapping>().is_err());
        assert!("/data::readonly".parse::<DirMapping>().is_err());
    }
}
