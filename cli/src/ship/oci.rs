//! The app as an OCI image: one layer holding the module at `/app.wasm`, a config whose
//! entrypoint is that module, and a manifest, written as an OCI image-layout archive.
//!
//! The image follows the conventions WasmEdge's container integrations read
//! (runwasi's `containerd-shim-wasmedge`, crun built with WasmEdge): platform
//! `wasi`/`wasm`, and the manifest annotation `module.wasm.image/variant=compat-smart`
//! with which crun and runwasi pick their Wasm handler
//! (<https://github.com/solo-io/wasm/blob/master/spec/spec-compat.md>).
//!
//! Reproducible: the same module, environment, port and labels give byte-identical blobs
//! and so the same digests. Tar entries have mtime 0, uid/gid 0, fixed modes and sorted
//! paths; JSON is serialized with object keys sorted (oci-spec keeps annotations and labels
//! in `HashMap`s, whose order changes from run to run); nothing records a creation time.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Context as _;
use oci_spec::distribution::Reference;
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, DescriptorBuilder, ImageConfigurationBuilder,
    ImageIndexBuilder, ImageManifestBuilder, MediaType, Os, PlatformBuilder, RootFsBuilder,
    Sha256Digest,
};

use crate::ui::errors::hint;

/// The path of the module inside the image, and the entrypoint.
pub const MODULE_PATH: &str = "/app.wasm";
/// The manifest annotation crun and runwasi read to run a layer as Wasm.
pub const VARIANT_ANNOTATION: (&str, &str) = ("module.wasm.image/variant", "compat-smart");
/// Labels on an image whose module is WasmEdge's AOT output.
pub const AOT_ARCH_LABEL: &str = "org.wasmedge.aot.architecture";
/// Manifest annotations that record the app's sandbox (`[package.metadata.wasock]`), so
/// whoever runs the image sees what it expects to reach: the lists as JSON arrays of
/// their entries, the memory limit in bytes. Absent when the app states none.
pub const ALLOW_CONNECT_ANNOTATION: &str = "dev.cargo-wasock.allow-connect";
pub const ALLOW_LISTEN_ANNOTATION: &str = "dev.cargo-wasock.allow-listen";
pub const MEMORY_LIMIT_ANNOTATION: &str = "dev.cargo-wasock.memory-limit";
pub const AOT_VERSION_LABEL: &str = "org.wasmedge.aot.version";

/// One content-addressed blob: its media type, bytes and `sha256:` digest.
pub struct Blob {
    pub media_type: MediaType,
    pub bytes: Vec<u8>,
    pub digest: String,
}

impl Blob {
    fn new(media_type: MediaType, bytes: Vec<u8>) -> Self {
        let digest = sha256_digest(&bytes);
        Blob {
            media_type,
            bytes,
            digest,
        }
    }

    /// The hex part of the digest, the blob's file name in a layout.
    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }

    fn descriptor(&self) -> anyhow::Result<Descriptor> {
        let digest: Sha256Digest = self.hex().parse().context("sha256 digest")?;
        Ok(Descriptor::new(
            self.media_type.clone(),
            self.bytes.len() as u64,
            digest,
        ))
    }
}

/// `sha256:<64 hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::util::digest::sha256_hex(bytes))
}

/// What goes into an image.
#[derive(Debug, Default, Clone)]
pub struct ImageInput {
    /// The module's bytes (plain wasm, or WasmEdge's AOT output).
    pub module: Vec<u8>,
    /// The app's environment, `KEY=VALUE` in the config, in this order.
    pub env: Vec<(String, String)>,
    /// The port the app listens on: exposed as `PORT/tcp`.
    pub port: Option<u16>,
    /// Config labels (sorted on output).
    pub labels: BTreeMap<String, String>,
    /// Manifest annotations beside the Wasm variant's (sorted on output).
    pub annotations: BTreeMap<String, String>,
}

/// A built image: layer, config and manifest blobs.
pub struct Image {
    pub layer: Blob,
    pub config: Blob,
    pub manifest: Blob,
}

/// A validated image name from `--tag` or `push REF`: `[REGISTRY/]REPOSITORY[:TAG]`.
#[derive(Debug, Clone)]
pub struct ImageName {
    /// As the user wrote it (plus `:latest` when no tag was given).
    pub text: String,
    pub reference: Reference,
}

impl ImageName {
    /// Parse `text` as a distribution reference without a digest; the tag defaults to `latest`.
    /// Errors are a `help:`-carrying line naming the rule that was broken.
    pub fn parse(text: &str, what: &str) -> anyhow::Result<Self> {
        let help = "use NAME[:TAG] with a lowercase name of letters, digits and `.`, `_`, `-` separated by `/` (optionally after a REGISTRY[:PORT]/ prefix) and a tag of up to 128 letters, digits, `_`, `.`, `-`, e.g. `registry.example.com/team/hello:0.1.0`";
        if text.contains('@') {
            return Err(hint(
                format!("{what} `{text}` names a digest; an image is named by a tag"),
                help,
            ));
        }
        let reference = text.parse::<Reference>().map_err(|error| {
            let why = if text.chars().any(|c| c.is_ascii_uppercase()) {
                "names must be lowercase".to_owned()
            } else {
                error.to_string()
            };
            hint(
                format!("{what} `{text}` is not a valid image name: {why}"),
                help,
            )
        })?;
        let tag = reference.tag().unwrap_or("latest");
        let has_tag = text
            .rsplit_once(':')
            .is_some_and(|(_, after)| !after.contains('/'));
        let text = if has_tag {
            text.to_owned()
        } else {
            format!("{text}:{tag}")
        };
        Ok(ImageName { text, reference })
    }

    pub fn tag(&self) -> &str {
        self.reference.tag().unwrap_or("latest")
    }

    /// The fully qualified name containerd records (`docker.io/library/hello:latest`).
    pub fn qualified(&self) -> String {
        self.reference.whole()
    }
}

/// The default image name for a cargo package: its name (lowercased, `_`-safe) and version.
pub fn default_name(package: &str, version: &str) -> String {
    let name: String = package
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '.') => c,
            _ => '-',
        })
        .collect();
    let name = name.trim_matches(['-', '.']);
    let name = if name.is_empty() { "app" } else { name };
    // SemVer build metadata (`+…`) is not allowed in a tag.
    let tag: String = version
        .chars()
        .map(|c| if c == '+' { '_' } else { c })
        .collect();
    format!("{name}:{tag}")
}

/// The layer: an uncompressed tar with `app.wasm` (mode 0644, owner 0:0, mtime 0).
fn layer_tar(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    append_file(
        &mut builder,
        MODULE_PATH.trim_start_matches('/'),
        module,
        0o644,
    )?;
    builder
        .into_inner()
        .context("could not finish the layer tar")
}

fn header(path: &str, size: u64, mode: u32, kind: tar::EntryType) -> anyhow::Result<tar::Header> {
    let mut header = tar::Header::new_ustar();
    header
        .set_path(path)
        .with_context(|| format!("tar path `{path}`"))?;
    header.set_size(size);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(kind);
    header.set_cksum();
    Ok(header)
}

fn append_file(
    builder: &mut tar::Builder<impl Write>,
    path: &str,
    bytes: &[u8],
    mode: u32,
) -> anyhow::Result<()> {
    let header = header(path, bytes.len() as u64, mode, tar::EntryType::Regular)?;
    builder
        .append(&header, bytes)
        .with_context(|| format!("could not add `{path}` to a tar"))
}

fn append_dir(builder: &mut tar::Builder<impl Write>, path: &str) -> anyhow::Result<()> {
    let header = header(path, 0, 0o755, tar::EntryType::Directory)?;
    builder
        .append(&header, std::io::empty())
        .with_context(|| format!("could not add `{path}` to a tar"))
}

/// JSON with every object's keys sorted, so `HashMap` fields serialize the same every time.
pub fn canonical_json(value: &impl serde::Serialize) -> anyhow::Result<Vec<u8>> {
    fn sorted(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let entries: BTreeMap<String, serde_json::Value> =
                    map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
                serde_json::Value::Object(entries.into_iter().collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sorted).collect())
            }
            other => other,
        }
    }
    let value = serde_json::to_value(value).context("could not serialize OCI JSON")?;
    serde_json::to_vec(&sorted(value)).context("could not serialize OCI JSON")
}

fn platform() -> anyhow::Result<oci_spec::image::Platform> {
    Ok(PlatformBuilder::default()
        .architecture(Arch::Wasm)
        .os(Os::from("wasi"))
        .build()?)
}

/// Build the layer, config and manifest blobs for `input`.
pub fn build_image(input: &ImageInput) -> anyhow::Result<Image> {
    let layer = Blob::new(MediaType::ImageLayer, layer_tar(&input.module)?);

    let mut config = ConfigBuilder::default()
        .entrypoint(vec![MODULE_PATH.to_owned()])
        .env(
            input
                .env
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect::<Vec<_>>(),
        );
    if let Some(port) = input.port {
        config = config.exposed_ports(vec![format!("{port}/tcp")]);
    }
    let mut labels: std::collections::HashMap<String, String> = input
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.insert(
        VARIANT_ANNOTATION.0.to_owned(),
        VARIANT_ANNOTATION.1.to_owned(),
    );
    config = config.labels(labels);
    let configuration = ImageConfigurationBuilder::default()
        .architecture(Arch::Wasm)
        .os(Os::from("wasi"))
        .config(config.build()?)
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(vec![layer.digest.clone()])
                .build()?,
        )
        .build()?;
    let config = Blob::new(MediaType::ImageConfig, canonical_json(&configuration)?);

    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config.descriptor()?)
        .layers(vec![layer.descriptor()?])
        .annotations(
            input
                .annotations
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .chain([(
                    VARIANT_ANNOTATION.0.to_owned(),
                    VARIANT_ANNOTATION.1.to_owned(),
                )])
                .collect::<std::collections::HashMap<_, _>>(),
        )
        .build()?;
    let manifest = Blob::new(MediaType::ImageManifest, canonical_json(&manifest)?);
    Ok(Image {
        layer,
        config,
        manifest,
    })
}

/// Write `image` as an OCI image-layout (image-spec 1.1 `image-layout.md`) tar archive:
/// `oci-layout`, `index.json` (one manifest, platform `wasi/wasm`, named `name`'s tag in
/// `org.opencontainers.image.ref.name` and fully in `io.containerd.image.name`) and
/// `blobs/sha256/<hex>`, entries sorted.
pub fn write_layout_archive(
    image: &Image,
    name: &ImageName,
    out: impl Write,
) -> anyhow::Result<()> {
    let manifest_descriptor = DescriptorBuilder::default()
        .media_type(MediaType::ImageManifest)
        .size(image.manifest.bytes.len() as u64)
        .digest(
            image
                .manifest
                .hex()
                .parse::<Sha256Digest>()
                .context("sha256 digest")?,
        )
        .platform(platform()?)
        .annotations(std::collections::HashMap::from([
            (
                "org.opencontainers.image.ref.name".to_owned(),
                name.tag().to_owned(),
            ),
            ("io.containerd.image.name".to_owned(), name.qualified()),
        ]))
        .build()?;
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![manifest_descriptor])
        .build()?;
    let index = canonical_json(&index)?;
    let layout = canonical_json(&serde_json::json!({ "imageLayoutVersion": "1.0.0" }))?;

    let mut blobs: Vec<&Blob> = vec![&image.layer, &image.config, &image.manifest];
    blobs.sort_by(|a, b| a.digest.cmp(&b.digest));
    blobs.dedup_by(|a, b| a.digest == b.digest);

    let mut builder = tar::Builder::new(out);
    append_dir(&mut builder, "blobs/")?;
    append_dir(&mut builder, "blobs/sha256/")?;
    for blob in blobs {
        append_file(
            &mut builder,
            &format!("blobs/sha256/{}", blob.hex()),
            &blob.bytes,
            0o644,
        )?;
    }
    append_file(&mut builder, "index.json", &index, 0o644)?;
    append_file(&mut builder, "oci-layout", &layout, 0o644)?;
    builder
        .into_inner()
        .context("could not finish the image archive")?
        .flush()
        .context("could not write the image archive")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_are_checked() {
        let name = ImageName::parse("hello", "--tag").unwrap();
        assert_eq!(name.text, "hello:latest");
        assert_eq!(name.qualified(), "docker.io/library/hello:latest");
        let name = ImageName::parse("127.0.0.1:5000/team/hello:0.1.0", "--tag").unwrap();
        assert_eq!(name.tag(), "0.1.0");
        assert_eq!(name.reference.registry(), "127.0.0.1:5000");
        for bad in [
            "Hello:1",
            "hello:",
            "hello:a b",
            "-x",
            "hello@sha256:00",
            "",
        ] {
            assert!(ImageName::parse(bad, "--tag").is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn default_names_are_valid_references() {
        for (package, version) in [("Hello_World", "1.0.0+build.5"), ("x", "0.1.0-rc.1")] {
            let name = default_name(package, version);
            ImageName::parse(&name, "name").unwrap();
        }
    }

    #[test]
    fn the_same_input_gives_the_same_bytes() {
        let input = ImageInput {
            module: b"\0asm\x01\0\0\0".to_vec(),
            env: vec![("A".into(), "1".into()), ("B".into(), "2".into())],
            port: Some(8080),
            labels: BTreeMap::from([("x".into(), "y".into()), ("a".into(), "b".into())]),
            annotations: BTreeMap::from([(ALLOW_CONNECT_ANNOTATION.into(), "[]".into())]),
        };
        let name = ImageName::parse("hello:1", "--tag").unwrap();
        let mut first = Vec::new();
        write_layout_archive(&build_image(&input).unwrap(), &name, &mut first).unwrap();
        for _ in 0..3 {
            let mut again = Vec::new();
            write_layout_archive(&build_image(&input).unwrap(), &name, &mut again).unwrap();
            assert!(first == again, "archives differ");
        }
    }
}
