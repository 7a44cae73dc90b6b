//! SHA-256 digests as lowercase hex: the keys of the AOT cache record, the metadata cache,
//! the JS runtime's cache folders and OCI blob digests.

use std::fs;
use std::path::Path;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

/// SHA-256 of the file at `path`, as [`sha256_hex`] gives it.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let bytes = fs::read(path).with_context(|| format!("could not read `{}`", path.display()))?;
    Ok(sha256_hex(&bytes))
}

/// SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `bytes` as lowercase hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
