//! The app's environment: `[package.metadata.wasock] env`, then `--env-file`, then `--env`,
//! then `--port`, later sources replacing earlier values. WasmEdge inherits nothing from
//! the host, so this list is the guest's whole environment.
//!
//! Values pass through verbatim. Only `--port N` is a claim that the app listens on N;
//! a `PORT` from any other source is the app's data (a client's `PORT` may name the
//! server it talks to), so `run` neither checks nor waits for it.

use std::path::Path;
use std::str::FromStr;

use crate::project::metadata::WasockDefaults;
use crate::ui::errors::hint;
use crate::ui::printer::Printer;

/// `--env KEY=VALUE` sets a variable; `--env KEY` copies the host's value.
#[derive(Debug, Clone)]
pub struct EnvArg {
    pub key: String,
    pub value: Option<String>,
}

impl FromStr for EnvArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (key, value) = match text.split_once('=') {
            Some((key, value)) => (key, Some(value.to_owned())),
            None => (text, None),
        };
        if key.is_empty() {
            return Err("the variable name is empty; expected KEY=VALUE or KEY".to_owned());
        }
        if key.chars().any(|c| c.is_whitespace() || c == '\0') {
            return Err(format!(
                "the variable name `{key}` contains whitespace; expected KEY=VALUE or KEY"
            ));
        }
        Ok(EnvArg {
            key: key.to_owned(),
            value,
        })
    }
}

/// The variables the flags give: the env file's, then `--env`'s, in order.
pub fn from_flags(
    env_file: Option<&Path>,
    env_args: &[EnvArg],
) -> anyhow::Result<Vec<(String, String)>> {
    let mut env = match env_file {
        Some(file) => crate::run::env_file::read(file)?,
        None => Vec::new(),
    };
    for arg in env_args {
        let value = match &arg.value {
            Some(value) => value.clone(),
            None => std::env::var(&arg.key).map_err(|_| {
                hint(
                    format!(
                        "`--env {}` copies the host's {0}, which is not set",
                        arg.key
                    ),
                    format!("set {0} in your shell, or pass `--env {0}=VALUE`", arg.key),
                )
            })?,
        };
        env.push((arg.key.clone(), value));
    }
    Ok(env)
}

/// The variables through which `watch` hands the app's environment to its engine child
/// (`run --inherit-app-env`): `CARGO_WASOCK_APP_ENV_0=KEY=VALUE`, then `_1`, … in order.
/// A process's environment, unlike its command line (`/proc/<pid>/cmdline`, readable by
/// every user), is readable only by its owner (`/proc/<pid>/environ`, mode 0400), so values
/// such as secrets from `--env-file` are not shown to other users by `ps`.
pub const CHILD_APP_ENV_PREFIX: &str = "CARGO_WASOCK_APP_ENV_";

/// Set on `command` the app's environment as [`CHILD_APP_ENV_PREFIX`] variables, after
/// removing any such variables it would inherit from ours.
pub fn pass_to_child(command: &mut std::process::Command, env: &[(String, String)]) {
    for (key, _) in std::env::vars_os() {
        if key
            .to_str()
            .is_some_and(|key| key.starts_with(CHILD_APP_ENV_PREFIX))
        {
            command.env_remove(key);
        }
    }
    for (index, (key, value)) in env.iter().enumerate() {
        command.env(
            format!("{CHILD_APP_ENV_PREFIX}{index}"),
            format!("{key}={value}"),
        );
    }
}

/// The app's environment as [`pass_to_child`] handed it to this process, as `--env`
/// arguments (read from `_0` up to the first missing number).
///
/// Errors: a variable that is not UTF-8 or has no `=`, which only a caller other than
/// `watch` can produce.
pub fn from_parent() -> anyhow::Result<Vec<EnvArg>> {
    let mut env = Vec::new();
    for index in 0.. {
        let name = format!("{CHILD_APP_ENV_PREFIX}{index}");
        let Some(entry) = std::env::var_os(&name) else {
            break;
        };
        let parsed = entry
            .to_str()
            .and_then(|entry| entry.parse::<EnvArg>().ok())
            .filter(|arg| arg.value.is_some());
        let Some(arg) = parsed else {
            return Err(hint(
                format!("{name} is not KEY=VALUE in UTF-8"),
                "`--inherit-app-env` is for `cargo wasock watch`'s own child; pass variables with `--env KEY=VALUE` instead",
            ));
        };
        env.push(arg);
    }
    Ok(env)
}

/// Package defaults, then the flags' variables, then `--port`; a later key replaces an
/// earlier one in place, so the order of first mention is kept.
pub fn assemble(
    defaults: &WasockDefaults,
    flag_env: Vec<(String, String)>,
    port: Option<u16>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set =
        |key: String, value: String| match env.iter_mut().find(|(existing, _)| *existing == key) {
            Some(slot) => slot.1 = value,
            None => env.push((key, value)),
        };
    for (key, value) in &defaults.env {
        set(key.clone(), value.clone());
    }
    if let Some(port) = defaults.port {
        set("PORT".to_owned(), port.to_string());
    }
    for (key, value) in flag_env {
        set(key, value);
    }
    if let Some(port) = port {
        set("PORT".to_owned(), port.to_string());
    }
    env
}

/// Where `PORT` came from when `--port` did not set it: `-v` says it is passed through.
pub fn note_unclaimed_port(env: &[(String, String)], claimed: Option<u16>, printer: &Printer) {
    if claimed.is_some() {
        return;
    }
    if let Some((_, value)) = env.iter().find(|(key, _)| key == "PORT") {
        printer.verbose(format!(
            "PORT={value} is passed to the app as given; only `--port N` is checked free and watched for"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_flags_set_or_copy() {
        let set: EnvArg = "A=b=c".parse().unwrap();
        assert_eq!((set.key.as_str(), set.value.as_deref()), ("A", Some("b=c")));
        let copy: EnvArg = "HOME".parse().unwrap();
        assert_eq!((copy.key.as_str(), copy.value), ("HOME", None));
        let empty: EnvArg = "A=".parse().unwrap();
        assert_eq!(empty.value.as_deref(), Some(""));
        assert!("=x".parse::<EnvArg>().is_err());
        assert!("".parse::<EnvArg>().is_err());
        assert!("A B=1".parse::<EnvArg>().is_err());
    }

    #[test]
    fn later_sources_replace_values_in_place() {
        let defaults = WasockDefaults {
            port: Some(1234),
            env: vec![
                ("LOG".into(), "info".into()),
                ("NAME".into(), "meta".into()),
            ],
            dirs: Vec::new(),
            ..WasockDefaults::default()
        };
        let flags = vec![
            ("NAME".into(), "flag".into()),
            ("EXTRA".into(), "1".into()),
            ("PORT".into(), "9".into()),
        ];
        let env = assemble(&defaults, flags, Some(8080));
        let expected: Vec<(String, String)> = [
            ("LOG", "info"),
            ("NAME", "flag"),
            ("PORT", "8080"),
            ("EXTRA", "1"),
        ]
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
        assert_eq!(env, expected);
    }
}
