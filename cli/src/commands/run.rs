//! `cargo wasock run`: build (as `cargo run` does), then launch on WasmEdge or the embedded engine.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::build::{aot_compiler, build_app, CargoArgs};
use crate::aot::AotBy;
use crate::errors::{hint, HintExt as _};
use crate::launch;
use crate::launch_spec::{DirMapping, LaunchSpec};
use crate::metadata::WasockDefaults;
use crate::printer::Printer;
use crate::wasmedge::{self, WasmEdge};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    /// WasmEdge when it is found, else the embedded engine
    Auto,
    /// The `wasmedge` program
    Wasmedge,
    /// The engine built into cargo-wasock
    Embedded,
}

/// `--env KEY=VALUE` sets a variable; `--env KEY` copies the host's value.
#[derive(Debug, Clone)]
pub struct EnvArg {
    pub key: String,
    pub value: Option<String>,
}

impl FromStr for EnvArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (key, value) = match text.split_once('=') {
            Some((key, value)) => (key, Some(value.to_owned())),
            None => (text, None),
        };
        if key.is_empty() {
            return Err("the variable name is empty; expected KEY=VALUE or KEY".to_owned());
        }
        if key.chars().any(|c| c.is_whitespace() || c == '\0') {
            return Err(format!(
                "the variable name `{key}` contains whitespace; expected KEY=VALUE or KEY"
            ));
        }
        Ok(EnvArg {
            key: key.to_owned(),
            value,
        })
    }
}

#[derive(Args, Debug)]
#[command(
    about = "Build and run the app on WasmEdge or the embedded engine",
    long_about = "Build the app, then run it on WasmEdge or on the embedded engine.\n\n\
WasmEdge is looked for on PATH, then in $WASMEDGE_DIR/bin and ~/.wasmedge/bin. It does not \
inherit the host environment, so variables are passed explicitly: from [package.metadata.wasock], \
then --env-file, then --env, then --port (later ones win). Before launch a busy port is reported; \
after launch the URL is printed once the app accepts connections. The app's exit code is run's \
exit code (128 + N when it dies by signal N).\n\n\
The WasmEdge command line is always, in this order:\n  \
wasmedge [--dir GUEST:HOST[:readonly]]... [--env KEY=VALUE]... [--run-mode=aot] MODULE [ARGS]...\n\
where --run-mode=aot is given for an --aot module on WasmEdge 0.17 or later.",
    after_help = "Examples:\n  cargo wasock run --port 8080\n  cargo wasock run --release --aot --env RUST_LOG=debug --env HOME --env-file .env\n  \
cargo wasock run --dir /data:./data:readonly -- --verbose input.txt\n  cargo wasock run --runtime embedded --wasm target/wasm32-wasip1/debug/hello.wasm"
)]
pub struct RunArgs {
    /// Compile ahead of time before running
    #[arg(long)]
    pub aot: bool,

    /// Set a variable for the app (KEY=VALUE), or copy the host's (KEY); repeatable
    #[arg(short, long = "env", value_name = "KEY=VALUE|KEY")]
    pub env: Vec<EnvArg>,

    /// Read variables from a dotenv file (KEY=VALUE lines)
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    /// Port for the app (sets PORT); checked free before launch, waited for after
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// Map a host directory into the app: GUEST:HOST or GUEST:HOST:readonly; repeatable
    #[arg(long, value_name = "GUEST:HOST[:readonly]")]
    pub dir: Vec<DirMapping>,

    /// Which runtime runs the app
    #[arg(long, value_enum, default_value_t = Runtime::Auto)]
    pub runtime: Runtime,

    /// Run this prebuilt module instead of building (no cargo, no package metadata)
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "release", "profile", "package", "bin", "features", "all_features", "no_default_features",
        "manifest_path", "target_dir", "locked", "offline", "frozen",
    ])]
    pub wasm: Option<PathBuf>,

    /// Arguments for the app
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,

    // Last, because its help heading applies to every argument after it.
    #[command(flatten)]
    pub cargo: CargoArgs,
}

/// The runtime chosen for this run.
enum Chosen {
    WasmEdge(WasmEdge),
    /// With why: asked for, or WasmEdge not found (already known; no second search).
    #[cfg_attr(not(feature = "embedded"), allow(dead_code))]
    Embedded(&'static str),
}

fn choose_runtime(requested: Runtime) -> anyhow::Result<Chosen> {
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

pub fn run(args: RunArgs, printer: &Printer) -> anyhow::Result<i32> {
    let runtime = choose_runtime(args.runtime)?;
    let aot_by = match (&runtime, args.aot) {
        (_, false) => AotBy::Nobody,
        (Chosen::WasmEdge(found), true) => aot_compiler(Some(found))?,
        (Chosen::Embedded(_), true) => aot_compiler(None)?,
    };

    // Everything the flags say is checked before building, so a typo fails fast.
    let flag_env = flag_env(&args)?;
    let flag_dirs = resolve_dirs(args.dir.clone())?;
    if let Some(port) = args.port {
        launch::check_port_free(port)?;
    }

    let (module, aot_output, defaults) = match &args.wasm {
        Some(wasm) => prebuilt(wasm, aot_by, printer)?,
        None => {
            let built = build_app(&args.cargo, aot_by, printer)?;
            let defaults = built.project.defaults()?;
            (built.module.path, built.aot, defaults)
        }
    };

    let env = assemble_env(&defaults, flag_env, args.port);
    let port = match env.iter().find(|(key, _)| key == "PORT") {
        Some((_, value)) => {
            match value.parse::<u16>() {
                Ok(0) => None,
                Ok(port) => Some(port),
                Err(_) => {
                    printer.warn(format!("PORT={value} is not a port number, so it is neither checked nor waited for"));
                    None
                }
            }
        }
        None => None,
    };
    let mut dirs = resolve_dirs(defaults.dirs.clone())?;
    dirs.extend(flag_dirs);
    if let Some(port) = port {
        launch::check_port_free(port)?;
    }

    match runtime {
        Chosen::WasmEdge(found) => {
            let aot = aot_output.is_some();
            let spec = LaunchSpec {
                module: aot_output.unwrap_or(module),
                args: args.args.clone(),
                env,
                dirs,
            };
            let run_mode_aot = aot && found.needs_run_mode_aot();
            let mode = if run_mode_aot {
                ", AOT"
            } else if aot {
                ", AOT (default run mode)"
            } else {
                ""
            };
            printer.status(
                "Running",
                format!(
                    "{} on WasmEdge {}{mode} ({})",
                    spec.program_name(),
                    found.version,
                    found.path.display()
                ),
            );
            let arguments = wasmedge::run_arguments(&spec, run_mode_aot);
            let shown = format!(
                "{} {}",
                found.path.display(),
                arguments
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            printer.verbose(format!("running `{shown}`"));
            let mut command = std::process::Command::new(&found.path);
            command.args(&arguments);
            launch::run_child(command, &shown, port, printer)
        }
        Chosen::Embedded(why) => {
            let spec = LaunchSpec {
                module,
                args: args.args.clone(),
                env,
                dirs,
            };
            run_embedded(spec, why, aot_output, port, printer)
        }
    }
}

#[cfg(feature = "embedded")]
fn run_embedded(
    spec: LaunchSpec,
    why: &str,
    precompiled: Option<PathBuf>,
    port: Option<u16>,
    printer: &Printer,
) -> anyhow::Result<i32> {
    // Before compiling, which can take a while: a Ctrl-C then must stop us too.
    launch::end_process_on_stop_signals()?;
    printer.status(
        "Running",
        format!(
            "{} on the embedded engine ({}; {why})",
            spec.program_name(),
            crate::engine::version()
        ),
    );
    let app = crate::engine::prepare(&spec, precompiled.as_deref()).with_context(|| {
        format!(
            "could not start `{}` on the embedded engine",
            spec.module.display()
        )
    })?;
    let how = if precompiled.is_some() {
        "precompiled"
    } else {
        "compiled from wasm"
    };
    printer.status(
        "Ready",
        format!("in {} ms ({how})", app.startup_time().as_millis()),
    );
    let _watch = port.map(|port| launch::watch_port(port, printer.clone()));
    app.run()
}

#[cfg(not(feature = "embedded"))]
fn run_embedded(
    _spec: LaunchSpec,
    _why: &str,
    _precompiled: Option<PathBuf>,
    _port: Option<u16>,
    _printer: &Printer,
) -> anyhow::Result<i32> {
    unreachable!("choose_runtime never picks the embedded engine when it is not compiled in")
}

/// `--wasm FILE`: no cargo; AOT output goes beside the file (WasmEdge) or into `./wasock/` there.
fn prebuilt(
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
    let aot = crate::aot::compile(aot_by, wasm, beside, printer)?;
    Ok((wasm.to_path_buf(), aot, WasockDefaults::default()))
}

/// Host paths made absolute (WasmEdge and the engine may run elsewhere) and checked.
fn resolve_dirs(mut dirs: Vec<DirMapping>) -> anyhow::Result<Vec<DirMapping>> {
    for dir in &mut dirs {
        let given = dir.to_string();
        dir.host = std::path::absolute(&dir.host)
            .with_context(|| format!("could not resolve `{}`", dir.host.display()))?;
        if !dir.host.is_dir() {
            return Err(hint(
                format!(
                    "the host directory `{}` of `--dir {given}` does not exist",
                    dir.host.display()
                ),
                "create it, or fix the HOST part of GUEST:HOST[:readonly]",
            ));
        }
    }
    Ok(dirs)
}

/// The variables the flags give: the env file's, then `--env`'s, in order.
fn flag_env(args: &RunArgs) -> anyhow::Result<Vec<(String, String)>> {
    let mut env = Vec::new();
    if let Some(file) = &args.env_file {
        let entries = dotenvy::from_path_iter(file).hint_context(
            format!("could not read the env file `{}`", file.display()),
            "pass an existing file of KEY=VALUE lines",
        )?;
        for entry in entries {
            let pair = entry.hint_context(
                format!("could not parse the env file `{}`", file.display()),
                "each line should be KEY=VALUE (quotes and # comments allowed)",
            )?;
            env.push(pair);
        }
    }
    for arg in &args.env {
        let value = match &arg.value {
            Some(value) => value.clone(),
            None => std::env::var(&arg.key).map_err(|_| {
                hint(
                    format!(
                        "`--env {}` copies the host's {0}, which is not set",
                        arg.key
                    ),
                    format!("set {0} in your shell, or pass `--env {0}=VALUE`", arg.key),
                )
            })?,
        };
        env.push((arg.key.clone(), value));
    }
    Ok(env)
}

/// Package defaults, then the flags' variables, then `--port`; a later key replaces an
/// earlier one in place, so the order of first mention is kept.
fn assemble_env(
    defaults: &WasockDefaults,
    flag_env: Vec<(String, String)>,
    port: Option<u16>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set =
        |key: String, value: String| match env.iter_mut().find(|(existing, _)| *existing == key) {
            Some(slot) => slot.1 = value,
            None => env.push((key, value)),
        };
    for (key, value) in &defaults.env {
        set(key.clone(), value.clone());
    }
    if let Some(port) = defaults.port {
        set("PORT".to_owned(), port.to_string());
    }
    for (key, value) in flag_env {
        set(key, value);
    }
    if let Some(port) = port {
        set("PORT".to_owned(), port.to_string());
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_flags_set_or_copy() {
        let set: EnvArg = "A=b=c".parse().unwrap();
        assert_eq!((set.key.as_str(), set.value.as_deref()), ("A", Some("b=c")));
        let copy: EnvArg = "HOME".parse().unwrap();
        assert_eq!((copy.key.as_str(), copy.value), ("HOME", None));
        let empty: EnvArg = "A=".parse().unwrap();
        assert_eq!(empty.value.as_deref(), Some(""));
        assert!("=x".parse::<EnvArg>().is_err());
        assert!("".parse::<EnvArg>().is_err());
        assert!("A B=1".parse::<EnvArg>().is_err());
    }

    #[test]
    fn later_sources_replace_values_in_place() {
        let defaults = WasockDefaults {
            port: Some(1234),
            env: vec![
                ("LOG".into(), "info".into()),
                ("NAME".into(), "meta".into()),
            ],
            dirs: Vec::new(),
        };
        let flags = vec![
            ("NAME".into(), "flag".into()),
            ("EXTRA".into(), "1".into()),
            ("PORT".into(), "9".into()),
        ];
        let env = assemble_env(&defaults, flags, Some(8080));
        let expected: Vec<(String, String)> = [
            ("LOG", "info"),
            ("NAME", "flag"),
            ("PORT", "8080"),
            ("EXTRA", "1"),
        ]
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
        assert_eq!(env, expected);
    }
}
