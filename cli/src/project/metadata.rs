//! The project as cargo sees it, and our defaults in `[package.metadata.wasock]`.
//!
//! ```toml
//! [package.metadata.wasock]
//! port = 1234                       # PORT for `run`
//! env = { RUST_LOG = "info" }       # variables set for the app
//! dirs = ["/data:data:readonly"]    # GUEST:HOST[:readonly], HOST relative to the package
//! allow-connect = ["db.internal:5432", "10.0.0.0/8:*"]   # where the app may connect (engine)
//! allow-listen = ["0.0.0.0:8080"]   # where it may listen (engine)
//! memory-limit = "64MiB"            # its linear memory, on both runtimes
//! ```
//!
//! Flags given to `run` override these.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use cargo_metadata::{Metadata, MetadataCommand, Package};
use serde::Deserialize;

use crate::project::dirs::DirMapping;
use crate::ui::errors::{hint, hint_on};

/// `[package.metadata.wasock]`, with host paths made absolute.
#[derive(Debug, Default, Clone)]
pub struct WasockDefaults {
    pub port: Option<u16>,
    pub env: Vec<(String, String)>,
    pub dirs: Vec<DirMapping>,
    /// `instances = N` or `"auto"`: how many instances `run` starts on the engine.
    pub instances: Option<u32>,
    /// `allow-connect = [...]`, entries unchecked (the run stage checks them with the
    /// engine's parser); `None` when absent.
    pub allow_connect: Option<Vec<String>>,
    /// `allow-listen = [...]`, likewise.
    pub allow_listen: Option<Vec<String>>,
    /// `memory-limit = "64MiB"`, in bytes.
    pub memory_limit: Option<u64>,
}

#[derive(Deserialize, Default)]
struct RawDefaults {
    port: Option<u16>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    dirs: Vec<String>,
    instances: Option<serde_json::Value>,
    #[serde(rename = "allow-connect")]
    allow_connect: Option<Vec<String>>,
    #[serde(rename = "allow-listen")]
    allow_listen: Option<Vec<String>>,
    #[serde(rename = "memory-limit")]
    memory_limit: Option<String>,
}

/// What `cargo metadata` told us about the project being built.
pub struct Project {
    pub metadata: Metadata,
    /// The package `build`/`run` is about: `-p`, else the root package, else the only member.
    pub package: Option<Package>,
}

/// Flags that change how cargo resolves, shared with `cargo build`.
#[derive(Debug, Default, Clone)]
pub struct ResolveFlags {
    pub locked: bool,
    pub offline: bool,
    pub frozen: bool,
}

impl ResolveFlags {
    pub fn as_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (set, flag) in [
            (self.locked, "--locked"),
            (self.offline, "--offline"),
            (self.frozen, "--frozen"),
        ] {
            if set {
                args.push(flag.to_owned());
            }
        }
        args
    }
}

/// Run `cargo metadata --no-deps` for `manifest_path` (or the current directory): the
/// workspace's own packages, without resolving dependencies. Resolving would take cargo's
/// package-cache lock, which `cargo build` needs too; without it the two run side by side.
pub fn load(
    manifest_path: Option<&Path>,
    package: Option<&str>,
    flags: &ResolveFlags,
) -> anyhow::Result<Project> {
    let mut command = MetadataCommand::new();
    if let Some(path) = manifest_path {
        command.manifest_path(path);
    }
    command.no_deps();
    let resolve_args = flags.as_args();
    command.other_options(resolve_args.clone());
    if let Some(metadata) = crate::project::metadata_cache::lookup(manifest_path, &resolve_args) {
        if let Ok(project) = select(metadata, package) {
            return Ok(project);
        }
        // A package the cached answer does not know: ask cargo.
    }
    let started = std::time::SystemTime::now();
    let metadata = command
        .exec()
        .map_err(|error| metadata_error(error, manifest_path))?;
    crate::project::metadata_cache::store(manifest_path, &resolve_args, &metadata, started);
    select(metadata, package)
}

/// The project with its selected package: `package`, else the root, else the only member.
fn select(metadata: Metadata, package: Option<&str>) -> anyhow::Result<Project> {
    let members: Vec<&Package> = metadata.workspace_packages();
    let selected = match package {
        Some(name) => Some(
            members
                .iter()
                .find(|p| p.name.as_str() == name)
                .map(|p| (*p).clone())
                .ok_or_else(|| {
                    let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
                    hint(
                        format!("package `{name}` is not in this workspace"),
                        format!("choose one of: {}", names.join(", ")),
                    )
                })?,
        ),
        None => match metadata.root_package() {
            Some(root) => Some(root.clone()),
            None if members.len() == 1 => Some(members[0].clone()),
            None => None,
        },
    };
    Ok(Project {
        package: selected,
        metadata,
    })
}

/// `cargo metadata`'s failure as one error: cargo's own message without its `error: `
/// prefix (one "error:" is enough), its snippet lines kept, and help that fits the cause.
fn metadata_error(error: cargo_metadata::Error, manifest_path: Option<&Path>) -> anyhow::Error {
    let project = match manifest_path {
        Some(path) => format!("the cargo project at `{}`", path.display()),
        None => "the cargo project in the current directory".to_owned(),
    };
    let cargo_metadata::Error::CargoMetadata { stderr } = &error else {
        return hint_on(
            error,
            format!("could not read {project}"),
            "check that `cargo metadata` works there",
        );
    };
    let said = stderr.trim();
    let said = said.strip_prefix("error: ").unwrap_or(said);
    let help = if said.contains("could not find `Cargo.toml`") {
        "run this inside a cargo project (one made by `cargo wasock new`), pass `--manifest-path PATH/Cargo.toml`, or give `run` a built module with `--wasm FILE`"
    } else {
        "fix what cargo reports above, then try again"
    };
    hint(format!("could not read {project}: {said}"), help)
}

impl Project {
    /// About how many crates a full build compiles: the progress bar's length. The packages
    /// in `Cargo.lock` (all platforms', so it may be a few more); 0 before the first build.
    pub fn crate_estimate(&self) -> u64 {
        let lock = self.metadata.workspace_root.join("Cargo.lock");
        std::fs::read_to_string(lock).map_or(0, |text| {
            text.lines()
                .filter(|line| line.trim() == "[[package]]")
                .count() as u64
        })
    }

    /// The selected package's `[package.metadata.wasock]`, or nothing when absent.
    pub fn defaults(&self) -> anyhow::Result<WasockDefaults> {
        let Some(package) = &self.package else {
            return Ok(WasockDefaults::default());
        };
        let Some(section) = package.metadata.get("wasock") else {
            return Ok(WasockDefaults::default());
        };
        let manifest = package.manifest_path.as_std_path();
        let bad = |detail: String| {
            hint(
                format!("invalid [package.metadata.wasock] in `{}`: {detail}", manifest.display()),
                "expected `port = 1234`, `env = { KEY = \"value\" }` and `dirs = [\"GUEST:HOST[:readonly]\"]`",
            )
        };
        let raw: RawDefaults =
            serde_json::from_value(section.clone()).map_err(|error| bad(error.to_string()))?;
        let base = manifest.parent().context("manifest path has no parent")?;
        let mut dirs = Vec::new();
        for text in &raw.dirs {
            let mut mapping: DirMapping = text
                .parse()
                .map_err(|error: crate::project::dirs::DirMappingError| bad(error.to_string()))?;
            mapping.host = base.join(&mapping.host);
            dirs.push(mapping);
        }
        let instances = match &raw.instances {
            None => None,
            Some(serde_json::Value::String(text)) => {
                Some(parse_instances(text).map_err(|error| bad(format!("instances: {error}")))?)
            }
            Some(serde_json::Value::Number(number)) => Some(
                parse_instances(&number.to_string())
                    .map_err(|error| bad(format!("instances: {error}")))?,
            ),
            Some(other) => {
                return Err(bad(format!(
                    "instances: expected a number or \"auto\", found {other}"
                )))
            }
        };
        let memory_limit = raw
            .memory_limit
            .as_deref()
            .map(parse_size)
            .transpose()
            .map_err(|error| bad(format!("memory-limit: {error}")))?;
        Ok(WasockDefaults {
            port: raw.port,
            env: raw.env.into_iter().collect(),
            dirs,
            instances,
            allow_connect: raw.allow_connect,
            allow_listen: raw.allow_listen,
            memory_limit,
        })
    }
}

/// WebAssembly's page: the unit of linear memory, and of WasmEdge's `--memory-page-limit`.
pub const WASM_PAGE: u64 = 64 * 1024;

/// `--memory-limit` and `memory-limit`: a size with a binary unit, `64MiB`, `1GiB`, `512KiB`
/// (or `B`, or none for bytes), at least one 64 KiB wasm page and at most wasm32's 4 GiB.
/// A size between pages means the pages below it (memory grows a page at a time).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{text}` is not a size: write a number with KiB, MiB or GiB, e.g. `64MiB`"
            ))
        }
    };
    let bytes = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| {
            format!("`{text}` is not a size: write a number with KiB, MiB or GiB, e.g. `64MiB`")
        })?;
    if bytes < WASM_PAGE {
        return Err(format!(
            "`{text}` is less than one 64 KiB page of wasm memory"
        ));
    }
    if bytes > 4 << 30 {
        return Err(format!(
            "`{text}` is more than the 4 GiB a wasm32 app can address"
        ));
    }
    Ok(bytes)
}

/// `--instances` and `instances =`: a count of at least 1, or `auto` for one instance per
/// core (`std::thread::available_parallelism`).
pub fn parse_instances(text: &str) -> Result<u32, String> {
    if text == "auto" {
        return Ok(std::thread::available_parallelism().map_or(1, |cores| cores.get() as u32));
    }
    match text.parse::<u32>() {
        Ok(count) if count >= 1 => Ok(count),
        _ => Err(format!(
            "`{text}` is not a number of instances (1 or more, or `auto`)"
        )),
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    #[test]
    fn sizes_parse_in_binary_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        for bad in ["", "MiB", "64MB", "1KiB", "5GiB", "-1MiB", "1.5GiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
