//! `run --tls-cert FILE --tls-key FILE` (and `watch`): both files mapped read-only into the
//! app and named by `TLS_CERT`/`TLS_KEY`, the variables wasock's servers and the templates
//! read (as `spin up --tls-cert/--tls-key` names them); and, before launch, a warning when
//! `SSL_CERT_FILE`, `TLS_CERT` or `TLS_KEY` names a path no mapping makes visible to the app.
//! `run` observes: the values pass through unchanged either way.

use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use crate::project::dirs::DirMapping;
use crate::ui::errors::hint;
use crate::ui::printer::Printer;

/// Where the two files' directories appear in the app (WasmEdge maps directories, not files).
const CERT_GUEST_DIR: &str = "/wasock-tls/cert";
const KEY_GUEST_DIR: &str = "/wasock-tls/key";

/// The variables that name files the app must be able to open.
const PATH_VARS: [&str; 3] = ["SSL_CERT_FILE", "TLS_CERT", "TLS_KEY"];

/// `--tls-cert`/`--tls-key`, flattened into `RunFlags`.
#[derive(Args, Debug, Clone, Default)]
pub struct TlsFlags {
    /// Serve HTTPS with this PEM certificate chain: its directory is mapped read-only into
    /// the app and TLS_CERT names it there (with --tls-key)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key for --tls-cert: mapped read-only, named by TLS_KEY
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// The two files, checked: host paths made absolute.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
}

impl TlsFlags {
    /// Checks that both files exist (so a typo fails before building).
    pub fn check(&self) -> anyhow::Result<Option<TlsFiles>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let file = |path: &Path, flag: &str| -> anyhow::Result<PathBuf> {
            let absolute = std::path::absolute(path)
                .with_context(|| format!("could not resolve `{}`", path.display()))?;
            if !absolute.is_file() {
                return Err(hint(
                    format!("the file `{}` of `{flag}` does not exist", path.display()),
                    "give the path of a PEM file on this machine",
                ));
            }
            Ok(absolute)
        };
        Ok(Some(TlsFiles {
            cert: file(cert, "--tls-cert")?,
            key: file(key, "--tls-key")?,
        }))
    }
}

impl TlsFiles {
    /// Adds the read-only mappings and sets `TLS_CERT`/`TLS_KEY` (after every other source,
    /// so the flags win) to the files' paths inside the app.
    pub fn apply(&self, env: &mut Vec<(String, String)>, dirs: &mut Vec<DirMapping>) {
        for (var, file, guest_dir) in [
            ("TLS_CERT", &self.cert, CERT_GUEST_DIR),
            ("TLS_KEY", &self.key, KEY_GUEST_DIR),
        ] {
            let (Some(parent), Some(name)) = (file.parent(), file.file_name()) else {
                continue;
            };
            dirs.push(DirMapping {
                guest: guest_dir.into(),
                host: parent.to_path_buf(),
                readonly: true,
            });
            env.retain(|(key, _)| key != var);
            env.push((
                var.into(),
                format!("{guest_dir}/{}", name.to_string_lossy()),
            ));
        }
    }
}

/// Warns (on stderr) about each of `SSL_CERT_FILE`, `TLS_CERT`, `TLS_KEY` whose path no
/// mapping covers, with the `--dir` that would; the value itself is left as it is.
pub fn warn_unmapped(env: &[(String, String)], dirs: &[DirMapping], printer: &Printer) {
    for (key, value) in env {
        if !PATH_VARS.contains(&key.as_str()) || value.is_empty() {
            continue;
        }
        if dirs.iter().any(|dir| covers(&dir.guest, value)) {
            continue;
        }
        let folder = Path::new(value)
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(|| ".".to_string(), |parent| parent.display().to_string());
        printer.warn(format!(
            "{key} names `{value}`, which no --dir or metadata mapping makes visible to the app"
        ));
        printer.help(format!(
            "add --dir {folder}:HOST_FOLDER:readonly (HOST_FOLDER holding the file), or point \
             {key} into a mapped folder"
        ));
    }
}

/// Whether the mapping at `guest` makes `path` (as the app sees it) reachable: an absolute
/// path under it, or a relative path under the app's `.`.
fn covers(guest: &str, path: &str) -> bool {
    let parts = |text: &str| -> Vec<String> {
        Path::new(text)
            .components()
            .filter(|part| !matches!(part, Component::CurDir))
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect()
    };
    let absolute = |text: &str| text.starts_with('/');
    if absolute(guest) != absolute(path) {
        return false;
    }
    let (guest, path) = (parts(guest), parts(path));
    path.len() > guest.len() && path.starts_with(&guest)
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_mapping_covers_the_paths_below_it() {
        assert!(covers("/pki", "/pki/ca.pem"));
        assert!(covers("/", "/etc/ssl/ca.pem"));
        assert!(covers(".", "ca.pem"));
        assert!(covers(".", "./certs/ca.pem"));
        assert!(!covers("/pki", "/pkix/ca.pem"));
        assert!(!covers("/pki", "/pki"));
        assert!(!covers(".", "/pki/ca.pem"));
        assert!(!covers("/pki", "pki/ca.pem"));
    }
}
