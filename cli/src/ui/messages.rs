//! Machine-readable output: `--message-format json` on `build`, `run`, `test`, `doctor` and
//! `templates`.
//!
//! Each message is one JSON object on one line of stdout, with a `reason` field naming its kind,
//! the way cargo's own `--message-format json` messages are shaped (cargo's lines are passed
//! through verbatim, so a consumer sees one stream). Human status lines still go to stderr,
//! unchanged: JSON mode adds a channel, it does not replace one. Each command defines the
//! message structs it emits next to its own logic; this module only frames and writes them.

use std::io::Write as _;

use serde::Serialize;

/// The value of `--message-format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MessageFormat {
    /// Status for people, on stderr
    #[default]
    Human,
    /// Also one JSON object per line on stdout (cargo's messages included)
    Json,
}

/// The `--message-format` flag, for flattening into a command's args struct.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct MessageFormatArgs {
    /// Output format: `json` also prints one JSON object per line on stdout, for CI and editors
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, value_name = "FMT")]
    pub message_format: MessageFormat,
}

impl MessageFormatArgs {
    pub fn is_json(&self) -> bool {
        self.message_format == MessageFormat::Json
    }
}

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    reason: &'a str,
    #[serde(flatten)]
    fields: &'a T,
}

/// Writes `{"reason": reason, ...fields}` as one line on stdout and flushes it, so a consumer
/// reading a pipe sees each message as it happens. `fields` must serialize as a map (a struct
/// with named fields) and must not have a field named `reason` (it would appear twice). A closed stdout is not an error worth stopping the command for.
pub fn emit<T: Serialize>(reason: &str, fields: &T) {
    let mut stdout = std::io::stdout().lock();
    emit_to(&mut stdout, reason, fields);
}

/// [`emit`] to `out` instead of stdout (`run`'s messages to `watch` over a pipe).
pub fn emit_to<T: Serialize>(out: &mut impl std::io::Write, reason: &str, fields: &T) {
    let Ok(mut line) = serde_json::to_vec(&Line { reason, fields }) else {
        debug_assert!(false, "message `{reason}` does not serialize as a map");
        return;
    };
    line.push(b'\n');
    let _ = out.write_all(&line).and_then(|()| out.flush());
}

/// Passes one line from cargo's own `--message-format json` output through unchanged.
pub fn pass_through(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Exit {
        code: i32,
    }

    #[test]
    fn a_message_is_its_reason_then_its_fields() {
        let line = serde_json::to_string(&Line {
            reason: "exit",
            fields: &Exit { code: 3 },
        })
        .unwrap();
        assert_eq!(line, r#"{"reason":"exit","code":3}"#);
    }
}
