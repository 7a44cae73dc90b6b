//! Everything said to the user, shared by every stage: the printer (stderr; quiet, verbose
//! and TTY aware), `--message-format json`'s framing on stdout, and errors with a `help:`
//! line. Uses nothing else of the crate.

pub mod errors;
pub mod messages;
pub mod printer;
