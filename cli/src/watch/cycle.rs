//! One `watch` cycle: build; when the build succeeds, stop the old app and start the new one
//! (the engine's code compiled first, while the old app still serves); one status line and
//! one `rebuild` message either way.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::build::app::build_app;
use crate::run::app::{self, FlagValues};
use crate::run::flags::RunFlags;
use crate::run::launch;
use crate::run::launch_spec::LaunchSpec;
use crate::run::runtime::Chosen;
use crate::ui::errors::{self, hint};
use crate::ui::printer::Printer;

use super::child::{engine_command, RunningApp};
use super::sources::Sources;

/// `--message-format json`'s `rebuild`: one per cycle (with `artifact`, `listening` and
/// cargo's messages between them as in `run`).
#[derive(Serialize)]
struct Rebuild {
    /// The changed paths (relative to the package when inside it); empty for the first build.
    changed: Vec<String>,
    /// Whether the build succeeded (and so the app was restarted).
    ok: bool,
    /// How long the build took, in milliseconds.
    duration_ms: u128,
}

/// The watcher's state between events: the running app, if any.
pub struct Session {
    pub runtime: Chosen,
    pub flags: RunFlags,
    pub values: FlagValues,
    pub sources: Arc<Sources>,
    /// `--clear`: clear the screen before each cycle.
    pub clear: bool,
    pub printer: Printer,
    pub app: Option<RunningApp>,
    /// The lock files as the last build left them: cargo writes `Cargo.lock` itself (the
    /// first build creates it), and that is not a change of the user's.
    pub locks_after_build: Vec<(PathBuf, Option<Vec<u8>>)>,
    /// Whether an app was started before (the `Running` line is said once).
    pub started_before: bool,
}

impl Session {
    /// One cycle: build; when it succeeds, stop the old app and start the new one; one
    /// status line either way.
    pub fn cycle(&mut self, changed: BTreeSet<PathBuf>) {
        if !changed.is_empty() && self.only_cargos_own_lock_writes(&changed) {
            return;
        }
        if self.clear && self.printer.is_terminal() {
            let _ = console::Term::stderr().clear_screen();
        }
        let what = if changed.is_empty() {
            "first build".to_owned()
        } else {
            self.sources.describe_changes(&changed)
        };
        let began = Instant::now();
        let built = self.build();
        let took = began.elapsed();
        self.locks_after_build = self
            .sources
            .lock_files()
            .map(|path| {
                let content = std::fs::read(&path).ok();
                (path, content)
            })
            .collect();
        // A stop came during the build: no app is started.
        if crate::build::cargo::stop_requested() {
            return;
        }
        self.printer.message(
            "rebuild",
            &Rebuild {
                changed: changed.iter().map(|path| self.sources.show(path)).collect(),
                ok: built.is_ok(),
                duration_ms: took.as_millis(),
            },
        );
        let seconds = took.as_secs_f64();
        let spec = match built {
            Ok(spec) => spec,
            Err(error) => {
                errors::report(&error, &self.printer);
                let after = if self.app.is_some() {
                    "old app keeps serving"
                } else {
                    "waiting for a change"
                };
                self.printer
                    .status("Watching", format!("{what} · build failed · {after}"));
                return;
            }
        };
        let restarted = self.app.is_some();
        if let Some(app) = self.app.take() {
            app.stop(libc::SIGINT, false, &self.printer);
        }
        match self.start(spec) {
            Ok(app) => {
                self.app = Some(app);
                self.started_before = true;
                let (built, done) = if restarted {
                    ("rebuilt", "restarted")
                } else {
                    ("built", "started")
                };
                self.printer.status(
                    "Watching",
                    format!("{what} · {built} in {seconds:.1}s · {done}"),
                );
            }
            Err(error) => {
                errors::report(&error, &self.printer);
                self.printer.status(
                    "Watching",
                    format!("{what} · built in {seconds:.1}s · the app did not start · waiting for a change"),
                );
            }
        }
    }

    /// Whether every changed path is a lock file whose content is what the last build left.
    pub fn only_cargos_own_lock_writes(&self, changed: &BTreeSet<PathBuf>) -> bool {
        changed.iter().all(|path| {
            self.locks_after_build
                .iter()
                .any(|(lock, content)| lock == path && std::fs::read(path).ok() == *content)
        })
    }

    /// Build as `run` does and describe the launch (env and dirs from the package's
    /// metadata, which the change may have edited, under the flags).
    pub fn build(&self) -> anyhow::Result<(LaunchSpec, bool, u32, Chosen)> {
        let aot_by = app::aot_by(&self.runtime, self.flags.aot)?;
        let built = build_app(&self.flags.cargo, aot_by, &self.printer)?;
        let defaults = built.project.defaults()?;
        let instances = self.flags.instances.or(defaults.instances).unwrap_or(1);
        let sandbox = self.values.sandbox.with_defaults(&defaults);
        // `instances` and the policy from the metadata, read only now that the package is
        // built (and an edit may change them): chosen as `run` chooses, each cycle.
        let runtime = app::for_package(
            self.runtime.clone(),
            self.flags.runtime,
            instances,
            &sandbox,
            &self.printer,
        )?;
        let (env, dirs) = self
            .values
            .for_app(&defaults, self.flags.port, &self.printer)?;
        let (module, aot) = match &runtime {
            Chosen::WasmEdge(found) => {
                app::wasmedge_module(found, built.module.path, built.aot, false, &self.printer)?
            }
            Chosen::Embedded(_) => {
                // With `--aot` for the engine the build already compiled it into the
                // engine's cache (an `--aot` for a WasmEdge the policy set aside did not).
                if built.aot.is_none() || matches!(self.runtime, Chosen::WasmEdge(_)) {
                    precompile_for_engine(&built.module.path, &self.printer);
                }
                (built.module.path, false)
            }
        };
        let spec = LaunchSpec {
            module,
            args: self.flags.args.clone(),
            env,
            dirs,
            sandbox,
        };
        Ok((spec, aot, instances, runtime))
    }

    pub fn start(
        &self,
        (spec, aot, instances, runtime): (LaunchSpec, bool, u32, Chosen),
    ) -> anyhow::Result<RunningApp> {
        if let Some(port) = self.flags.port {
            launch::check_port_free(port)?;
        }
        let (mut command, shown, messages) = match &runtime {
            Chosen::WasmEdge(found) => {
                let (command, shown) = launch::wasmedge_command(found, &spec, aot, &self.printer);
                (command, shown, None)
            }
            Chosen::Embedded(why) => {
                engine_command(&spec, why, instances, !self.started_before, &self.printer)?
            }
        };
        crate::util::process::die_with_parent(&mut command);
        let child = command.spawn().map_err(|error| {
            hint(
                format!("could not start `{shown}`: {error}"),
                "check that the program exists and is executable",
            )
        })?;
        // Our copy of the messages pipe's write end goes with `command`, so the reader sees
        // the end of the child.
        drop(command);
        Ok(RunningApp::observe(
            child,
            self.flags.port,
            messages,
            &self.printer,
        ))
    }

    /// Say so when the app ended by itself; the watcher keeps waiting for a change.
    pub fn notice_app_exit(&mut self) {
        let Some(app) = &mut self.app else { return };
        let Ok(Some(status)) = app.child.try_wait() else {
            return;
        };
        let code = launch::exit_code(status);
        if let Some(app) = self.app.take() {
            app.finish_observing();
        }
        self.printer.status(
            "Watching",
            format!("the app exited with code {code} · waiting for a change"),
        );
    }

    /// A stop signal: stop the app; its exit code, else the shell's 128 + the signal.
    pub fn stop_all(&mut self, signal: i32, delivered: bool) -> i32 {
        match self.app.take() {
            Some(app) => app.stop(signal, delivered, &self.printer),
            None => 128 + signal,
        }
    }
}

/// Compile a new module into the engine's cache while the old app still serves, so the new
/// one starts from native code at once and the port is closed only for the restart itself.
/// A module that does not compile is left to the child, which reports it as `run` does.
#[cfg_attr(not(feature = "embedded"), allow(unused_variables))]
fn precompile_for_engine(module: &Path, printer: &Printer) {
    #[cfg(feature = "embedded")]
    {
        let cache = crate::cache::ensure("engine").and_then(|_| crate::cache::engine());
        match cache.map(|cache| cache.precompile(module)) {
            Ok(Ok(precompiled)) => printer.verbose(format!(
                "engine code for the new module: {} ({})",
                precompiled.path.display(),
                if precompiled.reused {
                    "cached"
                } else {
                    "compiled"
                }
            )),
            Ok(Err(error)) => printer.verbose(format!("not precompiled: {error}")),
            Err(error) => printer.verbose(format!("not precompiled: {error:#}")),
        }
    }
}
