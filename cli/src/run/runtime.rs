//! Which runtime runs an app: WasmEdge when asked for or found, else the embedded engine.

use clap::ValueEnum;

use crate::ui::errors::{hint, usage_error};
use crate::ui::printer::Printer;
use crate::util::wasmedge::{self, WasmEdge};

/// `--runtime`: the user's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    /// WasmEdge when it is found, else the embedded engine
    Auto,
    /// The `wasmedge` program
    Wasmedge,
    /// The engine built into cargo-wasock
    Embedded,
}

/// The runtime chosen for this run.
#[derive(Clone)]
pub enum Chosen {
    WasmEdge(WasmEdge),
    /// With why: asked for, or WasmEdge not found (already known; no second search).
    #[cfg_attr(not(feature = "embedded"), allow(dead_code))]
    Embedded(&'static str),
}

/// Resolve `requested` against what is installed; errors say what to install or pass instead.
pub fn choose(requested: Runtime) -> anyhow::Result<Chosen> {
    let embedded_missing = || {
        hint(
            "this cargo-wasock was built without the embedded engine",
            format!("{}, or reinstall cargo-wasock with default features (`cargo install --path cli --locked`)", wasmedge::INSTALL_HELP),
        )
    };
    match requested {
        Runtime::Wasmedge => match wasmedge::detect()? {
            Some(found) => Ok(Chosen::WasmEdge(found)),
            None => Err(hint(
                format!(
                    "`--runtime wasmedge` was requested but wasmedge was not found on {}",
                    wasmedge::SEARCH_DESCRIPTION
                ),
                format!("{}, or use `--runtime embedded`", wasmedge::INSTALL_HELP),
            )),
        },
        Runtime::Embedded if cfg!(feature = "embedded") => Ok(Chosen::Embedded("requested")),
        Runtime::Embedded => Err(embedded_missing()),
        Runtime::Auto => match wasmedge::detect()? {
            Some(found) => Ok(Chosen::WasmEdge(found)),
            None if cfg!(feature = "embedded") => Ok(Chosen::Embedded("WasmEdge not found")),
            None => Err(hint(
                format!(
                    "wasmedge was not found on {} and this cargo-wasock has no embedded engine",
                    wasmedge::SEARCH_DESCRIPTION
                ),
                format!(
                    "{}, or reinstall cargo-wasock with default features",
                    wasmedge::INSTALL_HELP
                ),
            )),
        },
    }
}

/// Why the engine runs an app started with `--instances N` (N > 1).
pub const INSTANCES_WHY: &str = "--instances needs the engine";

/// The runtime for `count` (> 1) instances: the embedded engine, which can share a port
/// between instances; WasmEdge runs one instance per process and a guest cannot ask it for
/// `SO_REUSEPORT`, so `--runtime wasmedge` is refused.
pub fn for_instances(requested: Runtime, count: u32, printer: &Printer) -> anyhow::Result<Chosen> {
    match requested {
        Runtime::Wasmedge => Err(usage_error(
            format!("`--runtime wasmedge` cannot run {count} instances: WasmEdge runs one instance per process"),
            "drop `--runtime wasmedge` (the embedded engine runs the instances on one port), or run one instance per WasmEdge process on ports of their own",
        )),
        Runtime::Auto | Runtime::Embedded => {
            let chosen = choose(Runtime::Embedded)?;
            if requested == Runtime::Auto {
                printer.verbose(format!(
                    "{count} instances run on the embedded engine: WasmEdge runs one instance per process"
                ));
            }
            Ok(match chosen {
                Chosen::Embedded(_) => Chosen::Embedded(INSTANCES_WHY),
                other => other,
            })
        }
    }
}
