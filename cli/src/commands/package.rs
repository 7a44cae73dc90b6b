//! `cargo wasock package`: build, then write the app's OCI image as an image-layout archive.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use crate::build::args::CargoArgs;
use crate::ship::image::{self, ImageOptions};
use crate::ship::oci::{self, ImageName};
use crate::ui::errors::hint;
use crate::ui::printer::{human_size, Printer};

#[derive(Args, Debug)]
#[command(
    about = "Build the app and write it as an OCI image archive",
    long_about = "Build the app and write it as an OCI image (an OCI image-layout tar archive), \
ready for `skopeo copy oci-archive:FILE …`, `ctr image import` or `cargo wasock push`.\n\n\
The image has one layer holding the module at /app.wasm, its entrypoint, the environment and \
port from [package.metadata.wasock], platform wasi/wasm and the annotation \
module.wasm.image/variant=compat-smart (which runwasi's WasmEdge shim and crun use to run it \
as Wasm). The same input gives the same digest. The manifest digest is printed on stdout.\n\n\
An image is built to ship, so it is built with the release profile, as `cargo install` does; \
--debug (or --profile dev) builds with the dev profile instead. The profile used is said on \
stderr.",
    after_help = "Examples:\n  cargo wasock package\n  cargo wasock package --tag registry.example.com/team/hello:0.1.0 --output hello.tar"
)]
pub struct PackageArgs {
    /// Image name and tag, NAME[:TAG] (default: the binary's name and the package version)
    #[arg(long, value_name = "NAME:TAG")]
    pub tag: Option<String>,

    /// Where to write the archive (default: NAME.oci.tar beside the built module)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace an existing --output file
    #[arg(long)]
    pub force: bool,

    /// Put WasmEdge's AOT output in the image (needs WasmEdge; labelled with its architecture and version)
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

pub fn run(mut args: PackageArgs, printer: &Printer) -> anyhow::Result<i32> {
    // Everything that can be refused is refused before building.
    let name = args
        .tag
        .as_deref()
        .map(|tag| ImageName::parse(tag, "--tag"))
        .transpose()?;
    if let Some(output) = &args.output {
        check_output(output, args.force)?;
    }
    let wasmedge = image::aot_wasmedge(args.aot)?;
    image::say_profile(args.cargo.ship_profile(args.debug), printer);
    let options = ImageOptions { port: args.port };
    let app = image::build(&args.cargo, &options, wasmedge.as_ref(), printer)?;
    let name = match name {
        Some(name) => name,
        None => ImageName::parse(&app.default_name, "the image name")?,
    };
    let output = match &args.output {
        Some(output) => output.clone(),
        None => {
            let stem = app
                .module
                .file_stem()
                .map_or_else(|| "app".into(), |s| s.to_string_lossy().into_owned());
            app.module.with_file_name(format!("{stem}.oci.tar"))
        }
    };
    write_archive(
        &app.image,
        &name,
        &output,
        args.output.is_some() && !args.force,
    )?;
    let size = std::fs::metadata(&output).map_or(0, |meta| meta.len());
    printer.status(
        "Packaged",
        format!(
            "{} ({}) as {}",
            output.display(),
            human_size(size),
            name.text
        ),
    );
    if args.aot {
        printer.verbose(format!(
            "the image holds {} AOT code",
            std::env::consts::ARCH
        ));
    }
    println!("{}", app.image.manifest.digest);
    Ok(0)
}

fn check_output(output: &Path, force: bool) -> anyhow::Result<()> {
    if output.exists() && !force {
        return Err(hint(
            format!("`{}` already exists", output.display()),
            "choose another `--output`, or pass `--force` to replace it",
        ));
    }
    if output.is_dir() {
        return Err(hint(
            format!("`{}` is a directory", output.display()),
            "give `--output` a file name, e.g. app.oci.tar",
        ));
    }
    Ok(())
}

/// Write through a temporary file in the same directory, so a failure leaves nothing behind
/// and a reader never sees half an archive; `no_clobber` refuses a file that appeared meanwhile.
fn write_archive(
    image: &oci::Image,
    name: &ImageName,
    output: &Path,
    no_clobber: bool,
) -> anyhow::Result<()> {
    let dir = match output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|error| {
        crate::ui::errors::hint_on(
            error,
            format!("could not write into `{}`", dir.display()),
            "create the directory first, or choose another `--output`",
        )
    })?;
    oci::write_layout_archive(image, name, std::io::BufWriter::new(file.as_file_mut()))?;
    file.as_file().sync_all().ok();
    let persisted = if no_clobber {
        file.persist_noclobber(output).map(drop)
    } else {
        file.persist(output).map(drop)
    };
    persisted
        .map_err(|error| error.error)
        .with_context(|| format!("could not write `{}`", output.display()))
}
