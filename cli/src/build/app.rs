//! The module an app runs from: built by cargo for WASI (then compiled ahead of time when
//! asked), or a prebuilt file given with `--wasm`. Shared by `build` and `run`.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::build::aot::{self, AotBy, AotHome};
use crate::build::args::CargoArgs;
use crate::build::cargo::{self, BuiltModule};
use crate::project::metadata::{self, Project, WasockDefaults};
use crate::ui::errors::{hint, usage_error};
use crate::ui::printer::Printer;
use crate::util::wasmedge::{self, WasmEdge};

/// What a build produced.
pub struct Built {
    pub module: BuiltModule,
    /// The AOT output: WasmEdge's `.aot.wasm` or the embedded engine's precompiled file.
    pub aot: Option<PathBuf>,
    pub project: Project,
}

/// `--message-format json`'s `artifact`: the module cargo built for the WASI target.
#[derive(serde::Serialize)]
struct ArtifactMessage<'a> {
    path: &'a Path,
    /// cargo's profile name: `dev`, `release` or `--profile`'s.
    profile: &'a str,
    /// The target triple, e.g. `wasm32-wasip1`.
    target: &'a str,
}

/// Target check and `cargo metadata` beside `cargo build`, then AOT: shared by `build` and `run`.
pub fn build_app(args: &CargoArgs, aot_by: AotBy<'_>, printer: &Printer) -> anyhow::Result<Built> {
    if let Some(manifest) = args.manifest_path.as_deref().filter(|path| !path.is_file()) {
        return Err(usage_error(
            format!("the manifest `{}` does not exist", manifest.display()),
            "pass `--manifest-path` the path of a project's Cargo.toml",
        ));
    }
    let (module, project, target) =
        cargo::build_for_wasi(&args.to_flags(), &args.project_dir(), printer, || {
            metadata::load(
                args.manifest_path.as_deref(),
                args.package.as_deref(),
                &args.resolve_flags(),
            )
        })?;
    printer.verbose(format!(
        "rustc {} → target {}",
        target.rustc_version.as_deref().unwrap_or("(not asked)"),
        target.triple
    ));
    printer.status("Built", aot::describe(&module.path));
    printer.message(
        "artifact",
        &ArtifactMessage {
            path: &module.path,
            profile: args.profile_name(),
            target: target.triple,
        },
    );
    let aot = aot::compile(aot_by, &module.path, AotHome::BesideArtifact, printer)?;
    Ok(Built {
        module,
        aot,
        project,
    })
}

/// `--aot` uses WasmEdge when found, else the embedded engine, else fails before building.
pub fn aot_compiler(wasmedge: Option<&WasmEdge>) -> anyhow::Result<AotBy<'_>> {
    if let Some(wasmedge) = wasmedge {
        return Ok(AotBy::WasmEdge(wasmedge));
    }
    if cfg!(feature = "embedded") {
        return Ok(AotBy::EmbeddedEngine);
    }
    Err(hint(
        format!("`--aot` needs WasmEdge, which was not found on {}", wasmedge::SEARCH_DESCRIPTION),
        format!("{}, build without `--aot`, or install a cargo-wasock built with its embedded engine (default features)", wasmedge::INSTALL_HELP),
    ))
}

/// The up-to-date WasmEdge AOT output of `module` that an earlier `--aot` left (beside
/// a cargo artifact, or in the user's cache for a `--wasm` module): `run` uses it
/// without being asked.
pub fn existing_wasmedge_aot(
    wasmedge: &WasmEdge,
    module: &Path,
    prebuilt: bool,
    printer: &Printer,
) -> anyhow::Result<Option<PathBuf>> {
    let home = if prebuilt {
        AotHome::UserCache
    } else {
        AotHome::BesideArtifact
    };
    let found = aot::current_wasmedge_aot(wasmedge, module, home)?;
    match &found {
        Some(output) => printer.status("AOT", aot::describe_with(output, "up to date, used")),
        None => printer.note(
            "WasmEdge runs this module in its interpreter; `--aot` compiles it ahead of time once, and later runs use that",
        ),
    }
    Ok(found)
}

/// The four bytes every binary wasm module starts with.
const WASM_MAGIC: [u8; 4] = *b"\0asm";

/// `--wasm FILE`: no cargo; AOT output goes into the user's cache, never beside the file.
pub fn prebuilt(
    wasm: &Path,
    aot_by: AotBy<'_>,
    printer: &Printer,
) -> anyhow::Result<(PathBuf, Option<PathBuf>, WasockDefaults)> {
    if !wasm.is_file() {
        return Err(hint(
            format!("the module `{}` does not exist", wasm.display()),
            "build it first, or drop `--wasm` to let run build the project",
        ));
    }
    check_wasm_magic(wasm)?;
    let aot = aot::compile(aot_by, wasm, AotHome::UserCache, printer)?;
    Ok((wasm.to_path_buf(), aot, WasockDefaults::default()))
}

/// Refuse a file that is not a binary wasm module before any runtime parses it (the
/// engine would read text as WAT and report a parser error about parentheses).
fn check_wasm_magic(wasm: &Path) -> anyhow::Result<()> {
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(wasm).and_then(|mut file| file.read_exact(&mut magic));
    match read {
        Ok(()) if magic == WASM_MAGIC => Ok(()),
        Err(error) if error.kind() != std::io::ErrorKind::UnexpectedEof => {
            Err(error).with_context(|| format!("could not read `{}`", wasm.display()))
        }
        _ => Err(hint(
            format!(
                "`{}` is not a wasm module (it does not start with the bytes `\\0asm`)",
                wasm.display()
            ),
            "pass the `.wasm` file cargo built, e.g. target/wasm32-wasip1/release/NAME.wasm, or drop `--wasm` to build the project",
        )),
    }
}
