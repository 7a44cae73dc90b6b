//! libtest's side of `cargo wasock test`: the test arguments a user passes after `--`,
//! a binary's `--list --format terse` answer, one isolated run's outcome, and the report in
//! libtest's own human format (plus the `--message-format json` messages).
//!
//! Pure text in, text out: nothing here starts a process, so all of it is unit-tested.
//! The human format follows libtest's pretty formatter (Rust 1.95): `running N tests`,
//! `test NAME ... ok|FAILED|ignored`, a `failures:` section with each failing test's output,
//! and `test result: ok|FAILED. P passed; F failed; I ignored; 0 measured; X filtered out;
//! finished in S.SSs`.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// The exit status of a test binary with a failed test (libtest's `ERROR_EXIT_CODE`).
pub const FAILED_EXIT_CODE: i32 = 101;

/// What the user passed after `--`, split by what it means to an isolated run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TestArgs {
    /// Arguments that choose tests (filters, `--exact`, `--skip X`): given to `--list`.
    pub select: Vec<String>,
    /// `--ignored`: only the ignored tests run.
    pub ignored_only: bool,
    /// `--include-ignored`: ignored tests run too.
    pub include_ignored: bool,
    /// `--nocapture` or `--show-output`: print each passing test's output as well.
    pub show_output: bool,
    /// `--test-threads N` (else `RUST_TEST_THREADS`): how many instances at once.
    pub threads: Option<usize>,
    /// `--list`: the user wants the list itself; the binary answers it directly.
    pub list: bool,
    /// Everything else, given to every test's instance unchanged.
    pub other: Vec<String>,
}

/// libtest options that take a value as the next argument (libtest 1.95's `optopt`s).
const WITH_VALUE: &[&str] = &[
    "--skip",
    "--test-threads",
    "--logfile",
    "--format",
    "--color",
    "-Z",
    "--shuffle-seed",
];

impl TestArgs {
    /// Split libtest's arguments (as `cargo test -- ARGS` passes them on).
    pub fn parse(args: &[String]) -> TestArgs {
        let mut parsed = TestArgs::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
                _ => (arg.as_str(), None),
            };
            let mut value = || inline.clone().or_else(|| args.next().cloned());
            match flag {
                "--exact" => parsed.select.push(arg.clone()),
                "--skip" => {
                    if let Some(value) = value() {
                        parsed.select.extend(["--skip".to_owned(), value]);
                    }
                }
                "--ignored" => parsed.ignored_only = true,
                "--include-ignored" => parsed.include_ignored = true,
                "--nocapture" | "--no-capture" | "--show-output" => parsed.show_output = true,
                "--test-threads" => parsed.threads = value().and_then(|v| v.parse().ok()),
                "--list" => parsed.list = true,
                // The report is always libtest's pretty format; these would change the
                // instances' output, which the runner reads.
                "--format" | "--color" | "--logfile" => {
                    let _ = value();
                }
                "-q" | "--quiet" => {}
                _ if WITH_VALUE.contains(&flag) => {
                    parsed.other.push(arg.clone());
                    if inline.is_none() {
                        parsed.other.extend(args.next().cloned());
                    }
                }
                _ if !arg.starts_with('-') => parsed.select.push(arg.clone()),
                _ => parsed.other.push(arg.clone()),
            }
        }
        parsed
    }

    /// The arguments of the `--list` run that names the tests the user's selection runs.
    pub fn list_selected(&self) -> Vec<String> {
        let mut args = list_args();
        args.extend(self.select.iter().cloned());
        if self.ignored_only {
            args.push("--ignored".to_owned());
        }
        args
    }

    /// The arguments of the `--list` run that names which selected tests are ignored (None
    /// when ignored tests run anyway).
    pub fn list_ignored(&self) -> Option<Vec<String>> {
        if self.ignored_only || self.include_ignored {
            return None;
        }
        let mut args = list_args();
        args.extend(self.select.iter().cloned());
        args.push("--ignored".to_owned());
        Some(args)
    }

    /// The arguments of the instance that runs the one test `name`. `--nocapture`: with
    /// panic=abort (wasm32-wasip1) a captured test's output dies with it, so the runner
    /// captures the instance's streams instead.
    pub fn run_one(&self, name: &str) -> Vec<String> {
        let mut args = vec![
            "--exact".to_owned(),
            name.to_owned(),
            "--nocapture".to_owned(),
            "--test-threads=1".to_owned(),
        ];
        if self.ignored_only || self.include_ignored {
            args.push("--include-ignored".to_owned());
        }
        args.extend(self.other.iter().cloned());
        args
    }

    /// How many instances run at once: `--test-threads`, `RUST_TEST_THREADS`, else the
    /// number of cores (as libtest decides).
    pub fn concurrency(&self) -> usize {
        self.threads
            .or_else(|| std::env::var("RUST_TEST_THREADS").ok()?.parse().ok())
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1)
            .max(1)
    }
}

/// The list of every test in a binary (no filters).
pub fn list_args() -> Vec<String> {
    ["--list", "--format", "terse"].map(str::to_owned).to_vec()
}

/// The test names in `--list --format terse` output (`NAME: test` lines; benchmarks are
/// not tests and are left out).
pub fn parse_terse_list(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Failed,
    Ignored,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "FAILED",
            Outcome::Ignored => "ignored",
        }
    }
}

/// One test's result, with the output its instance wrote (libtest's own framing removed).
#[derive(Debug, Clone)]
pub struct TestResult {
    pub name: String,
    pub outcome: Outcome,
    pub duration: Duration,
    pub output: String,
}

/// What an instance that ran only `name` says about it: exit status 0 with libtest's
/// `1 passed` is a pass; anything else (a failure, a trap after a panic, a non-zero exit)
/// is a failure. The output is what the test itself wrote: stdout without libtest's lines
/// around it, then stderr.
pub fn judge(name: &str, exit_code: i32, stdout: &str, stderr: &str) -> (Outcome, String) {
    let mut output = test_output(name, stdout);
    output.push_str(stderr);
    let passed = exit_code == 0 && stdout.contains("test result: ok. 1 passed;");
    if passed {
        return (Outcome::Ok, output);
    }
    if exit_code == 0 {
        // The binary ran nothing under that exact name: say so rather than call it a pass.
        output.push_str(&format!(
            "note: `--exact {name}` ran no test (the binary's list named it)\n"
        ));
    } else if !stdout.contains("test result:") {
        output.push_str(&format!(
            "note: the test's instance ended with exit code {exit_code} before libtest reported (a panic aborts on wasm32-wasip1)\n"
        ));
    }
    (Outcome::Failed, output)
}

/// The part of an instance's stdout the test wrote: after `test NAME ... `, before the
/// verdict and `test result:`.
fn test_output(name: &str, stdout: &str) -> String {
    let start = format!("test {name} ... ");
    let body = match stdout.find(&start) {
        Some(at) => &stdout[at + start.len()..],
        None => stdout,
    };
    let body = match body.find("\ntest result:") {
        Some(end) => &body[..end],
        None => body,
    };
    let body = match body.find("\nfailures:\n") {
        Some(end) => &body[..end + 1],
        None => body,
    };
    // The verdict libtest writes after the output, on a line of its own.
    let trimmed = body.trim_end_matches('\n');
    ["ok", "FAILED", "ignored"]
        .iter()
        .find_map(|verdict| {
            let before = trimmed.strip_suffix(verdict)?;
            (before.is_empty() || before.ends_with('\n')).then_some(before)
        })
        .unwrap_or(body)
        .to_owned()
}

/// The line for one result, as libtest prints it.
pub fn result_line(result: &TestResult) -> String {
    format!("test {} ... {}", result.name, result.outcome.word())
}

/// A binary's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub ignored: usize,
    pub measured: usize,
    pub filtered_out: usize,
}

impl Summary {
    pub fn of(results: &[TestResult], filtered_out: usize) -> Summary {
        let count = |outcome| results.iter().filter(|r| r.outcome == outcome).count();
        Summary {
            passed: count(Outcome::Ok),
            failed: count(Outcome::Failed),
            ignored: count(Outcome::Ignored),
            measured: 0,
            filtered_out,
        }
    }

    pub fn ok(&self) -> bool {
        self.failed == 0
    }

    /// `test result: ok. 1 passed; …; finished in 0.12s`.
    pub fn line(&self, elapsed: Duration) -> String {
        format!(
            "test result: {}. {} passed; {} failed; {} ignored; {} measured; {} filtered out; finished in {:.2}s",
            if self.ok() { "ok" } else { "FAILED" },
            self.passed,
            self.failed,
            self.ignored,
            self.measured,
            self.filtered_out,
            elapsed.as_secs_f64()
        )
    }
}

/// `running N tests` (libtest says `1 test`).
pub fn running_line(count: usize) -> String {
    let noun = if count == 1 { "test" } else { "tests" };
    format!("running {count} {noun}")
}

/// Everything after the result lines: the output sections (`successes:` with
/// `show_output`, `failures:` always when a test failed) and the `test result:` line, as
/// libtest prints them.
pub fn closing(
    results: &[TestResult],
    summary: &Summary,
    elapsed: Duration,
    show_output: bool,
) -> String {
    let mut text = String::new();
    let section = |text: &mut String, title: &str, outcome: Outcome| {
        let chosen: Vec<&TestResult> = results.iter().filter(|r| r.outcome == outcome).collect();
        if chosen.is_empty() {
            return;
        }
        let _ = writeln!(text, "\n{title}:\n");
        for result in &chosen {
            let _ = writeln!(text, "---- {} stdout ----", result.name);
            text.push_str(&result.output);
            if !result.output.is_empty() && !result.output.ends_with('\n') {
                text.push('\n');
            }
            text.push('\n');
        }
        let _ = writeln!(text, "\n{title}:");
        for result in &chosen {
            let _ = writeln!(text, "    {}", result.name);
        }
    };
    if show_output {
        section(&mut text, "successes", Outcome::Ok);
    }
    section(&mut text, "failures", Outcome::Failed);
    let _ = writeln!(text, "\n{}\n", summary.line(elapsed));
    text
}

/// `--message-format json`: one test's result (`"reason": "test"`).
#[derive(Debug, Serialize)]
pub struct TestMessage<'a> {
    /// The test binary (the module's path, or the native executable's).
    pub binary: &'a str,
    pub name: &'a str,
    pub outcome: Outcome,
    /// Wall time of the test's instance, start to exit, in milliseconds.
    pub duration_ms: u64,
    /// What the test wrote (stdout, then stderr), for a failed test; null otherwise.
    pub output: Option<&'a str>,
}

/// `--message-format json`: a binary's totals (`"reason": "test-result"`).
#[derive(Debug, Serialize)]
pub struct TestResultMessage<'a> {
    pub binary: &'a str,
    /// `ok` or `failed`.
    pub outcome: &'static str,
    #[serde(flatten)]
    pub summary: &'a Summary,
    /// The binary's wall time, list included, in milliseconds.
    pub duration_ms: u64,
    /// `isolated` (one instance per test) or `passthrough` (`--no-isolation`).
    pub mode: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_terse_list_names_tests_only() {
        let stdout = "tests::a: test\ntests::b c: test\nbench::x: benchmark\n\n";
        assert_eq!(
            parse_terse_list(stdout),
            strings(&["tests::a", "tests::b c"])
        );
    }

    #[test]
    fn user_arguments_split_into_selection_and_the_rest() {
        let args = TestArgs::parse(&strings(&[
            "add",
            "--exact",
            "--skip",
            "slow",
            "--nocapture",
            "--test-threads=3",
            "--include-ignored",
            "-Z",
            "unstable-options",
            "--format=json",
        ]));
        assert_eq!(args.select, strings(&["add", "--exact", "--skip", "slow"]));
        assert!(args.show_output && args.include_ignored && !args.ignored_only);
        assert_eq!(args.threads, Some(3));
        assert_eq!(args.other, strings(&["-Z", "unstable-options"]));
        assert_eq!(
            args.list_selected(),
            strings(&["--list", "--format", "terse", "add", "--exact", "--skip", "slow"])
        );
        assert_eq!(args.list_ignored(), None);
        assert_eq!(
            args.run_one("m::t"),
            strings(&[
                "--exact",
                "m::t",
                "--nocapture",
                "--test-threads=1",
                "--include-ignored",
                "-Z",
                "unstable-options"
            ])
        );
        let plain = TestArgs::parse(&[]);
        assert_eq!(
            plain.list_ignored(),
            Some(strings(&["--list", "--format", "terse", "--ignored"]))
        );
    }

    #[test]
    fn an_instance_is_judged_by_its_exit_and_libtests_count() {
        let passed = "\nrunning 1 test\ntest t::a ... hello\nok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 4 filtered out; finished in 0.00s\n\n";
        assert_eq!(
            judge("t::a", 0, passed, ""),
            (Outcome::Ok, "hello\n".into())
        );
        let aborted = "\nrunning 1 test\ntest t::b ... out\n";
        let (outcome, output) = judge("t::b", 1, aborted, "thread 'main' panicked\n");
        assert_eq!(outcome, Outcome::Failed);
        assert!(
            output.starts_with("out\nthread 'main' panicked\n"),
            "{output}"
        );
        assert!(output.contains("exit code 1"), "{output}");
        let nothing = "\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 5 filtered out; finished in 0.00s\n\n";
        assert_eq!(judge("t::c", 0, nothing, "").0, Outcome::Failed);
        // A native test that failed without aborting: libtest's own lines are left out.
        let native = "\nrunning 1 test\ntest t::d ... said\nFAILED\n\nfailures:\n\nfailures:\n    t::d\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\n";
        assert_eq!(
            judge("t::d", 101, native, "panicked\n"),
            (Outcome::Failed, "said\npanicked\n".into())
        );
    }

    #[test]
    fn the_closing_is_libtests() {
        let result = |name: &str, outcome, output: &str| TestResult {
            name: name.into(),
            outcome,
            duration: Duration::ZERO,
            output: output.into(),
        };
        let results = [
            result("a", Outcome::Ok, "x\n"),
            result("b", Outcome::Failed, "boom\n"),
            result("c", Outcome::Ignored, ""),
        ];
        let summary = Summary::of(&results, 2);
        assert_eq!(result_line(&results[1]), "test b ... FAILED");
        assert_eq!(
            closing(&results, &summary, Duration::from_millis(1234), false),
            "\nfailures:\n\n---- b stdout ----\nboom\n\n\nfailures:\n    b\n\n\
             test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 2 filtered out; finished in 1.23s\n\n"
        );
        assert_eq!(running_line(1), "running 1 test");
    }
}
