//! The app's sandbox from `run`'s flags and `[package.metadata.wasock]` (issue 21): where it
//! may connect and listen (`--allow-connect`, `--allow-listen`, `allow-connect = [...]`,
//! `allow-listen = [...]`), how much memory it may have (`--memory-limit`, `memory-limit`)
//! and how many sockets it may hold (`--max-sockets`); which runtime can honour them; and
//! what `run` says when the app reaches past them.
//!
//! Entries are checked with the engine's own parser (`wasock_engine::Rule`), so what is
//! refused here is exactly what the engine could not enforce. The flags' entries are added
//! to the metadata's. WasmEdge enforces none of the policy and has no socket cap, so a
//! policy or `--max-sockets` chooses the engine under `--runtime auto` and refuses
//! `--runtime wasmedge`: an app never runs on a runtime that silently ignores its stated
//! policy. The memory limit works on both (WasmEdge's `--memory-page-limit`).

use serde::Serialize;

use crate::project::metadata::{WasockDefaults, WASM_PAGE};
use crate::run::runtime::{self, Chosen, Runtime};
use crate::ui::errors::{hint, usage_error};
use crate::ui::printer::{human_size, Printer};

/// The sandbox as `run` gives it to a runtime: already merged and checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxSettings {
    /// `allow-connect` entries (metadata's, then the flags'); `None`: no list.
    pub allow_connect: Option<Vec<String>>,
    /// `allow-listen` entries; `None`: no list.
    pub allow_listen: Option<Vec<String>>,
    /// Bytes of linear memory the app may have.
    pub memory_limit: Option<u64>,
    /// Sockets the app may have open at once (the engine only).
    pub max_sockets: Option<usize>,
}

/// `--max-sockets`: at least 1.
pub fn parse_max_sockets(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(count) if count >= 1 => Ok(count),
        _ => Err(format!("`{text}` is not a number of sockets (1 or more)")),
    }
}

/// Check each entry of `entries` (from `origin`: `--allow-connect`, or the manifest's
/// key), naming the first malformed one. A refused flag exits 2; a refused metadata entry 1.
pub fn check_entries(entries: &[String], origin: &str, flag: bool) -> anyhow::Result<()> {
    for entry in entries {
        if let Err(reason) = check_entry(entry) {
            let message = format!("{origin} {reason}");
            let help = "write HOST[:PORT]: a host name, an IP address or a CIDR block, and a port or `*` (`api.example.com:443`, `10.0.0.0/8:5432`, `[::1]:8080`, `127.0.0.1:*`)";
            return Err(if flag {
                usage_error(message, help)
            } else {
                hint(message, help)
            });
        }
    }
    Ok(())
}

fn check_entry(entry: &str) -> Result<(), String> {
    parse_entry(entry).map(|_| ())
}

/// Every entry of `entries` parsed, or the first malformed one named (after `origin`).
pub fn parse_entries(entries: &[String], origin: &str) -> anyhow::Result<Vec<Entry>> {
    check_entries(entries, origin, false)?;
    Ok(entries
        .iter()
        .filter_map(|entry| parse_entry(entry).ok())
        .collect())
}

/// An entry's host, for what ships it (`deploy --k8s`'s NetworkPolicy).
#[cfg_attr(not(feature = "embedded"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryHost {
    /// A host name, which the engine matches against the app's lookups.
    Name(String),
    /// An IP address or a CIDR block, as a CIDR (`10.0.0.0/8`, `127.0.0.1/32`).
    Block(String),
}

/// One checked entry: its host, its port (`None`: any) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it covers.
    pub host: EntryHost,
    /// Its port; `None` for any.
    pub port: Option<u16>,
    /// The entry as written.
    pub text: String,
}

/// `entry` read by the engine's parser (so shipping and running agree on every entry);
/// the error names it. Without the engine nothing can enforce a policy, so every entry is
/// refused.
#[cfg(feature = "embedded")]
pub fn parse_entry(entry: &str) -> Result<Entry, String> {
    let rule = entry
        .parse::<wasock_engine::Rule>()
        .map_err(|error| error.to_string())?;
    Ok(Entry {
        host: match rule.host {
            wasock_engine::Host::Name(name) => EntryHost::Name(name),
            wasock_engine::Host::Net(net) => EntryHost::Block(net.to_string()),
        },
        port: rule.port,
        text: rule.text,
    })
}

#[cfg(not(feature = "embedded"))]
pub fn parse_entry(entry: &str) -> Result<Entry, String> {
    Err(format!(
        "`{entry}` cannot be enforced: this cargo-wasock was built without the embedded engine"
    ))
}

impl SandboxSettings {
    /// The flags' settings alone (checked), before the package's metadata is known.
    pub fn from_flags(
        allow_connect: &[String],
        allow_listen: &[String],
        memory_limit: Option<u64>,
        max_sockets: Option<usize>,
    ) -> anyhow::Result<SandboxSettings> {
        check_entries(allow_connect, "--allow-connect:", true)?;
        check_entries(allow_listen, "--allow-listen:", true)?;
        let list = |entries: &[String]| (!entries.is_empty()).then(|| entries.to_vec());
        Ok(SandboxSettings {
            allow_connect: list(allow_connect),
            allow_listen: list(allow_listen),
            memory_limit,
            max_sockets,
        })
    }

    /// The package's metadata under these flags: the lists add up, a flag's limit wins.
    pub fn with_defaults(&self, defaults: &WasockDefaults) -> SandboxSettings {
        let join =
            |metadata: &Option<Vec<String>>, flags: &Option<Vec<String>>| match (metadata, flags) {
                (None, None) => None,
                (metadata, flags) => Some(
                    metadata
                        .iter()
                        .chain(flags.iter())
                        .flatten()
                        .cloned()
                        .collect(),
                ),
            };
        SandboxSettings {
            allow_connect: join(&defaults.allow_connect, &self.allow_connect),
            allow_listen: join(&defaults.allow_listen, &self.allow_listen),
            memory_limit: self.memory_limit.or(defaults.memory_limit),
            max_sockets: self.max_sockets,
        }
    }

    /// Whether a list is set.
    pub fn has_policy(&self) -> bool {
        self.allow_connect.is_some() || self.allow_listen.is_some()
    }

    /// What only the engine can honour, named for messages: `allow-connect`,
    /// `allow-listen`, `--max-sockets`.
    fn engine_only(&self) -> Vec<&'static str> {
        let mut needs = Vec::new();
        if self.allow_connect.is_some() {
            needs.push("allow-connect");
        }
        if self.allow_listen.is_some() {
            needs.push("allow-listen");
        }
        if self.max_sockets.is_some() {
            needs.push("--max-sockets");
        }
        needs
    }

    /// WasmEdge's `--memory-page-limit` for the memory limit: whole 64 KiB pages.
    pub fn wasmedge_page_limit(&self) -> Option<u64> {
        self.memory_limit.map(|bytes| bytes / WASM_PAGE)
    }

    /// The engine's sandbox. The entries were checked when the settings were made.
    #[cfg(feature = "embedded")]
    pub fn for_engine(&self) -> wasock_engine::Sandbox {
        let rules = |list: &Option<Vec<String>>| {
            list.as_ref().map(|entries| {
                entries
                    .iter()
                    .filter_map(|entry| entry.parse::<wasock_engine::Rule>().ok())
                    .collect()
            })
        };
        wasock_engine::Sandbox {
            policy: wasock_engine::Policy {
                connect: rules(&self.allow_connect),
                listen: rules(&self.allow_listen),
            },
            memory_limit: self.memory_limit,
            max_sockets: self.max_sockets,
        }
    }

    /// The runtime for these settings: `chosen` when it can honour them; the engine
    /// instead of a WasmEdge that `--runtime auto` found (said under `-v`); refused when
    /// the user asked for WasmEdge. `origin` says where the settings came from.
    pub fn runtime(
        &self,
        chosen: Chosen,
        requested: Runtime,
        origin: &str,
        printer: &Printer,
    ) -> anyhow::Result<Chosen> {
        let needs = self.engine_only();
        if needs.is_empty() || matches!(chosen, Chosen::Embedded(_)) {
            return Ok(chosen);
        }
        let named = needs.join(" and ");
        if requested == Runtime::Wasmedge {
            return Err(usage_error(
                format!("`--runtime wasmedge` cannot enforce {named} ({origin}): WasmEdge lets an app connect, listen and open sockets anywhere"),
                "drop `--runtime wasmedge` (the embedded engine enforces them), or drop the policy",
            ));
        }
        printer.verbose(format!(
            "the app runs on the embedded engine: {named} ({origin}) is enforced by the engine only, and WasmEdge would ignore it"
        ));
        Ok(match runtime::choose(Runtime::Embedded)? {
            Chosen::Embedded(_) => Chosen::Embedded(POLICY_WHY),
            other => other,
        })
    }
}

/// Why the engine runs an app with a policy.
pub const POLICY_WHY: &str = "its sandbox policy needs the engine";

/// `--message-format json`'s `blocked`: a destination the policy refused (once each).
#[cfg_attr(not(feature = "embedded"), allow(dead_code))]
#[derive(Serialize)]
pub struct BlockedMessage {
    /// `connect` or `listen`.
    pub direction: &'static str,
    /// The name the app looked up, else the IP.
    pub host: String,
    /// The port it asked for (0: a bind to any port).
    pub port: u16,
    /// `host:port`, the entry that would allow it.
    pub destination: String,
    /// `allow-connect` or `allow-listen`.
    pub list: &'static str,
}

/// Say that the app was refused `destination`: the `blocked:` line and its `help:`, once
/// (the engine reports each destination once), and the JSON message.
#[cfg_attr(not(feature = "embedded"), allow(dead_code))]
pub fn report_blocked(message: BlockedMessage, printer: &Printer) {
    let verb = match message.direction {
        "listen" => "listen on",
        _ => "connect to",
    };
    printer.blocked(format!(
        "the app tried to {verb} {}, which {} does not list",
        message.destination, message.list
    ));
    printer.help(format!(
        "add \"{destination}\" to [package.metadata.wasock] {list}, or pass --{list} {destination}",
        destination = message.destination,
        list = message.list
    ));
    printer.message("blocked", &message);
}

/// The line `run` adds when the app reached its memory limit.
pub fn memory_limit_line(limit: u64) -> String {
    format!(
        "the app reached its memory limit of {} (--memory-limit)",
        human_limit(limit)
    )
}

/// `64 MiB`, `1 GiB`, `512 KiB`: the limit as the user wrote it when it is whole.
pub fn human_limit(bytes: u64) -> String {
    for (unit, scale) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= scale && bytes % scale == 0 {
            return format!("{} {unit}", bytes / scale);
        }
    }
    human_size(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_written() {
        assert_eq!(human_limit(64 << 20), "64 MiB");
        assert_eq!(human_limit(1 << 30), "1 GiB");
    }

    #[test]
    fn flags_add_to_the_metadata_lists() {
        let flags =
            SandboxSettings::from_flags(&["127.0.0.1:8080".into()], &[], None, None).unwrap();
        let defaults = WasockDefaults {
            allow_connect: Some(vec!["db.internal:5432".into()]),
            memory_limit: Some(1 << 20),
            ..WasockDefaults::default()
        };
        let merged = flags.with_defaults(&defaults);
        assert_eq!(
            merged.allow_connect,
            Some(vec!["db.internal:5432".into(), "127.0.0.1:8080".into()])
        );
        assert_eq!(merged.allow_listen, None);
        assert_eq!(merged.memory_limit, Some(1 << 20));
        assert_eq!(merged.wasmedge_page_limit(), Some(16));
    }
}
