//! `cargo wasock doctor`: is everything `new`, `build` and `run` need in place?

use std::path::PathBuf;
use std::process::Command;

use clap::Args;
use console::style;

use serde::Serialize;

use crate::build::target;
use crate::ui::messages::MessageFormatArgs;
use crate::ui::printer::Printer;
use crate::util::wasmedge;

#[derive(Args, Debug)]
#[command(
    about = "Check the tools cargo-wasock needs",
    long_about = "Check cargo, rustup, the WASI target, WasmEdge, the embedded engine and the C \
toolchain JavaScript apps are built with.\n\n\
Each line is ✓ (present), ! (optional and missing) or ✗ (required and missing); every ! and ✗ \
comes with the command that fixes it. The exit status is non-zero when something required is \
missing: cargo and the WASI target always, and a runtime (WasmEdge or the embedded engine).",
    after_help = "Example:\n  cargo wasock doctor\n  cargo wasock doctor --message-format json"
)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub format: MessageFormatArgs,
}

/// `--message-format json`'s `doctor-check`: one per line of the report.
#[derive(Serialize)]
struct CheckMessage<'a> {
    name: &'a str,
    /// `ok`, `warn` (optional and missing) or `error` (required and missing).
    status: &'static str,
    /// What was found, or what is wrong.
    detail: &'a str,
    /// The command that fixes it, when it is not `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
}

struct Check {
    name: &'static str,
    detail: Result<String, String>,
    /// What to run when the check fails.
    fix: String,
    required: bool,
}

fn tool_version(program: impl Into<PathBuf>) -> Result<String, String> {
    let program = program.into();
    let path =
        which::which(&program).map_err(|_| format!("`{}` not found on PATH", program.display()))?;
    match Command::new(&path).arg("--version").output() {
        Ok(output) if output.status.success() => {
            let text = String::from_utf8_lossy(&output.stdout);
            Ok(format!(
                "{} ({})",
                text.lines().next().unwrap_or_default().trim(),
                path.display()
            ))
        }
        Ok(output) => Err(format!(
            "`{} --version` failed ({})",
            path.display(),
            output.status
        )),
        Err(error) => Err(format!("could not run `{}`: {error}", path.display())),
    }
}

pub fn run(args: DoctorArgs, printer: &Printer) -> anyhow::Result<i32> {
    let printer = printer.with_message_format(args.format);
    let mut checks = Vec::new();
    checks.push(Check {
        name: "cargo",
        detail: tool_version(target::cargo_program()),
        fix: "install Rust with rustup: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh".into(),
        required: true,
    });
    let rustup = tool_version("rustup");
    let has_rustup = rustup.is_ok();
    checks.push(Check {
        name: "rustup",
        detail: rustup,
        fix: "install rustup (https://rustup.rs); it installs the WASI target for you".into(),
        required: false,
    });
    let (target_detail, target_fix) = wasi_target_check(has_rustup);
    checks.push(Check {
        name: "WASI target",
        detail: target_detail,
        fix: target_fix,
        required: true,
    });

    let found = wasmedge::detect();
    let has_wasmedge = matches!(found, Ok(Some(_)));
    let embedded = embedded_engine();
    let has_embedded = embedded.is_ok();
    checks.push(Check {
        name: "wasmedge",
        detail: match found {
            Ok(Some(found)) => Ok(format!("WasmEdge {} ({})", found.version, found.path.display())),
            Ok(None) => Err(format!("not found on {}", wasmedge::SEARCH_DESCRIPTION)),
            Err(error) => Err(format!("{error:#}")),
        },
        fix: "curl -sSf https://raw.githubusercontent.com/WasmEdge/WasmEdge/master/utils/install.sh | bash".into(),
        required: !has_embedded,
    });
    checks.push(Check {
        name: "embedded engine",
        detail: embedded,
        fix: "cargo install --path cli --locked   (default features include the engine)".into(),
        required: !has_wasmedge,
    });

    checks.push(Check {
        name: "C for wasm",
        detail: crate::build::cc::doctor_check(),
        fix: crate::build::cc::install_command(),
        required: false,
    });

    checks.push(Check {
        name: "JS toolchain",
        detail: crate::js::doctor_check(),
        fix: crate::js::install_command(),
        required: false,
    });

    // With `--message-format json` the report for people goes to stderr: stdout is the
    // messages'.
    let report = |line: String| {
        if printer.json_messages() {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let mut missing_required = false;
    for check in &checks {
        let (status, detail) = match &check.detail {
            Ok(detail) => ("ok", detail),
            Err(problem) if check.required => ("error", problem),
            Err(problem) => ("warn", problem),
        };
        printer.message(
            "doctor-check",
            &CheckMessage {
                name: check.name,
                status,
                detail,
                help: check.detail.is_err().then_some(check.fix.as_str()),
            },
        );
        // An optional part that is missing is a warning, not a failure.
        let (mark, label) = match status {
            "ok" => (style("✓").green().bold(), ""),
            "error" => (style("✗").red().bold(), ""),
            _ => (style("!").yellow().bold(), " (optional)"),
        };
        report(format!("{mark} {:<16} {detail}{label}", check.name));
        if check.detail.is_err() {
            report(format!("  {:<16} fix: {}", "", check.fix));
        }
        missing_required |= status == "error";
    }
    Ok(if missing_required { 1 } else { 0 })
}

fn wasi_target_check(has_rustup: bool) -> (Result<String, String>, String) {
    let (version, parsed) = match target::rustc_version() {
        Ok(found) => found,
        Err(error) => {
            return (
                Err(format!("{error:#}")),
                "install Rust with rustup (https://rustup.rs)".into(),
            )
        }
    };
    let triple = target::wasi_triple_for(parsed);
    let fix = if has_rustup {
        format!("rustup target add {triple}")
    } else {
        format!("install rustup, then run `rustup target add {triple}`")
    };
    match target::target_installed(
        triple,
        which::which("rustup").ok().as_deref(),
        std::path::Path::new("."),
    ) {
        Ok(true) => (Ok(format!("{triple} (rustc {version})")), fix),
        Ok(false) => (
            Err(format!("{triple} is not installed for rustc {version}")),
            fix,
        ),
        Err(error) => (Err(format!("{error:#}")), fix),
    }
}

#[cfg(feature = "embedded")]
fn embedded_engine() -> Result<String, String> {
    Ok(format!("built in ({})", wasock_engine::version()))
}

#[cfg(not(feature = "embedded"))]
fn embedded_engine() -> Result<String, String> {
    Err("not built in (cargo-wasock was compiled without the `embedded` feature)".into())
}
