//! `cargo wasock test`: the package's tests in wasm on WasmEdge or the embedded engine, one
//! instance per test, and its end-to-end tests natively against the built module; and the
//! hidden `__test-runner` cargo runs each test binary through.

use std::path::PathBuf;

use clap::Args;

use crate::build::args::CargoArgs;
use crate::run::runtime::Runtime;
use crate::test::runner::{self, RunnerRuntime, TestPlan};
use crate::ui::messages::MessageFormatArgs;
use crate::ui::printer::Printer;

#[derive(Args, Debug)]
#[command(
    about = "Run the package's tests in wasm, and its end-to-end tests against the built module",
    long_about = "Run the package's tests in wasm on WasmEdge or the embedded engine, and its \
end-to-end tests natively against the built .wasm.\n\n\
What runs where: cargo builds the tests for wasm32-wasip1 and runs each test binary (unit tests \
of the library and binaries, integration tests) through cargo-wasock on the chosen runtime, in \
the package's directory (mapped as the guest's `.` and under its own path) with cargo's \
CARGO_MANIFEST_DIR and CARGO_PKG_* variables. Integration tests that have no test on wasm are \
end-to-end tests: the templates' tests/app.rs is `#![cfg(not(target_os = \"wasi\"))]`, because it \
starts the app as a process and talks HTTP to it. Once the wasm tests pass, the app's module is \
built and those targets run natively with WASOCK_TEST_APP_WASM (the module), WASOCK_TEST_RUNTIME \
(embedded or wasmedge) and WASOCK_TEST_CARGO_WASOCK set; the templates' test helper then starts \
the app with `cargo-wasock run --wasm` on that runtime instead of the native binary, so the same \
assertions check the artifact you deploy. Doc tests are not run (cargo's `--tests` selection): \
a doc test is a program of its own, not a libtest binary the runner can list; run them with \
plain `cargo test --doc`.\n\n\
Isolation: a panic aborts a wasm32-wasip1 program, so one failing test would end its binary and \
hide the rest. Each binary is asked for its list (`--list --format terse`, with your filters, \
--exact, --skip, --ignored and --include-ignored), then every test runs in its own instance \
(`--exact NAME`), up to the number of cores at once (--test-threads N after -- sets it): on the \
engine a fresh instance of a module compiled once into the user's cache, on WasmEdge one process \
each. Results are reported in libtest's format, in list order, with each failing test's output \
(stdout, then stderr) under `failures:`. --nocapture or --show-output also shows passing tests' \
output. --no-isolation runs each binary once, as cargo would: the first panic then ends it.\n\n\
Exit status: 0 when every test passed, 101 when a test failed (as cargo test), 1 when something \
else failed (a build error, a missing runtime), 2 for a refused argument.\n\n\
--message-format json adds, on stdout, cargo's own JSON messages and one `test` object per \
test (binary, name, outcome ok|failed|ignored, duration_ms, output for a failure) and one \
`test-result` per binary (passed, failed, ignored, measured, filtered_out, duration_ms); the \
libtest report then goes to stderr.",
    after_help = "Examples:\n  cargo wasock test\n  cargo wasock test --runtime embedded -- parse --exact\n  \
cargo wasock test --lib --no-isolation\n  cargo wasock test --test app -- --nocapture\n  \
cargo wasock test --message-format json > results.jsonl"
)]
pub struct TestArgs {
    /// Which runtime runs the tests (and the app, for end-to-end tests)
    #[arg(long, value_enum, default_value_t = Runtime::Auto)]
    pub runtime: Runtime,

    /// Run each test binary once instead of one instance per test (a panic ends the binary)
    #[arg(long)]
    pub no_isolation: bool,

    /// Test only the package's library
    #[arg(long)]
    pub lib: bool,

    /// Test all binaries
    #[arg(long)]
    pub bins: bool,

    /// Test only the integration test NAME (repeatable)
    #[arg(long = "test", value_name = "NAME")]
    pub tests: Vec<String>,

    /// Run every test binary, even after one has failed
    #[arg(long)]
    pub no_fail_fast: bool,

    #[command(flatten)]
    pub format: MessageFormatArgs,

    /// Arguments for the tests (libtest's: filters, --exact, --skip, --ignored, --nocapture…)
    #[arg(last = true, value_name = "TEST ARGS")]
    pub args: Vec<String>,

    // Last, because its help heading applies to every argument after it.
    #[command(flatten)]
    pub cargo: CargoArgs,
}

pub fn run(args: TestArgs, printer: &Printer) -> anyhow::Result<i32> {
    let plan = TestPlan {
        cargo: args.cargo,
        lib: args.lib,
        bins: args.bins,
        tests: args.tests,
        no_fail_fast: args.no_fail_fast,
        runtime: args.runtime,
        isolation: !args.no_isolation,
        json: args.format.is_json(),
        test_args: args.args,
        verbosity: printer.verbosity(),
    };
    runner::test(&plan, printer)
}

/// `cargo-wasock __test-runner --runtime R [--no-isolation] BINARY [ARGS]...`: what cargo
/// runs for each test binary (`target.<triple>.runner`); not for people.
#[derive(Args, Debug)]
pub struct RunnerArgs {
    #[arg(long, value_enum)]
    pub runtime: RunnerRuntime,

    #[arg(long)]
    pub no_isolation: bool,

    #[command(flatten)]
    pub format: MessageFormatArgs,

    /// The test binary cargo built
    pub binary: PathBuf,

    /// libtest's arguments, as cargo passes them on
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run_runner(args: RunnerArgs, printer: &Printer) -> anyhow::Result<i32> {
    runner::run_binary(
        args.runtime,
        !args.no_isolation,
        &args.binary,
        &args.args,
        &printer.with_message_format(args.format),
    )
}
