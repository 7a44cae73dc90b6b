//! The project stage: the package as cargo describes it (`cargo metadata` and its cache) with
//! our `[package.metadata.wasock]` defaults, the `--dir` mapping syntax, the embedded
//! templates and library sources, scaffolding (`new`, and `init` for an existing package)
//! and the new project's git repository.
//! May use `ui/`, `util/` and `cache/`.

pub mod dirs;
pub mod init;
pub mod metadata;
pub mod metadata_cache;
pub mod scaffold;
pub mod vcs;
pub mod vendor;
