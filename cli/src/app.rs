//! The module an app runs from: built by cargo for WASI (then compiled ahead of time when
//! asked), or a prebuilt file given with `--wasm`. Shared by `build` and `run`.

use std::path::{Path, PathBuf};

use crate::aot::{self, AotBy};
use crate::cargo_build::{self, BuiltModule};
use crate::commands::build::CargoArgs;
use crate::errors::hint;
use crate::metadata::{self, Project, WasockDefaults};
use crate::printer::Printer;
use crate::wasmedge::{self, WasmEdge};

/// What a build produced.
pub struct Built {
    pub module: BuiltModule,
    /// The AOT output: WasmEdge's `.aot.wasm` or the embedded engine's precompiled file.
    pub aot: Option<PathBuf>,
    pub project: Project,
}

/// Target check and `cargo metadata` beside `cargo build`, then AOT: shared by `build` and `run`.
pub fn build_app(args: &CargoArgs, aot_by: AotBy<'_>, printer: &Printer) -> anyhow::Result<Built> {
    let (module, project, target) =
        cargo_build::build_for_wasi(&args.to_flags(), &args.project_dir(), printer, || {
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
    let aot = aot::compile(aot_by, &module.path, &project.target_dir(), printer)?;
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

/// `--wasm FILE`: no cargo; AOT output goes beside the file (WasmEdge) or into `./wasock/` there.
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
    let beside = wasm
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let aot = aot::compile(aot_by, wasm, beside, printer)?;
    Ok((wasm.to_path_buf(), aot, WasockDefaults::default()))
}
