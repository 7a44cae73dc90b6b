//! `cargo wasock push REF`: build the app's image (as `package` does) and push it to a
//! registry.

use clap::Args;

use crate::build::args::CargoArgs;
use crate::ship::image::{self, ImageOptions};
use crate::ship::oci::ImageName;
use crate::ship::registry::{self, PushOptions};
use crate::ui::printer::Printer;

#[derive(Args, Debug)]
#[command(
    about = "Build the app's OCI image and push it to a registry",
    long_about = "Build the app's OCI image (the same image `package` writes) and push it to a \
registry over the OCI distribution API, as REF: [REGISTRY[:PORT]/]NAME[:TAG] (Docker Hub when \
no registry is named; tag `latest` when none is given). Credentials come from Docker's \
config.json (`docker login`), including its credential helpers; without them the push is \
anonymous. The manifest digest is printed on stdout.\n\n\
The image is built with the release profile, as `cargo install` does; --debug (or --profile \
dev) builds with the dev profile instead. The profile used is said on stderr.",
    after_help = "Examples:\n  cargo wasock push registry.example.com/team/hello:0.1.0\n  cargo wasock push --insecure 127.0.0.1:5000/hello:dev"
)]
pub struct PushArgs {
    /// Where to push: [REGISTRY[:PORT]/]NAME[:TAG]
    #[arg(value_name = "REF")]
    pub reference: String,

    /// Talk plain HTTP to the registry (a local or in-cluster registry without TLS)
    #[arg(long)]
    pub insecure: bool,

    /// Put WasmEdge's AOT output in the image (needs WasmEdge)
    #[arg(long)]
    pub aot: bool,

    /// The port the app listens on: exposed, and set as PORT (default: [package.metadata.wasock] port)
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,

    /// Build with the dev profile (unoptimized, with debug info) instead of release
    #[arg(long, conflicts_with_all = ["release", "profile"])]
    pub debug: bool,

    #[command(flatten)]
    pub cargo: CargoArgs,
}

pub fn run(mut args: PushArgs, printer: &Printer) -> anyhow::Result<i32> {
    let name = ImageName::parse(&args.reference, "the reference")?;
    let wasmedge = image::aot_wasmedge(args.aot)?;
    image::say_profile(args.cargo.ship_profile(args.debug), printer);
    let app = image::build(
        &args.cargo,
        &ImageOptions { port: args.port },
        wasmedge.as_ref(),
        printer,
    )?;
    let _spinner = printer.spinner("Pushing", &name.text);
    registry::push(
        &app.image,
        &name,
        &PushOptions {
            insecure: args.insecure,
        },
        printer,
    )?;
    drop(_spinner);
    printer.status(
        "Pushed",
        format!("{} ({})", name.text, app.image.manifest.digest),
    );
    println!("{}", app.image.manifest.digest);
    Ok(0)
}
