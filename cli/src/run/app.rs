//! Running the app from `run`'s flags (`run` and `watch`): check the flags, choose the
//! runtime, build the package (or take a prebuilt module or the JS runtime), assemble its
//! environment and directories, and launch it on WasmEdge or the embedded engine; and the
//! `--message-format json` messages that run emits on the way.

use std::path::PathBuf;

use serde::Serialize;

use crate::build::aot::AotBy;
use crate::build::app::{aot_compiler, build_app, existing_wasmedge_aot, prebuilt};
use crate::project::dirs::DirMapping;
use crate::project::metadata::WasockDefaults;
use crate::run::environment;
use crate::run::flags::RunFlags;
use crate::run::launch;
use crate::run::launch_spec::LaunchSpec;
use crate::run::runtime::{self, Chosen, Runtime};
use crate::run::sandbox::SandboxSettings;
use crate::ui::printer::Printer;
use crate::util::wasmedge::WasmEdge;

/// `--message-format json`'s `runtime`: which runtime runs the app, and why.
#[derive(Serialize)]
pub struct RuntimeMessage {
    /// `wasmedge` or `embedded`.
    name: &'static str,
    /// WasmEdge's version, or the engine's (`wasmtime 48.0.8`).
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    /// Why this one: `requested`, `WasmEdge found`, `WasmEdge not found`. (Not `reason`,
    /// which every message's framing uses for its kind.)
    why: &'static str,
}

impl RuntimeMessage {
    pub fn new(runtime: &Chosen, requested: Runtime) -> RuntimeMessage {
        match runtime {
            Chosen::WasmEdge(found) => RuntimeMessage {
                name: "wasmedge",
                version: Some(found.version.clone()),
                why: if requested == Runtime::Wasmedge {
                    "requested"
                } else {
                    "WasmEdge found"
                },
            },
            Chosen::Embedded(why) => RuntimeMessage {
                name: "embedded",
                #[cfg(feature = "embedded")]
                version: Some(wasock_engine::version()),
                #[cfg(not(feature = "embedded"))]
                version: None,
                why,
            },
        }
    }
}

/// The runtime once the package's metadata is known (`run` and each `watch` cycle): its
/// `instances` and its sandbox policy may need the engine that the flags did not. As for
/// the flags, `--runtime auto` then takes the engine over a WasmEdge it found (said under
/// `-v`, and as a second `runtime` message), and `--runtime wasmedge` is refused.
pub fn for_package(
    runtime: Chosen,
    requested: Runtime,
    instances: u32,
    sandbox: &SandboxSettings,
    printer: &Printer,
) -> anyhow::Result<Chosen> {
    if !matches!(runtime, Chosen::WasmEdge(_)) || (instances <= 1 && !sandbox.has_policy()) {
        return Ok(runtime);
    }
    let chosen = if instances > 1 {
        runtime::for_instances(requested, instances, printer)?
    } else {
        sandbox.runtime(
            runtime,
            requested,
            "from [package.metadata.wasock]",
            printer,
        )?
    };
    printer.message("runtime", &RuntimeMessage::new(&chosen, requested));
    Ok(chosen)
}

/// `--message-format json`'s `exit`: the app's exit code, `run`'s own.
#[derive(Serialize)]
pub struct ExitMessage {
    pub code: i32,
}

/// The app's variables, `(KEY, VALUE)` in order.
type AppEnv = Vec<(String, String)>;

/// Everything the flags say about the app's environment and directories, checked before
/// building so a typo fails fast (and `--port N` is checked free).
pub struct FlagValues {
    env: AppEnv,
    dirs: Vec<DirMapping>,
    tls: Option<crate::run::tls::TlsFiles>,
    /// The flags' sandbox, checked; the package's metadata adds to it (`sandbox.rs`).
    pub sandbox: SandboxSettings,
}

impl RunFlags {
    /// What `run` and `watch` do before building: choose the runtime (said as the
    /// `runtime` message), refuse an `--aot` it cannot serve, and [`RunFlags::check`].
    pub fn prepare(&self, printer: &Printer) -> anyhow::Result<(Chosen, FlagValues)> {
        let sandbox = self.sandbox()?;
        let runtime = match self.instances.filter(|count| *count > 1) {
            Some(count) => runtime::for_instances(self.runtime, count, printer)?,
            None => runtime::choose(self.runtime)?,
        };
        let runtime = sandbox.runtime(runtime, self.runtime, "from the flags", printer)?;
        printer.message("runtime", &RuntimeMessage::new(&runtime, self.runtime));
        aot_by(&runtime, self.aot)?;
        let values = self.check()?;
        Ok((runtime, values))
    }

    pub fn check(&self) -> anyhow::Result<FlagValues> {
        let sandbox = self.sandbox()?;
        let env = environment::from_flags(self.env_file.as_deref(), &self.env)?;
        let dirs = DirMapping::resolve_all(self.dir.clone())?;
        if let Some(port) = self.port {
            launch::check_port_free(port)?;
        }
        let tls = self.tls.check()?;
        Ok(FlagValues {
            env,
            dirs,
            tls,
            sandbox,
        })
    }

    /// The sandbox the flags ask for, its entries checked.
    fn sandbox(&self) -> anyhow::Result<SandboxSettings> {
        let mut settings = SandboxSettings::from_flags(
            &self.allow_connect,
            &self.allow_listen,
            self.memory_limit,
            self.max_sockets,
        )?;
        if self.allow_connect_none {
            settings.allow_connect.get_or_insert_with(Vec::new);
        }
        if self.allow_listen_none {
            settings.allow_listen.get_or_insert_with(Vec::new);
        }
        Ok(settings)
    }
}

impl FlagValues {
    /// The app's environment and directories: the package's defaults under the flags'.
    pub fn for_app(
        &self,
        defaults: &WasockDefaults,
        port: Option<u16>,
        printer: &Printer,
    ) -> anyhow::Result<(AppEnv, Vec<DirMapping>)> {
        let origin = "[package.metadata.wasock]";
        if let Some(entries) = &defaults.allow_connect {
            crate::run::sandbox::check_entries(
                entries,
                &format!("{origin} allow-connect:"),
                false,
            )?;
        }
        if let Some(entries) = &defaults.allow_listen {
            crate::run::sandbox::check_entries(entries, &format!("{origin} allow-listen:"), false)?;
        }
        let mut env = environment::assemble(defaults, self.env.clone(), port);
        environment::note_unclaimed_port(&env, port, printer);
        let mut dirs = DirMapping::resolve_all(defaults.dirs.clone())?;
        dirs.extend(self.dirs.iter().cloned());
        if let Some(tls) = &self.tls {
            tls.apply(&mut env, &mut dirs);
        }
        crate::run::tls::warn_unmapped(&env, &dirs, printer);
        Ok((env, dirs))
    }
}

/// Who compiles ahead of time for `--aot` on the chosen runtime.
pub fn aot_by(runtime: &Chosen, aot: bool) -> anyhow::Result<AotBy<'_>> {
    match (runtime, aot) {
        (_, false) => Ok(AotBy::Nobody),
        (Chosen::WasmEdge(found), true) => aot_compiler(Some(found)),
        (Chosen::Embedded(_), true) => aot_compiler(None),
    }
}

/// The module WasmEdge runs: `--aot`'s output, else an up-to-date one an earlier `--aot`
/// left, else the plain module; and whether it is AOT code.
pub fn wasmedge_module(
    found: &WasmEdge,
    module: PathBuf,
    aot_output: Option<PathBuf>,
    prebuilt_module: bool,
    printer: &Printer,
) -> anyhow::Result<(PathBuf, bool)> {
    let aot_output = match aot_output {
        Some(output) => Some(output),
        None => existing_wasmedge_aot(found, &module, prebuilt_module, printer)?,
    };
    let aot = aot_output.is_some();
    Ok((aot_output.unwrap_or(module), aot))
}

/// Runs the app `args` describe until it exits; its exit code.
pub fn run_app(args: RunFlags, printer: &Printer) -> anyhow::Result<i32> {
    let (runtime, values) = args.prepare(printer)?;
    let aot_by = aot_by(&runtime, args.aot)?;

    let script = args
        .js
        .as_deref()
        .map(crate::js::script_launch)
        .transpose()?;
    // A module we did not build (`--wasm`, the JS runtime): its AOT output is in the cache.
    let prebuilt_module = args.wasm.is_some() || script.is_some();
    let (module, aot_output, defaults) = match (&args.wasm, &script) {
        (Some(wasm), _) => prebuilt(wasm, aot_by, printer)?,
        (None, Some(_)) => prebuilt(&crate::js::runtime_module(printer)?, aot_by, printer)?,
        (None, None) => {
            let built = build_app(&args.cargo, aot_by, printer)?;
            let defaults = built.project.defaults()?;
            (built.module.path, built.aot, defaults)
        }
    };

    let instances = args.instances.or(defaults.instances).unwrap_or(1);
    let sandbox = values.sandbox.with_defaults(&defaults);
    let runtime = for_package(runtime, args.runtime, instances, &sandbox, printer)?;
    let (env, mut dirs) = values.for_app(&defaults, args.port, printer)?;
    let mut app_args = args.args;
    if let Some((script_dir, script_name)) = script {
        dirs.insert(
            0,
            DirMapping {
                guest: ".".into(),
                host: script_dir,
                readonly: false,
            },
        );
        app_args.insert(0, script_name);
    }
    // Again: the build may have taken long enough for something else to take the port.
    if let Some(port) = args.port {
        launch::check_port_free(port)?;
    }

    match runtime {
        Chosen::WasmEdge(found) => {
            let (module, aot) =
                wasmedge_module(&found, module, aot_output, prebuilt_module, printer)?;
            let spec = LaunchSpec {
                module,
                args: app_args,
                env,
                dirs,
                sandbox,
            };
            launch::run_on_wasmedge(&found, &spec, aot, args.port, printer)
        }
        #[cfg(feature = "embedded")]
        Chosen::Embedded(why) => {
            let spec = LaunchSpec {
                module,
                args: app_args,
                env,
                dirs,
                sandbox,
            };
            // `--aot` precompiled into the engine's cache, which `run` goes through anyway.
            crate::run::embedded::run(&spec, why, args.port, instances, printer)
        }
        #[cfg(not(feature = "embedded"))]
        Chosen::Embedded(_) => {
            unreachable!(
                "runtime::choose never picks the embedded engine when it is not compiled in"
            )
        }
    }
}
