//! `cargo wasock test`: the package's tests run in wasm on the chosen runtime, and its
//! end-to-end tests run natively against the built `.wasm`.
//!
//! Two halves, joined by cargo's target-runner mechanism:
//!
//! - [`test`] (the `test` command) runs `cargo test --target wasm32-wasip1` with
//!   `target.wasm32-wasip1.runner` set (through `--config`, so a path with spaces survives)
//!   to this very binary's hidden `__test-runner`. cargo builds the tests and runs each test
//!   binary through it, in the package's directory with `CARGO_MANIFEST_DIR` and friends set.
//!   Integration test targets that have no test on wasm (the templates' `tests/app.rs` is
//!   `#![cfg(not(target_os = "wasi"))]`: it starts processes) are end-to-end tests: once the
//!   app's module is built, cargo runs them natively (`cargo test --test NAME`, through the
//!   same runner in `native` mode) with `WASOCK_TEST_APP_WASM`, `WASOCK_TEST_RUNTIME` and
//!   `WASOCK_TEST_CARGO_WASOCK` set, and the templates' helper launches the module with
//!   `cargo-wasock run --wasm` instead of the native binary.
//! - [`run_binary`] (the `__test-runner`) runs one test binary. wasm32-wasip1 aborts on a
//!   panic, so one failing test would end the binary and hide every later one: the runner
//!   asks the binary for its list, runs each test in its own instance (`--exact NAME`), up
//!   to the core count at once (on the engine each instance is a fresh store of a module
//!   compiled once into the user's cache; on WasmEdge and natively one process each), and
//!   reports in libtest's format ([`crate::test::libtest`]). `--no-isolation` runs the binary
//!   once, as cargo would.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::build::aot::AotBy;
use crate::build::app;
use crate::build::args::CargoArgs;
use crate::build::target::{self, cargo_program};
use crate::project::dirs::DirMapping;
use crate::project::metadata;
use crate::run::launch;
use crate::run::launch_spec::LaunchSpec;
use crate::run::runtime::{self, Chosen, Runtime};
use crate::test::libtest::{self, Outcome, Summary, TestArgs, TestResult};
use crate::ui::errors::hint;
use crate::ui::printer::{Printer, Verbosity};
use crate::util::wasmedge::{self, WasmEdge};

/// The path of the built app module, for the end-to-end tests' helper.
pub const APP_WASM_VAR: &str = "WASOCK_TEST_APP_WASM";
/// `embedded` or `wasmedge`: the runtime the helper asks `cargo-wasock run` for.
pub const RUNTIME_VAR: &str = "WASOCK_TEST_RUNTIME";
/// This `cargo-wasock`, so the helper need not find one on PATH.
pub const CLI_VAR: &str = "WASOCK_TEST_CARGO_WASOCK";
/// A file where each runner appends `BINARY<TAB>TESTS` (its unfiltered test count).
const REPORT_VAR: &str = "WASOCK_TEST_REPORT";

/// Where a test binary runs, as the runner is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunnerRuntime {
    Embedded,
    Wasmedge,
    /// A native test binary (the end-to-end tests).
    Native,
}

impl RunnerRuntime {
    fn name(self) -> &'static str {
        match self {
            RunnerRuntime::Embedded => "embedded",
            RunnerRuntime::Wasmedge => "wasmedge",
            RunnerRuntime::Native => "native",
        }
    }
}

/// What `cargo wasock test` was asked.
pub struct TestPlan {
    pub cargo: CargoArgs,
    pub lib: bool,
    pub bins: bool,
    pub tests: Vec<String>,
    pub no_fail_fast: bool,
    pub runtime: Runtime,
    pub isolation: bool,
    pub json: bool,
    pub test_args: Vec<String>,
    /// `-q` and `-v` are given to cargo (which shows fewer or more of its own lines).
    pub verbosity: Verbosity,
}

/// `cargo test`'s `target.TRIPLE.runner` pointing at our `__test-runner`, as a `--config`
/// value (a TOML array, so no path is split on spaces).
fn runner_config(triple: &str, runtime: RunnerRuntime, plan: &TestPlan) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("could not find the cargo-wasock executable")?;
    let mut runner = vec![
        exe.display().to_string(),
        "__test-runner".to_owned(),
        "--runtime".to_owned(),
        runtime.name().to_owned(),
    ];
    if !plan.isolation {
        runner.push("--no-isolation".to_owned());
    }
    if plan.json {
        runner.extend(["--message-format".to_owned(), "json".to_owned()]);
    }
    let array = toml::Value::Array(runner.into_iter().map(toml::Value::String).collect());
    Ok(format!("target.{triple}.runner={array}"))
}

/// `cargo test` with the plan's flags and the runner for `triple`; `target` also passes
/// `--target` (the wasm half) where the native half builds for the host.
fn cargo_test(
    plan: &TestPlan,
    triple: &str,
    target: Option<&str>,
    runtime: RunnerRuntime,
    only_tests: &[String],
) -> anyhow::Result<(Command, String)> {
    let mut command = Command::new(cargo_program());
    command.arg("test");
    let mut shown = vec!["cargo".to_owned(), "test".to_owned()];
    let mut args: Vec<String> = Vec::new();
    if let Some(target) = target {
        args.extend(["--target".to_owned(), target.to_owned()]);
        // As for `build`: a crate with C inside (ring, for TLS) needs the wasm C compiler.
        command.envs(crate::build::cc::wasi_env(target));
    }
    if plan.json {
        args.push("--message-format=json-render-diagnostics".to_owned());
    }
    match plan.verbosity {
        Verbosity::Quiet => args.push("--quiet".to_owned()),
        Verbosity::Verbose => args.push("--verbose".to_owned()),
        Verbosity::Normal => {}
    }
    args.extend(plan.cargo.to_flags().as_args());
    if only_tests.is_empty() {
        if plan.lib {
            args.push("--lib".to_owned());
        }
        if plan.bins {
            args.push("--bins".to_owned());
        }
        for name in &plan.tests {
            args.extend(["--test".to_owned(), name.clone()]);
        }
        // cargo's default selection includes doc tests, which cargo 1.89 and later also
        // build for another target and hand to the runner as plain programs (no libtest
        // list); `--tests` is the same selection without them.
        if !plan.lib && !plan.bins && plan.tests.is_empty() {
            args.push("--tests".to_owned());
        }
    } else {
        for name in only_tests {
            args.extend(["--test".to_owned(), name.clone()]);
        }
    }
    if plan.no_fail_fast {
        args.push("--no-fail-fast".to_owned());
    }
    shown.extend(args.iter().cloned());
    let config = runner_config(triple, runtime, plan)?;
    args.extend(["--config".to_owned(), config]);
    if !plan.test_args.is_empty() {
        args.push("--".to_owned());
        args.extend(plan.test_args.iter().cloned());
        shown.push("--".to_owned());
        shown.extend(plan.test_args.iter().cloned());
    }
    command.args(&args);
    Ok((command, shown.join(" ")))
}

/// The integration test targets of the package whose binaries had no test on wasm.
fn end_to_end_targets(report: &str, plan: &TestPlan) -> anyhow::Result<Vec<String>> {
    let empty: BTreeSet<String> = report
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, count)| count.trim() == "0")
        .filter_map(|(binary, _)| {
            let stem = Path::new(binary)
                .file_stem()?
                .to_string_lossy()
                .into_owned();
            // `NAME-<16 hex digits>`: cargo's metadata hash.
            let (name, _hash) = stem.rsplit_once('-')?;
            Some(name.to_owned())
        })
        .collect();
    if empty.is_empty() {
        return Ok(Vec::new());
    }
    let project = metadata::load(
        plan.cargo.manifest_path.as_deref(),
        plan.cargo.package.as_deref(),
        &plan.cargo.resolve_flags(),
    )?;
    let Some(package) = project.package else {
        return Ok(Vec::new());
    };
    Ok(package
        .targets
        .iter()
        .filter(|target| target.is_kind(cargo_metadata::TargetKind::Test))
        .filter(|target| empty.contains(&target.name.replace('-', "_")))
        .map(|target| target.name.clone())
        .collect())
}

/// `cargo wasock test`: the wasm half, then (when there are end-to-end targets and the
/// wasm half passed, or `--no-fail-fast`) the native half against the built module. The
/// first failing half's exit status (cargo's: 101 when a test failed).
pub fn test(plan: &TestPlan, printer: &Printer) -> anyhow::Result<i32> {
    let chosen = runtime::choose(plan.runtime)?;
    let (runtime, described) = match &chosen {
        Chosen::WasmEdge(found) => (
            RunnerRuntime::Wasmedge,
            format!("WasmEdge {} ({})", found.version, found.path.display()),
        ),
        Chosen::Embedded(why) => (
            RunnerRuntime::Embedded,
            format!("the embedded engine ({}; {why})", embedded_version()),
        ),
    };
    let target = target::ensure_wasi_target(&plan.cargo.project_dir(), printer)?;
    let report = tempfile::NamedTempFile::new().context("could not create a temporary file")?;

    let (mut command, shown) = cargo_test(plan, target.triple, Some(target.triple), runtime, &[])?;
    command.env(REPORT_VAR, report.path());
    printer.status("Testing", format!("in wasm on {described}"));
    printer.verbose(format!("running `{command:?}`"));
    let wasm_code = launch::run_child(command, &shown, None)?;
    if wasm_code != 0 && !plan.no_fail_fast {
        return Ok(wasm_code);
    }

    let report = std::fs::read_to_string(report.path()).unwrap_or_default();
    let targets = end_to_end_targets(&report, plan)?;
    if targets.is_empty() {
        return Ok(wasm_code);
    }
    let built = app::build_app(&plan.cargo, AotBy::Nobody, printer)?;
    let host = crate::build::target::host_triple()?;
    let (mut command, shown) = cargo_test(plan, &host, None, RunnerRuntime::Native, &targets)?;
    let exe = std::env::current_exe().context("could not find the cargo-wasock executable")?;
    command
        .env(APP_WASM_VAR, &built.module.path)
        .env(RUNTIME_VAR, runtime.name())
        .env(CLI_VAR, exe);
    printer.status(
        "Testing",
        format!(
            "end to end, natively against {} on {described}",
            built.module.path.display()
        ),
    );
    printer.verbose(format!("running `{command:?}`"));
    let native_code = launch::run_child(command, &shown, None)?;
    Ok(if wasm_code != 0 {
        wasm_code
    } else {
        native_code
    })
}

fn embedded_version() -> String {
    #[cfg(feature = "embedded")]
    return wasock_engine::version();
    #[cfg(not(feature = "embedded"))]
    return String::new();
}

/// One finished instance.
struct Finished {
    code: i32,
    stdout: String,
    stderr: String,
}

/// How the runner starts instances of one test binary.
enum Instances {
    #[cfg(feature = "embedded")]
    Engine {
        spec: LaunchSpec,
        cache: Option<wasock_engine::ModuleCache>,
        scratch: tempfile::TempDir,
    },
    WasmEdge {
        found: WasmEdge,
        spec: LaunchSpec,
    },
    Native {
        binary: PathBuf,
    },
}

/// The variables a test binary gets on wasm: those cargo sets for a test run that say where
/// the package is (the runtimes inherit nothing), and libtest's and std's own switches.
fn guest_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(key, _)| {
            key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_MANIFEST_")
                || key.starts_with("RUST_TEST_")
                || matches!(
                    key.as_str(),
                    "CARGO_CRATE_NAME"
                        | "CARGO_BIN_NAME"
                        | "CARGO_TARGET_TMPDIR"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "RUST_BACKTRACE"
                )
        })
        .collect();
    env.sort();
    env
}

/// The directories a test binary sees: the package (cargo's working directory for tests)
/// as `.` and under its own absolute path, so both `Cargo.toml` and
/// `concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data")` open; and `CARGO_TARGET_TMPDIR`.
fn guest_dirs() -> anyhow::Result<Vec<DirMapping>> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let mut dirs = vec![
        DirMapping {
            guest: ".".into(),
            host: cwd.clone(),
            readonly: false,
        },
        DirMapping {
            guest: cwd.display().to_string(),
            host: cwd,
            readonly: false,
        },
    ];
    if let Some(tmp) = std::env::var_os("CARGO_TARGET_TMPDIR").map(PathBuf::from) {
        if tmp.is_dir() {
            dirs.push(DirMapping {
                guest: tmp.display().to_string(),
                host: tmp,
                readonly: false,
            });
        }
    }
    Ok(dirs)
}

impl Instances {
    fn new(runtime: RunnerRuntime, binary: &Path, printer: &Printer) -> anyhow::Result<Self> {
        let spec = || -> anyhow::Result<LaunchSpec> {
            Ok(LaunchSpec {
                module: binary.to_path_buf(),
                args: Vec::new(),
                env: guest_env(),
                dirs: guest_dirs()?,
                sandbox: Default::default(),
            })
        };
        match runtime {
            RunnerRuntime::Native => Ok(Instances::Native {
                binary: binary.to_path_buf(),
            }),
            RunnerRuntime::Wasmedge => {
                let found = wasmedge::detect()?.ok_or_else(|| {
                    hint(
                        format!("wasmedge was not found on {}", wasmedge::SEARCH_DESCRIPTION),
                        format!("{}, or use `--runtime embedded`", wasmedge::INSTALL_HELP),
                    )
                })?;
                Ok(Instances::WasmEdge {
                    found,
                    spec: spec()?,
                })
            }
            #[cfg(feature = "embedded")]
            RunnerRuntime::Embedded => {
                let cache = crate::run::embedded::test_cache(binary, printer);
                Ok(Instances::Engine {
                    spec: spec()?,
                    cache,
                    scratch: tempfile::tempdir()
                        .context("could not create a temporary directory")?,
                })
            }
            #[cfg(not(feature = "embedded"))]
            RunnerRuntime::Embedded => {
                let _ = printer;
                runtime::choose(Runtime::Embedded).map(|_| unreachable!())
            }
        }
    }

    /// The process that runs the binary with `args`: WasmEdge's command line, or the native
    /// test binary itself; never asked of the engine, which runs instances in this process.
    fn process(&self, args: &[String]) -> Command {
        match self {
            Instances::WasmEdge { found, spec } => {
                let spec = LaunchSpec {
                    args: args.to_vec(),
                    ..spec.clone()
                };
                let mut command = Command::new(&found.path);
                command.args(crate::run::launch_spec::wasmedge_arguments(&spec, false));
                command
            }
            Instances::Native { binary } => {
                let mut command = Command::new(binary);
                command.args(args);
                command
            }
            #[cfg(feature = "embedded")]
            Instances::Engine { .. } => unreachable!("engine instances run in this process"),
        }
    }

    /// Run the binary with `args`, its output captured; `slot` names this instance's
    /// scratch files.
    fn captured(&self, args: &[String], slot: usize) -> anyhow::Result<Finished> {
        let command = match self {
            #[cfg(feature = "embedded")]
            Instances::Engine {
                spec,
                cache,
                scratch,
            } => {
                let spec = LaunchSpec {
                    args: args.to_vec(),
                    ..spec.clone()
                };
                let stdout = scratch.path().join(format!("{slot}.stdout"));
                let stderr = scratch.path().join(format!("{slot}.stderr"));
                let (code, trap) =
                    crate::run::embedded::run_captured(&spec, cache.as_ref(), &stdout, &stderr)?;
                let read = |path: &Path| {
                    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
                };
                let mut stderr = read(&stderr);
                if let Some(trap) = trap {
                    stderr.push_str(&format!("error: the test's instance trapped: {trap}\n"));
                }
                return Ok(Finished {
                    code,
                    stdout: read(&stdout),
                    stderr,
                });
            }
            Instances::WasmEdge { .. } | Instances::Native { .. } => self.process(args),
        };
        let mut command = command;
        command.stdin(Stdio::null());
        crate::util::process::die_with_parent(&mut command);
        let output = command
            .output()
            .with_context(|| format!("could not run `{command:?}`"))?;
        Ok(Finished {
            code: launch::exit_code(output.status),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Run the binary once with `args` and the runner's own stdio: `--no-isolation`.
    fn passthrough(&self, args: &[String]) -> anyhow::Result<i32> {
        let mut command = match self {
            #[cfg(feature = "embedded")]
            Instances::Engine { spec, cache, .. } => {
                let spec = LaunchSpec {
                    args: args.to_vec(),
                    ..spec.clone()
                };
                return crate::run::embedded::run_inherited(&spec, cache.as_ref());
            }
            Instances::WasmEdge { .. } | Instances::Native { .. } => self.process(args),
        };
        crate::util::process::die_with_parent(&mut command);
        let status = command
            .status()
            .with_context(|| format!("could not run `{command:?}`"))?;
        Ok(launch::exit_code(status))
    }

    /// The test names the binary lists for `args`.
    fn list(&self, args: &[String], binary: &Path) -> anyhow::Result<Vec<String>> {
        let listed = self.captured(args, usize::MAX)?;
        if listed.code != 0 {
            return Err(hint(
                format!(
                    "`{} {}` failed with exit code {}:\n{}{}",
                    binary.display(),
                    args.join(" "),
                    listed.code,
                    listed.stdout,
                    listed.stderr
                ),
                "check that it is a libtest test binary (a `harness = false` target is run with `--no-isolation`)",
            ));
        }
        Ok(libtest::parse_terse_list(&listed.stdout))
    }
}

/// Where the runner's report goes: stdout as libtest writes it, or stderr when stdout
/// carries JSON messages.
struct Report {
    json: bool,
}

impl Report {
    fn text(&self, text: &str) {
        if self.json {
            let _ = std::io::stderr().write_all(text.as_bytes());
        } else {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
        }
    }

    fn line(&self, line: &str) {
        self.text(&format!("{line}\n"));
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Appends `BINARY<TAB>COUNT` to the report file the `test` command reads, when it set one.
fn note_count(binary: &Path, count: usize) {
    let Some(path) = std::env::var_os(REPORT_VAR) else {
        return;
    };
    let line = format!("{}\t{count}\n", binary.display());
    let _ = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut file| file.write_all(line.as_bytes()));
}

/// The `__test-runner`: run the test binary `binary` with libtest's `args` on `runtime`;
/// libtest's exit status (0, or 101 when a test failed). With `--message-format json`
/// (`printer`'s), a `test` message per test and a `test-result` per binary on stdout, and
/// the libtest report on stderr.
pub fn run_binary(
    runtime: RunnerRuntime,
    isolation: bool,
    binary: &Path,
    args: &[String],
    printer: &Printer,
) -> anyhow::Result<i32> {
    // A Ctrl-C ends us; instances on processes follow (they die with their parent).
    launch::end_process_on_stop_signals()?;
    let instances = Instances::new(runtime, binary, printer)?;
    let test_args = TestArgs::parse(args);
    if !isolation || test_args.list {
        if std::env::var_os(REPORT_VAR).is_some() {
            let all = instances.list(&libtest::list_args(), binary)?;
            note_count(binary, all.len());
        }
        return instances.passthrough(args);
    }

    let started = Instant::now();
    let all = instances.list(&libtest::list_args(), binary)?;
    note_count(binary, all.len());
    // Without filters or `--ignored` the selection is the whole list: no second `--list`.
    let selected_args = test_args.list_selected();
    let selected = if selected_args == libtest::list_args() {
        all.clone()
    } else {
        instances.list(&selected_args, binary)?
    };
    let ignored: BTreeSet<String> = match test_args.list_ignored() {
        Some(list) => instances.list(&list, binary)?.into_iter().collect(),
        None => BTreeSet::new(),
    };
    let filtered_out = all.len().saturating_sub(selected.len());
    let json = printer.json_messages();
    let report = Report { json };
    report.line(&format!("\n{}", libtest::running_line(selected.len())));

    let mut results: Vec<Option<TestResult>> = selected
        .iter()
        .map(|name| {
            ignored.contains(name).then(|| TestResult {
                name: name.clone(),
                outcome: Outcome::Ignored,
                duration: Duration::ZERO,
                output: String::new(),
            })
        })
        .collect();
    let to_run: Vec<usize> = (0..selected.len())
        .filter(|&index| results[index].is_none())
        .collect();
    let binary_name = binary.display().to_string();
    let next = AtomicUsize::new(0);
    let workers = test_args.concurrency().min(to_run.len()).max(1);
    let (sender, finished) = mpsc::channel::<(usize, anyhow::Result<TestResult>)>();

    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..workers {
            let sender = sender.clone();
            let (next, to_run, selected, instances, test_args) =
                (&next, &to_run, &selected, &instances, &test_args);
            scope.spawn(move || {
                while let Some(&index) = to_run.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let name = &selected[index];
                    let began = Instant::now();
                    let result = instances
                        .captured(&test_args.run_one(name), index)
                        .map(|done| {
                            let (outcome, output) =
                                libtest::judge(name, done.code, &done.stdout, &done.stderr);
                            TestResult {
                                name: name.clone(),
                                outcome,
                                duration: began.elapsed(),
                                output,
                            }
                        });
                    if sender.send((index, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        // Results are printed in the list's order as soon as all before them are in, so
        // the report reads the same at any concurrency.
        let mut printed = 0;
        let mut print_ready = |results: &mut Vec<Option<TestResult>>| {
            while let Some(Some(result)) = results.get(printed) {
                report.line(&libtest::result_line(result));
                printer.message(
                    "test",
                    &libtest::TestMessage {
                        binary: &binary_name,
                        name: &result.name,
                        outcome: result.outcome,
                        duration_ms: millis(result.duration),
                        output: (result.outcome == Outcome::Failed)
                            .then_some(result.output.as_str()),
                    },
                );
                printed += 1;
            }
        };
        print_ready(&mut results);
        for (index, result) in finished {
            results[index] = Some(result?);
            print_ready(&mut results);
        }
        Ok(())
    })?;

    let results: Vec<TestResult> = results.into_iter().flatten().collect();
    let summary = Summary::of(&results, filtered_out);
    let elapsed = started.elapsed();
    report.text(&libtest::closing(
        &results,
        &summary,
        elapsed,
        test_args.show_output,
    ));
    printer.message(
        "test-result",
        &libtest::TestResultMessage {
            binary: &binary_name,
            outcome: if summary.ok() { "ok" } else { "failed" },
            summary: &summary,
            duration_ms: millis(elapsed),
            mode: "isolated",
        },
    );
    Ok(if summary.ok() {
        0
    } else {
        libtest::FAILED_EXIT_CODE
    })
}
