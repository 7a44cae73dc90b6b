//! The app's OCI image: build it (as `build` does), then turn the module, the package's
//! `[package.metadata.wasock]` environment and port into an [`oci::Image`]. Shared by
//! `package` and `push`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::build::aot::AotBy;
use crate::build::app::build_app;
use crate::build::args::CargoArgs;
use crate::run::environment;
use crate::ship::oci::{self, ImageInput};
use crate::ui::errors::hint;
use crate::ui::printer::Printer;
use crate::util::wasmedge::{self, WasmEdge};

/// What the image is made from, beyond the cargo flags.
pub struct ImageOptions {
    /// The port the app listens on, overriding `[package.metadata.wasock] port`.
    pub port: Option<u16>,
}

/// A built image and what it was made from.
pub struct AppImage {
    pub image: oci::Image,
    /// The plain module cargo built (the image may hold its AOT form).
    pub module: PathBuf,
    /// `<bin>:<version>`, the name when none is given.
    pub default_name: String,
}

/// `--aot` for an image means WasmEdge's AOT output, found before anything is built.
///
/// The embedded engine's precompiled code is wasmtime's format for this machine: WasmEdge
/// on a cluster node cannot run it, so without WasmEdge `--aot` is refused.
pub fn aot_wasmedge(aot: bool) -> anyhow::Result<Option<WasmEdge>> {
    if !aot {
        return Ok(None);
    }
    match wasmedge::detect()? {
        Some(wasmedge) => Ok(Some(wasmedge)),
        None => Err(hint(
            format!(
                "`--aot` puts WasmEdge's AOT output in the image, and WasmEdge was not found on {}",
                wasmedge::SEARCH_DESCRIPTION
            ),
            format!(
                "{}, or drop `--aot`: WasmEdge on the node runs the plain module (the embedded engine's precompiled code runs only on the embedded engine)",
                wasmedge::INSTALL_HELP
            ),
        )),
    }
}

/// Say which profile an image is built with (release by default: see
/// [`CargoArgs::ship_profile`]), so a debug image is never a surprise.
pub fn say_profile(profile: &str, printer: &Printer) {
    let how = match profile {
        "release" => "the default for images; `--debug` builds with dev",
        "dev" => "a debug build: drop `--debug` to ship the release build",
        _ => "from `--profile`",
    };
    printer.status("Profile", format!("{profile} ({how})"));
}

/// The package's sandbox as the image's annotations (see [`oci::ALLOW_CONNECT_ANNOTATION`]);
/// a malformed entry is refused here as `run` refuses it.
fn sandbox_annotations(
    defaults: &crate::project::metadata::WasockDefaults,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut annotations = BTreeMap::new();
    for (list, key, name) in [
        (
            &defaults.allow_connect,
            oci::ALLOW_CONNECT_ANNOTATION,
            "allow-connect",
        ),
        (
            &defaults.allow_listen,
            oci::ALLOW_LISTEN_ANNOTATION,
            "allow-listen",
        ),
    ] {
        if let Some(entries) = list {
            crate::run::sandbox::check_entries(
                entries,
                &format!("[package.metadata.wasock] {name}:"),
                false,
            )?;
            annotations.insert(key.to_owned(), serde_json::to_string(entries)?);
        }
    }
    if let Some(bytes) = defaults.memory_limit {
        annotations.insert(oci::MEMORY_LIMIT_ANNOTATION.to_owned(), bytes.to_string());
    }
    Ok(annotations)
}

/// Build the app and make its image; `wasmedge` is [`aot_wasmedge`]'s answer.
pub fn build(
    cargo: &CargoArgs,
    options: &ImageOptions,
    wasmedge: Option<&WasmEdge>,
    printer: &Printer,
) -> anyhow::Result<AppImage> {
    let aot_by = match wasmedge {
        Some(wasmedge) => AotBy::WasmEdge(wasmedge),
        None => AotBy::Nobody,
    };
    let built = build_app(cargo, aot_by, printer)?;
    let defaults = built.project.defaults()?;
    if !defaults.dirs.is_empty() {
        printer.warn(
            "`[package.metadata.wasock] dirs` are not part of the image: mount volumes in the cluster instead",
        );
    }
    let port = options.port.or(defaults.port);
    let env = environment::assemble(&defaults, Vec::new(), options.port);

    let mut labels = BTreeMap::new();
    let module_path = match (&built.aot, wasmedge) {
        (Some(aot), Some(wasmedge)) => {
            // WasmEdge's AOT code is native code for this machine's architecture; another
            // WasmEdge falls back to the module's wasm, so the image stays wasi/wasm.
            labels.insert(
                oci::AOT_ARCH_LABEL.to_owned(),
                std::env::consts::ARCH.to_owned(),
            );
            labels.insert(oci::AOT_VERSION_LABEL.to_owned(), wasmedge.version.clone());
            aot.clone()
        }
        _ => built.module.path.clone(),
    };
    let module = std::fs::read(&module_path)
        .with_context(|| format!("could not read the module `{}`", module_path.display()))?;
    let version = built.project.package.as_ref().map_or_else(
        || "latest".to_owned(),
        |package| package.version.to_string(),
    );
    let image = oci::build_image(&ImageInput {
        module,
        env,
        port,
        labels,
        annotations: sandbox_annotations(&defaults)?,
    })?;
    Ok(AppImage {
        image,
        module: built.module.path.clone(),
        default_name: oci::default_name(&built.module.bin, &version),
    })
}
