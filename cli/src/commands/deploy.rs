//! `cargo wasock deploy --k8s`: write Kubernetes manifests (RuntimeClass, Deployment,
//! Service) for the app's image.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::project::metadata::{self, ResolveFlags};
use crate::run::environment;
use crate::run::sandbox;
use crate::ship::k8s::{self, AppDeployment};
use crate::ship::oci::{self, ImageName};
use crate::ui::errors::{hint, HintExt as _};
use crate::ui::printer::Printer;

#[derive(Args, Debug)]
#[command(
    about = "Write Kubernetes manifests that run the app's image on Wasm-capable nodes",
    long_about = "Write Kubernetes manifests for the app's image: a RuntimeClass naming the \
node's Wasm handler (runwasi's WasmEdge shim, `wasmedge`, or crun built with WasmEdge, `crun`), \
a Deployment (image, environment, port, resource requests, a TCP readiness probe, replicas) and \
a Service. Apply them with `kubectl apply -f DIR`. Existing files are never replaced unless \
--force is given.",
    after_help = "Examples:\n  cargo wasock deploy --k8s --image registry.example.com/team/hello:0.1.0\n  cargo wasock deploy --k8s --replicas 3 --runtime-class crun --output deploy/"
)]
pub struct DeployArgs {
    /// Write Kubernetes manifests (the one deploy target so far)
    #[arg(long, required = true)]
    pub k8s: bool,

    /// How many pods to run
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub replicas: u32,

    /// RuntimeClass name and its handler: `wasmedge` (runwasi's shim) or `crun`
    #[arg(long, value_name = "NAME", default_value = "wasmedge")]
    pub runtime_class: String,

    /// Directory to write the manifests into (created when missing)
    #[arg(short, long, value_name = "DIR", default_value = "k8s")]
    pub output: PathBuf,

    /// Image the pods run (default: the package's name and version, as `package` names it)
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,

    /// The port the app listens on (default: [package.metadata.wasock] port)
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,

    /// Replace manifests that already exist
    #[arg(long)]
    pub force: bool,

    /// Package whose metadata to use
    #[arg(short, long, value_name = "SPEC")]
    pub package: Option<String>,

    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

pub fn run(args: DeployArgs, printer: &Printer) -> anyhow::Result<i32> {
    let image = args
        .image
        .as_deref()
        .map(|image| ImageName::parse(image, "--image"))
        .transpose()?;
    if k8s::resource_name(&args.runtime_class) != args.runtime_class {
        return Err(hint(
            format!(
                "--runtime-class `{}` is not a valid Kubernetes name",
                args.runtime_class
            ),
            "use lowercase letters, digits and `-` (e.g. `wasmedge` or `crun`)",
        ));
    }
    // `cargo metadata --no-deps`, as build reads it: deploy needs only the manifest, so
    // nothing is resolved or written (no `Cargo.lock`).
    let project = metadata::load(
        args.manifest_path.as_deref(),
        args.package.as_deref(),
        &ResolveFlags::default(),
    )?;
    let package = project.package.as_ref().ok_or_else(|| {
        hint(
            "this workspace has several packages and none was chosen",
            "pass `-p NAME`",
        )
    })?;
    let defaults = project.defaults()?;
    let port = args.port.or(defaults.port).ok_or_else(|| {
        hint(
            "the app's port is not known",
            "pass `--port N` (your app's DEFAULT_PORT), or set `port = N` in [package.metadata.wasock]",
        )
    })?;
    let image = match image {
        Some(image) => image,
        None => ImageName::parse(
            &oci::default_name(package.name.as_str(), &package.version.to_string()),
            "the image name",
        )?,
    };
    let allow_connect = defaults
        .allow_connect
        .as_deref()
        .map(|entries| sandbox::parse_entries(entries, "[package.metadata.wasock] allow-connect:"))
        .transpose()?;
    let app = AppDeployment {
        name: k8s::resource_name(package.name.as_str()),
        image: image.text.clone(),
        port,
        env: environment::assemble(&defaults, Vec::new(), Some(port)),
        replicas: args.replicas,
        runtime_class: args.runtime_class.clone(),
        memory_limit: defaults.memory_limit,
        allow_connect,
    };
    let files = k8s::manifests(&app);
    for note in k8s::network_policy_notes(&app) {
        printer.note(note);
    }

    // All or nothing: refuse before writing any file.
    let existing: Vec<String> = files
        .iter()
        .map(|(name, _)| args.output.join(name))
        .filter(|path| path.exists())
        .map(|path| format!("`{}`", path.display()))
        .collect();
    if !existing.is_empty() && !args.force {
        return Err(hint(
            format!(
                "{} already exist{}",
                existing.join(", "),
                if existing.len() == 1 { "s" } else { "" }
            ),
            "choose another `--output DIR`, or pass `--force` to replace them",
        ));
    }
    std::fs::create_dir_all(&args.output).hint_context(
        format!("could not create `{}`", args.output.display()),
        "choose another `--output DIR`",
    )?;
    for (name, yaml) in &files {
        let path = args.output.join(name);
        std::fs::write(&path, yaml)
            .with_context(|| format!("could not write `{}`", path.display()))?;
        printer.status("Wrote", path.display());
    }
    printer.note(format!(
        "apply with `kubectl apply -f {}`; the pods pull `{}` and need nodes whose containerd has the `{}` handler",
        args.output.display(),
        image.text,
        args.runtime_class
    ));
    Ok(0)
}
