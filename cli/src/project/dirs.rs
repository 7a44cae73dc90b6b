//! `GUEST:HOST[:readonly]`: a host directory mapped into the app, as WasmEdge's `--dir`
//! spells it; read from `--dir` flags and from `[package.metadata.wasock] dirs`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context as _;

use crate::ui::errors::hint;

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
