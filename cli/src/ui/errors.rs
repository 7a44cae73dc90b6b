//! Errors a user can act on: a message plus the `help:` line that says what to do next.
//!
//! The message travels through anyhow's context chain like any other; `report` looks for
//! the first [`Hint`] in the chain so the help always ends up last, after the causes.

use std::fmt;

use crate::ui::printer::Printer;

/// A failure with advice attached.
#[derive(Debug)]
pub struct Hint {
    pub message: String,
    pub help: String,
    /// A bad command-line argument: the exit code is 2, as for clap's own errors.
    pub usage: bool,
}

/// The exit code for an argument that clap accepted but we refused, as clap's.
pub const USAGE_EXIT_CODE: i32 = 2;

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hint {}

/// An error that says what went wrong and what to do about it.
pub fn hint(message: impl Into<String>, help: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hint {
        message: message.into(),
        help: help.into(),
        usage: false,
    })
}

/// A refused command-line argument: exits with [`USAGE_EXIT_CODE`].
pub fn usage_error(message: impl Into<String>, help: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hint {
        message: message.into(),
        help: help.into(),
        usage: true,
    })
}

/// The process exit code for `error`: 2 for a refused argument, else 1.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    match error.downcast_ref::<Hint>() {
        Some(hint) if hint.usage => USAGE_EXIT_CODE,
        _ => 1,
    }
}

/// A lower-level error under `message`, with advice.
pub fn hint_on(
    error: impl Into<anyhow::Error>,
    message: impl Into<String>,
    help: impl Into<String>,
) -> anyhow::Error {
    error.into().context(Hint {
        message: message.into(),
        help: help.into(),
        usage: false,
    })
}

/// Attach a message and advice to a lower-level error.
pub trait HintExt<T> {
    fn hint_context(self, message: impl Into<String>, help: impl Into<String>)
        -> anyhow::Result<T>;
}

impl<T, E> HintExt<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn hint_context(
        self,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> anyhow::Result<T> {
        self.map_err(|error| hint_on(error, message, help))
    }
}

/// Print an error as `error: outer: cause: root` followed by its `help:` line.
pub fn report(error: &anyhow::Error, printer: &Printer) {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        // Some errors repeat their source in their own message; say it once.
        if text.ends_with(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    printer.error(&text);
    // anyhow's downcast sees context layers too, which `chain()` items do not expose.
    if let Some(hint) = error.downcast_ref::<Hint>() {
        printer.help(&hint.help);
    }
}
