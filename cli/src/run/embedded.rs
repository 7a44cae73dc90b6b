//! Running an app on the embedded engine (`wasock-engine`): the launch spec handed over,
//! the engine's errors given their `help:` lines, and the status lines around the run.

use wasock_engine::{CodeSource, GuestSpec, ModuleCache, Preopen};

use crate::cache;
use crate::run::launch;
use crate::run::launch_spec::LaunchSpec;
use crate::run::readiness::Reporter;
use crate::run::sandbox;
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
        sandbox: spec.sandbox.for_engine(),
        ..GuestSpec::new(&spec.module)
    }
}

/// The destinations already said in this run: shared by the instances of `--instances N`,
/// which the engine each reports to on their own, so the run says each one once.
type Said = std::sync::Arc<std::sync::Mutex<std::collections::HashSet<(&'static str, String)>>>;

/// Tell the user what `app`'s sandbox refused, as the engine reports it (each destination
/// once per instance; once per run through `said`): the `blocked` line with its `help:`, and
/// the JSON message. The flag it returns is set once a `memory.grow` failed at the memory
/// limit, for the line after the app ends.
fn observe_sandbox(
    app: &mut wasock_engine::PreparedApp,
    said: &Said,
    printer: &Printer,
) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let reached = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&reached);
    let printer = printer.clone();
    let said = std::sync::Arc::clone(said);
    app.on_sandbox_event(move |event| match event {
        wasock_engine::SandboxEvent::Blocked(blocked) => {
            let (direction, list) = match blocked.direction {
                wasock_engine::Direction::Connect => ("connect", "allow-connect"),
                wasock_engine::Direction::Listen => ("listen", "allow-listen"),
            };
            // At most the engine's own bound (1,024 per instance) of entries.
            let first = said
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert((direction, blocked.destination()));
            if !first {
                return;
            }
            sandbox::report_blocked(
                sandbox::BlockedMessage {
                    direction,
                    destination: blocked.destination(),
                    host: blocked.host,
                    port: blocked.port,
                    list,
                },
                &printer,
            );
        }
        wasock_engine::SandboxEvent::MemoryLimitReached { .. } => {
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    reached
}

/// After the app ended: the memory limit's line, when a `memory.grow` failed at it and the
/// app did not end well (an app that handled the failure and exited 0 needs no line).
fn say_memory_limit(
    spec: &LaunchSpec,
    reached: &std::sync::atomic::AtomicBool,
    code: i32,
    printer: &Printer,
) {
    if let Some(limit) = spec.sandbox.memory_limit {
        if code != 0 && reached.load(std::sync::atomic::Ordering::Relaxed) {
            printer.warn(sandbox::memory_limit_line(limit));
        }
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
    instances: u32,
    printer: &Printer,
) -> anyhow::Result<i32> {
    // Before compiling, which can take a while: a Ctrl-C then must stop us too.
    launch::end_process_on_stop_signals()?;
    raise_descriptor_limit(printer);
    let count = if instances > 1 {
        format!("{instances} instances of ")
    } else {
        String::new()
    };
    printer.status(
        "Running",
        format!(
            "{count}{} on the embedded engine ({}; {why})",
            spec.program_name(),
            wasock_engine::version()
        ),
    );
    if instances > 1 {
        return run_instances(spec, claimed_port, instances, printer);
    }
    let cache = user_cache(printer);
    let guest = guest_spec(spec);
    show_guest(&guest, cache.as_ref(), printer);
    show_sandbox(&spec.sandbox, printer);
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
    let reached = observe_sandbox(&mut app, &Said::default(), printer);
    let program = spec.program_name();
    let code = match app.run_or_trap() {
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
    };
    say_memory_limit(spec, &reached, code, printer);
    Ok(code)
}

/// The sandbox the engine is given, for `-v`.
fn show_sandbox(settings: &sandbox::SandboxSettings, printer: &Printer) {
    let list = |entries: &Option<Vec<String>>| match entries {
        None => "any".to_owned(),
        Some(entries) => format!("{entries:?}"),
    };
    printer.verbose(format!(
        "engine sandbox: allow-connect {}, allow-listen {}, memory limit {}, sockets at most {}",
        list(&settings.allow_connect),
        list(&settings.allow_listen),
        settings
            .memory_limit
            .map_or("none".to_owned(), sandbox::human_limit),
        settings
            .max_sockets
            .unwrap_or_else(wasock_engine::default_max_sockets)
    ));
}

/// Raise this process's soft descriptor limit to its hard limit, as Go's runtime does at
/// start: the engine's sockets are this process's descriptors, and the engine's default
/// socket cap (`wasock_engine::default_max_sockets`) is the soft limit less what it keeps
/// for the host, so a soft limit of 1,024 (a common default) would cap a server at 768
/// connections where the hard limit allows far more. A failure is a `-v` note.
fn raise_descriptor_limit(printer: &Printer) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write one rlimit we own.
    let raised = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        if limit.rlim_cur >= limit.rlim_max {
            return;
        }
        let wanted = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0
    };
    if raised {
        printer.verbose(format!(
            "descriptor limit raised from {} to {} for the app's sockets",
            limit.rlim_cur, limit.rlim_max
        ));
    } else {
        printer.verbose(format!(
            "could not raise the descriptor limit from {}: {}",
            limit.rlim_cur,
            std::io::Error::last_os_error()
        ));
    }
}

/// The user's compile cache, or none (said as a warning): without it the app still runs,
/// compiled in memory.
fn user_cache(printer: &Printer) -> Option<ModuleCache> {
    match cache::ensure("engine").and_then(|_| cache::engine()) {
        Ok(cache) => Some(cache),
        Err(error) => {
            printer.warn(format!("compiled code is not cached: {error:#}"));
            None
        }
    }
}

/// `run --instances N` (N > 1): N instances of the module, compiled once, each on a thread
/// of its own with its own memory, environment (plus `WASOCK_INSTANCE` 0..N-1 and
/// `WASOCK_INSTANCES`) and preopens, sharing their ports (the engine's `SO_REUSEPORT`).
/// An address is reported listening once all N listen there. The first instance to end
/// ends the run: its exit code (the first non-zero one, when several end together) is the
/// run's, and the process exit takes the other threads and their sockets with it.
fn run_instances(
    spec: &LaunchSpec,
    claimed_port: Option<u16>,
    instances: u32,
    printer: &Printer,
) -> anyhow::Result<i32> {
    let cache = user_cache(printer);
    let guests: Vec<GuestSpec> = (0..instances)
        .map(|index| {
            let mut guest = guest_spec(spec);
            guest
                .env
                .push(("WASOCK_INSTANCE".to_owned(), index.to_string()));
            guest
                .env
                .push(("WASOCK_INSTANCES".to_owned(), instances.to_string()));
            guest
        })
        .collect();
    show_guest(&guests[0], cache.as_ref(), printer);
    show_sandbox(&spec.sandbox, printer);
    printer.verbose(format!(
        "engine instances: {instances} (WASOCK_INSTANCE 0..{}), one thread each, sharing their ports",
        instances - 1
    ));
    let apps = wasock_engine::prepare_instances(&guests, cache.as_ref()).map_err(|error| {
        let message = format!(
            "could not start `{}` on the embedded engine",
            spec.module.display()
        );
        crate::util::engine::explain(error, message)
    })?;
    if let Some(error) = apps.first().and_then(|app| app.cache_error()) {
        printer.warn(format!("compiled code is not cached: {error}"));
    }
    let startup = apps
        .iter()
        .map(|app| app.startup_time())
        .max()
        .unwrap_or_default();
    printer.status(
        "Ready",
        format!("{instances} instances in {} ms", startup.as_millis()),
    );
    // Each address is reported once, when the last instance listens there.
    let reporting = Reporter::new(claimed_port, printer).map(|reporter| reporter.start());
    // The one sender, shared by the instances' observers and taken back when the run
    // ends: the instances still running hold their observers until the process exits,
    // and the reporter's thread ends only when its sender is gone.
    let (listeners, _reporting) = match reporting {
        Some((sender, reporting)) => (
            std::sync::Arc::new(std::sync::Mutex::new(Some(sender))),
            Some(reporting),
        ),
        None => (std::sync::Arc::new(std::sync::Mutex::new(None)), None),
    };
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        std::net::SocketAddr,
        u32,
    >::new()));
    let (finished, ended) = std::sync::mpsc::channel();
    let program = spec.program_name();
    let mut reached = Vec::with_capacity(apps.len());
    let said = Said::default();
    for (index, mut app) in apps.into_iter().enumerate() {
        // Each instance reports what it was refused (each destination once per instance),
        // and the run says each destination once; the memory limit's line is the run's.
        reached.push(observe_sandbox(&mut app, &said, printer));
        let listeners = std::sync::Arc::clone(&listeners);
        let seen = std::sync::Arc::clone(&seen);
        app.on_listen(move |address| {
            let mut seen = seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let count = seen.entry(address).or_insert(0);
            *count += 1;
            if *count == instances {
                let listeners = listeners
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(listeners) = listeners.as_ref() {
                    let _ = listeners.send(address);
                }
            }
        });
        let finished = finished.clone();
        let program = program.clone();
        std::thread::Builder::new()
            .name(format!("instance-{index}"))
            .spawn(move || {
                let code = match app.run_or_trap() {
                    Ok(code) => code,
                    Err(trap) => {
                        eprintln!(
                            "error: `{program}` (instance {index}) trapped: {}",
                            trap.detail
                        );
                        wasock_engine::TRAP_EXIT_CODE
                    }
                };
                let _ = finished.send((index, code));
            })
            .map_err(|error| anyhow::anyhow!("could not start instance {index}: {error}"))?;
    }
    drop(finished);
    let Ok((index, mut code)) = ended.recv() else {
        return Ok(0);
    };
    // Instances that ended together: the first non-zero code wins.
    std::thread::sleep(std::time::Duration::from_millis(20));
    while let Ok((_, other_code)) = ended.try_recv() {
        if code == 0 {
            code = other_code;
        }
    }
    listeners
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(flag) = reached
        .iter()
        .find(|flag| flag.load(std::sync::atomic::Ordering::Relaxed))
    {
        say_memory_limit(spec, flag, code, printer);
    }
    printer.verbose(format!(
        "instance {index} ended with {code}; stopping the {}",
        if instances == 2 {
            "other".to_owned()
        } else {
            format!("other {}", instances - 1)
        }
    ));
    Ok(code)
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
