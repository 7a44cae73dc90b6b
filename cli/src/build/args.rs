//! `CargoArgs`: the `cargo build` options that `build`, `run`, `watch`, `test`, `package` and
//! `push` accept (flattened into their clap structs) and pass through to cargo.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::build::cargo::CargoFlags;
use crate::project::metadata::ResolveFlags;

/// The `cargo build` options `build` and `run` accept and pass through.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Cargo options")]
pub struct CargoArgs {
    /// Build with the release profile
    #[arg(short, long, conflicts_with = "profile")]
    pub release: bool,
    /// Build with the given profile
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Package to build
    #[arg(short, long, value_name = "SPEC")]
    pub package: Option<String>,
    /// Binary to build (when the package has several)
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// Features to activate (space or comma separated; repeatable)
    #[arg(short = 'F', long, value_name = "FEATURES")]
    pub features: Vec<String>,
    /// Activate all features
    #[arg(long)]
    pub all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long)]
    pub no_default_features: bool,
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Directory for all generated artifacts
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Assert that Cargo.lock will remain unchanged
    #[arg(long)]
    pub locked: bool,
    /// Run without accessing the network
    #[arg(long)]
    pub offline: bool,
    /// Equivalent to --locked and --offline
    #[arg(long)]
    pub frozen: bool,
}

impl CargoArgs {
    pub fn resolve_flags(&self) -> ResolveFlags {
        ResolveFlags {
            locked: self.locked,
            offline: self.offline,
            frozen: self.frozen,
        }
    }

    pub fn to_flags(&self) -> CargoFlags {
        CargoFlags {
            release: self.release,
            profile: self.profile.clone(),
            package: self.package.clone(),
            bin: self.bin.clone(),
            features: self
                .features
                .iter()
                .flat_map(|f| f.split([' ', ',']))
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
            all_features: self.all_features,
            no_default_features: self.no_default_features,
            manifest_path: self.manifest_path.clone(),
            target_dir: self.target_dir.clone(),
            resolve: self.resolve_flags(),
            env: Vec::new(),
        }
    }

    /// cargo's name of the profile built: `dev`, `release`, or `--profile`'s.
    pub fn profile_name(&self) -> &str {
        match (&self.profile, self.release) {
            (Some(profile), _) => profile,
            (None, true) => "release",
            (None, false) => "dev",
        }
    }

    /// Choose the profile of a build made to ship (`package`, `push`): release, as `cargo
    /// install` does, unless `--profile` names one or `debug` (`--debug`) asks for `dev`.
    /// The profile's name, as [`CargoArgs::profile_name`] gives it.
    pub fn ship_profile(&mut self, debug: bool) -> &str {
        if debug {
            self.release = false;
            self.profile = Some("dev".to_owned());
        } else if self.profile.is_none() {
            self.release = true;
        }
        self.profile_name()
    }

    /// The directory rustup should consult for a toolchain file.
    pub fn project_dir(&self) -> PathBuf {
        match self.manifest_path.as_deref().and_then(Path::parent) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}
