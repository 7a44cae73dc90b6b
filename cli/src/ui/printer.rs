//! Everything the CLI says to the user goes through here, on stderr (stdout is the app's).
//!
//! The printer knows whether stderr is a terminal and whether the user asked for `--quiet`
//! or `--verbose`. Progress bars and spinners are drawn only on a terminal without
//! `--quiet`; elsewhere the same progress shows as plain status lines, so logs stay readable.

use std::fmt::Display;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use console::style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::ui::messages::{self, MessageFormatArgs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// Cheap to clone: threads (port watcher, cargo's stderr pump) hold their own copy.
#[derive(Clone)]
pub struct Printer {
    verbosity: Verbosity,
    terminal: bool,
    /// `--message-format json`: machine-readable messages on stdout besides the status.
    json: bool,
    /// Where the messages go instead of stdout, when `watch` asked its child for them
    /// (`run --messages-fd`): a pipe to the parent.
    messages_to: Option<Arc<Mutex<std::fs::File>>>,
    // Lines are printed through this so that an active bar is lifted out of the way first.
    bars: MultiProgress,
}

impl Printer {
    pub fn new(verbosity: Verbosity) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let target = if terminal && verbosity != Verbosity::Quiet {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Printer {
            verbosity,
            terminal,
            json: false,
            messages_to: None,
            bars: MultiProgress::with_draw_target(target),
        }
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// This printer for a command given `--message-format`.
    pub fn with_message_format(&self, format: MessageFormatArgs) -> Printer {
        Printer {
            json: format.is_json(),
            ..self.clone()
        }
    }

    /// This printer sending its messages (JSON lines, as `--message-format json` prints
    /// them) to `sink` instead of stdout, which belongs to the app.
    pub fn with_messages_to(&self, sink: std::fs::File) -> Printer {
        Printer {
            messages_to: Some(Arc::new(Mutex::new(sink))),
            ..self.clone()
        }
    }

    /// Whether `--message-format json` was given: machine-readable messages go to stdout.
    pub fn json_messages(&self) -> bool {
        self.json
    }

    /// One `--message-format json` message (see [`crate::ui::messages::emit`]); nothing otherwise.
    pub fn message<T: Serialize>(&self, reason: &str, fields: &T) {
        match &self.messages_to {
            Some(sink) => {
                let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
                messages::emit_to(&mut *sink, reason, fields);
            }
            None if self.json => messages::emit(reason, fields),
            None => {}
        }
    }

    /// Whether stderr is a terminal, so child tools may be asked for colour.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    fn animated(&self) -> bool {
        self.terminal && self.verbosity != Verbosity::Quiet
    }

    /// A line as it is, e.g. forwarded from cargo; shown even with `--quiet` because the
    /// tool that produced it already honoured quietness.
    pub fn raw(&self, line: &str) {
        self.bars.suspend(|| eprintln!("{line}"));
    }

    /// A cargo-style status line: a right-aligned green verb and a message.
    pub fn status(&self, verb: &str, message: impl Display) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        let verb = style(format!("{verb:>12}"))
            .green()
            .bright()
            .bold()
            .for_stderr();
        self.bars.suspend(|| eprintln!("{verb} {message}"));
    }

    /// Details only worth seeing with `--verbose`.
    pub fn verbose(&self, message: impl Display) {
        if self.verbosity == Verbosity::Verbose {
            let label = style("verbose").dim().for_stderr();
            self.bars.suspend(|| eprintln!("{label}: {message}"));
        }
    }

    pub fn note(&self, message: impl Display) {
        if self.verbosity != Verbosity::Quiet {
            let label = style("note").cyan().bold().for_stderr();
            self.bars.suspend(|| eprintln!("{label}: {message}"));
        }
    }

    pub fn warn(&self, message: impl Display) {
        let label = style("warning").yellow().bold().for_stderr();
        self.bars.suspend(|| eprintln!("{label}: {message}"));
    }

    pub fn error(&self, message: impl Display) {
        let label = style("error").red().bold().for_stderr();
        self.bars.suspend(|| eprintln!("{label}: {message}"));
    }

    /// Something the app's sandbox refused (`blocked: …`), shown even with `--quiet`.
    #[cfg_attr(not(feature = "embedded"), allow(dead_code))]
    pub fn blocked(&self, message: impl Display) {
        let label = style("blocked").red().bold().for_stderr();
        self.bars.suspend(|| eprintln!("{label}: {message}"));
    }

    pub fn help(&self, message: impl Display) {
        let label = style("help").cyan().bold().for_stderr();
        self.bars.suspend(|| eprintln!("{label}: {message}"));
    }

    /// A bar counting `total` steps; invisible off a terminal or with `--quiet`.
    pub fn progress(&self, total: u64, prefix: &str) -> Progress {
        if !self.animated() {
            return Progress { bar: None };
        }
        let bar = self.bars.add(ProgressBar::new(total));
        let template = "{prefix:>12.cyan.bold} [{bar:27}] {pos}/{len}: {wide_msg}";
        if let Ok(bar_style) = ProgressStyle::with_template(template) {
            bar.set_style(bar_style.progress_chars("=> "));
        }
        bar.set_prefix(prefix.to_owned());
        Progress { bar: Some(bar) }
    }

    /// A spinner for one long step; off a terminal the caller's status line stands for it.
    pub fn spinner(&self, prefix: &str, message: impl Display) -> Progress {
        if !self.animated() {
            return Progress { bar: None };
        }
        let bar = self.bars.add(ProgressBar::new_spinner());
        if let Ok(spinner_style) =
            ProgressStyle::with_template("{prefix:>12.cyan.bold} {spinner} {wide_msg} ({elapsed})")
        {
            bar.set_style(spinner_style);
        }
        bar.set_prefix(prefix.to_owned());
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress { bar: Some(bar) }
    }
}

/// A bar or spinner that disappears when dropped, leaving only the status lines behind.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Set the number of steps, once known (at least the steps already made).
    pub fn set_total(&self, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total.max(bar.position()).max(1));
        }
    }

    pub fn inc(&self, message: impl Display) {
        if let Some(bar) = &self.bar {
            if bar
                .length()
                .is_some_and(|length| bar.position() + 1 > length)
            {
                bar.inc_length(1);
            }
            bar.inc(1);
            bar.set_message(message.to_string());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `1.4 MiB`-style sizes for the "built ..." lines.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
