//! One module per subcommand: its clap arguments and a thin `run` over the library modules.

pub mod build;
pub mod cache;
pub mod deploy;
pub mod doctor;
pub mod init;
pub mod new;
pub mod package;
pub mod push;
pub mod run;
pub mod templates;
pub mod test;
pub mod watch;
