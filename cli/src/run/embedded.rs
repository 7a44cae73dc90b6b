//! Running an app on the embedded engine (`wasock-engine`): the launch spec handed over,
//! the engine's errors given their `help:` lines, and the status lines around the run.

use wasock_engine::{CodeSource, GuestSpec, ModuleCache, Preopen};

use crate::cache;
use crate::run::launch;
use crate::run::launch_spec::LaunchSpec;
use crate::run::readiness::Reporter;
use crate::ui::printer::Printer;

/// The engine's view of a launch.
pub fn guest_spec(spec: &LaunchSpec) -> GuestSpec {
    GuestSpec {
        module: spec.module.clone(),
        program_name: spec.program_name(),
        args: spec.args.clone(),
        env: spec.env.clone(),
        preopens: spec
            .dirs
            .iter()
            .map(|dir| Preopen {
                guest: dir.guest.clone(),
                host: dir.host.clone(),
                readonly: dir.readonly,
            })
            .collect(),
        ..GuestSpec::new(&spec.module)
    }
}

/// What the engine is given, for `-v` (as the WasmEdge path shows its command line).
fn show_guest(guest: &GuestSpec, cache: Option<&ModuleCache>, printer: &Printer) {
    let module = match cache {
        Some(cache) => format!(
            "{} (compiled code cached in {})",
            guest.module.display(),
            cache.dir().display()
        ),
        None => guest.module.display().to_string(),
    };
    printer.verbose(format!("engine module: {module}"));
    let argv: Vec<&str> = std::iter::once(guest.program_name.as_str())
        .chain(guest.args.iter().map(String::as_str))
        .collect();
    printer.verbose(format!("engine args: {argv:?}"));
    let env: Vec<String> = guest
        .env
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    printer.verbose(format!("engine env: {env:?}"));
    let dirs: Vec<String> = guest
        .preopens
        .iter()
        .map(|dir| {
            let mode = if dir.readonly { ":readonly" } else { "" };
            format!("{}:{}{mode}", dir.guest, dir.host.display())
        })
        .collect();
    printer.verbose(format!("engine dirs: {dirs:?}"));
}

/// Prepare and run `spec` on this thread, through the user's compile cache, observing its
/// listeners for `--port` (`claimed_port`) and `-v`; the guest's exit code.
pub fn run(
    spec: &LaunchSpec,
    why: &str,
    claimed_port: Option<u16>,
    printer: &Printer,
) -> anyhow::Result<i32> {
    // Before compiling, which can take a while: a Ctrl-C then must stop us too.
    launch::end_process_on_stop_signals()?;
    printer.status(
        "Running",
        format!(
            "{} on the embedded engine ({}; {why})",
            spec.program_name(),
            wasock_engine::version()
        ),
    );
    // Without a cache the app still runs, compiled in memory as every time.
    let cache = match cache::ensure("engine").and_then(|_| cache::engine()) {
        Ok(cache) => Some(cache),
        Err(error) => {
            printer.warn(format!("compiled code is not cached: {error:#}"));
            None
        }
    };
    let guest = guest_spec(spec);
    show_guest(&guest, cache.as_ref(), printer);
    let mut app = wasock_engine::prepare(&guest, cache.as_ref()).map_err(|error| {
        let message = format!(
            "could not start `{}` on the embedded engine",
            spec.module.display()
        );
        crate::util::engine::explain(error, message)
    })?;
    if let Some(error) = app.cache_error() {
        let mut text = error.to_string();
        if let Some(source) = std::error::Error::source(error) {
            text.push_str(&format!(": {source}"));
        }
        printer.warn(format!("compiled code is not cached: {text}"));
    }
    let how = match app.code_source() {
        CodeSource::Cache => "compiled code from the cache",
        CodeSource::CompiledAndCached => "compiled, and cached for the next start",
        CodeSource::Compiled => "compiled",
    };
    printer.status(
        "Ready",
        format!("in {} ms ({how})", app.startup_time().as_millis()),
    );
    // The guest's own `sock_listen` says where it listens; the sender goes with the app,
    // so the reporter ends when the guest does.
    let _reporting = Reporter::new(claimed_port, printer).map(|reporter| {
        let (listeners, reporting) = reporter.start();
        app.on_listen(move |address| {
            let _ = listeners.send(address);
        });
        reporting
    });
    let program = spec.program_name();
    Ok(match app.run_or_trap() {
        Ok(code) => code,
        Err(trap) => {
            // The guest's error and its wasm backtrace; the engine's own stack only under
            // `-v`, for a bug report (issue 24: it is about our code, not the app).
            eprintln!("error: `{program}` trapped: {}", trap.detail);
            if let Some(host) = trap.host_backtrace {
                printer.verbose(format!(
                    "the engine's stack when the guest trapped (for a bug report):\n{host}"
                ));
            }
            wasock_engine::TRAP_EXIT_CODE
        }
    })
}

/// The user's compile cache for a test binary, with `module` compiled into it once now, so
/// the instances the test runner starts at once all load it instead of each compiling it.
/// None (with a warning) when the cache cannot be used: each instance then compiles.
pub fn test_cache(module: &std::path::Path, printer: &Printer) -> Option<ModuleCache> {
    let cache = match cache::ensure("engine").and_then(|_| cache::engine()) {
        Ok(cache) => cache,
        Err(error) => {
            printer.warn(format!("compiled code is not cached: {error:#}"));
            return None;
        }
    };
    match cache.precompile(module) {
        Ok(_) => Some(cache),
        Err(error) => {
            printer.warn(format!("compiled code is not cached: {error}"));
            None
        }
    }
}

/// Run `spec` on this thread with its stdout and stderr written to the two files; the
/// guest's exit code, and the trap's reason when it trapped (exit code
/// [`wasock_engine::TRAP_EXIT_CODE`]). Safe to call from several threads at once.
pub fn run_captured(
    spec: &LaunchSpec,
    cache: Option<&ModuleCache>,
    stdout: &std::path::Path,
    stderr: &std::path::Path,
) -> anyhow::Result<(i32, Option<String>)> {
    let guest = GuestSpec {
        stdout: wasock_engine::GuestOutput::File(stdout.to_path_buf()),
        stderr: wasock_engine::GuestOutput::File(stderr.to_path_buf()),
        ..guest_spec(spec)
    };
    let app = prepare_quietly(spec, &guest, cache)?;
    Ok(match app.run_or_trap() {
        Ok(code) => (code, None),
        Err(trap) => (wasock_engine::TRAP_EXIT_CODE, Some(trap.reason)),
    })
}

/// Run `spec` on this thread with the process's own stdio, quietly (no status lines): the
/// test runner's `--no-isolation`. The guest's exit code.
pub fn run_inherited(spec: &LaunchSpec, cache: Option<&ModuleCache>) -> anyhow::Result<i32> {
    let app = prepare_quietly(spec, &guest_spec(spec), cache)?;
    Ok(app.run())
}

/// `guest` compiled (or loaded from `cache`) and instantiated, without status lines; errors
/// name `spec`'s module and say what to do.
fn prepare_quietly(
    spec: &LaunchSpec,
    guest: &GuestSpec,
    cache: Option<&ModuleCache>,
) -> anyhow::Result<wasock_engine::PreparedApp> {
    wasock_engine::prepare(guest, cache).map_err(|error| {
        crate::util::engine::explain(
            error,
            format!(
                "could not start `{}` on the embedded engine",
                spec.module.display()
            ),
        )
    })
}
