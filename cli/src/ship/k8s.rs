//! Kubernetes manifests for an app image: a RuntimeClass, a Deployment and a Service, as
//! YAML files; with an `allow-connect` list, a NetworkPolicy too.
//!
//! The sandbox goes as far as Kubernetes can express it: the memory limit becomes the
//! container's `resources.limits.memory` (plus [`RUNTIME_HEADROOM`] for the runtime
//! itself), and `allow-connect`'s IP and CIDR entries the NetworkPolicy's egress rules,
//! each with its port on TCP and UDP (the engine judges both), beside DNS (port 53), which
//! the app needs to look names up. A NetworkPolicy cannot name hosts: host-name entries
//! are left out, each named in a note (in the file and on stderr). `allow-listen` has no
//! counterpart (a pod's listening addresses are its own).
//!
//! A Wasm image runs on a node whose containerd has a Wasm-capable runtime (runwasi's
//! `containerd-shim-wasmedge`, registered as handler `wasmedge`, or crun built with
//! WasmEdge, handler `crun`); the RuntimeClass names that handler and the Deployment's pods
//! ask for it with `runtimeClassName`. Field meanings follow the Kubernetes API reference
//! (apps/v1 Deployment, v1 Service, node.k8s.io/v1 RuntimeClass).
//!
//! YAML is written by [`to_yaml`] from a `serde_json::Value`: block style, every string
//! value double-quoted with JSON escapes (valid YAML), so no value can be misread as a
//! number, boolean or null.

use serde_json::{json, Value};

use crate::run::sandbox::{Entry, EntryHost};
use crate::ship::oci::VARIANT_ANNOTATION;

/// What the manifests describe.
#[derive(Debug, Clone)]
pub struct AppDeployment {
    /// The resource name (a DNS-1123 label, see [`resource_name`]).
    pub name: String,
    /// The image reference pods pull.
    pub image: String,
    /// The port the app listens on (set as `PORT`, probed, and served by the Service).
    pub port: u16,
    /// The app's environment, in order (PORT last, replacing an earlier one).
    pub env: Vec<(String, String)>,
    pub replicas: u32,
    /// The RuntimeClass name, which is also its handler (containerd's runtime name).
    pub runtime_class: String,
    /// The app's memory limit in bytes (`memory-limit`), when it states one.
    pub memory_limit: Option<u64>,
    /// Its `allow-connect` list, checked; `None` when it has none (no NetworkPolicy).
    pub allow_connect: Option<Vec<Entry>>,
}

/// What the container may use beyond the app's own linear memory: the runtime's heap, its
/// compiled code and the kernel's socket buffers, so the pod's limit (an OOM kill) comes
/// after the app's own (a failed `memory.grow`), not before.
pub const RUNTIME_HEADROOM: u64 = 64 << 20;

/// Resource requests: a socket app on WasmEdge idles in a few MiB; these reserve room for
/// load without claiming a node. Users tune them in the written file.
const CPU_REQUEST: &str = "50m";
const MEMORY_REQUEST: &str = "32Mi";
const MEMORY_LIMIT: &str = "256Mi";

/// `text` as a DNS-1123 label (RFC 1123: lowercase alphanumerics and `-`, at most 63,
/// starting and ending alphanumeric), as Kubernetes requires of these names.
pub fn resource_name(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect();
    let trimmed: String = mapped.trim_matches('-').chars().take(63).collect();
    let trimmed = trimmed.trim_end_matches('-');
    if trimmed.is_empty() {
        "app".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The manifests, as `(file name, YAML)` in the order `kubectl apply -f DIR` wants them
/// read (the RuntimeClass before the pods that use it; the NetworkPolicy, when there is
/// an `allow-connect` list, before the pods it restricts).
pub fn manifests(app: &AppDeployment) -> Vec<(&'static str, String)> {
    let mut files = vec![("runtimeclass.yaml", to_yaml(&runtime_class(app)))];
    if let Some(policy) = network_policy(app) {
        let notes: String = network_policy_notes(app)
            .iter()
            .map(|note| format!("# note: {note}\n"))
            .collect();
        files.push(("networkpolicy.yaml", format!("{notes}{}", to_yaml(&policy))));
    }
    files.push(("deployment.yaml", to_yaml(&deployment(app))));
    files.push(("service.yaml", to_yaml(&service(app))));
    files
}

/// One note per host-name entry of `allow-connect`, which a NetworkPolicy cannot express.
pub fn network_policy_notes(app: &AppDeployment) -> Vec<String> {
    app.allow_connect
        .iter()
        .flatten()
        .filter(|entry| matches!(entry.host, EntryHost::Name(_)))
        .map(|entry| {
            format!(
                "allow-connect entry `{}` is a host name, which a NetworkPolicy cannot express: it is left out (list its IP addresses or CIDR blocks to allow it here)",
                entry.text
            )
        })
        .collect()
}

/// The NetworkPolicy for `allow-connect` (networking.k8s.io/v1): egress to each IP or CIDR
/// entry on its port (TCP and UDP; all ports for `*`), and DNS anywhere; nothing when the
/// app has no list.
pub fn network_policy(app: &AppDeployment) -> Option<Value> {
    let entries = app.allow_connect.as_ref()?;
    let mut egress: Vec<Value> = vec![json!({
        "ports": [
            { "protocol": "UDP", "port": 53 },
            { "protocol": "TCP", "port": 53 },
        ],
    })];
    for entry in entries {
        let EntryHost::Block(cidr) = &entry.host else {
            continue;
        };
        let mut rule = json!({ "to": [{ "ipBlock": { "cidr": cidr } }] });
        if let Some(port) = entry.port {
            rule["ports"] = json!([
                { "protocol": "TCP", "port": port },
                { "protocol": "UDP", "port": port },
            ]);
        }
        egress.push(rule);
    }
    Some(json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": { "name": app.name, "labels": labels(app) },
        "spec": {
            "podSelector": { "matchLabels": labels(app) },
            "policyTypes": ["Egress"],
            "egress": egress,
        },
    }))
}

/// A byte count as a Kubernetes quantity: `Gi`, `Mi` or `Ki` when whole, else bytes.
fn quantity(bytes: u64) -> String {
    for (suffix, scale) in [("Gi", 1u64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes % scale == 0 {
            return format!("{}{suffix}", bytes / scale);
        }
    }
    bytes.to_string()
}

fn labels(app: &AppDeployment) -> Value {
    json!({ "app.kubernetes.io/name": app.name })
}

pub fn runtime_class(app: &AppDeployment) -> Value {
    json!({
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": { "name": app.runtime_class },
        "handler": app.runtime_class,
    })
}

pub fn deployment(app: &AppDeployment) -> Value {
    let memory_limit = app.memory_limit.map_or_else(
        || MEMORY_LIMIT.to_owned(),
        |bytes| quantity(bytes + RUNTIME_HEADROOM),
    );
    // A request above the limit is invalid; a small limit lowers the request with it.
    let memory_request = match app.memory_limit {
        Some(bytes) if bytes + RUNTIME_HEADROOM < 32 << 20 => memory_limit.clone(),
        _ => MEMORY_REQUEST.to_owned(),
    };
    let env: Vec<Value> = app
        .env
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": app.name, "labels": labels(app) },
        "spec": {
            "replicas": app.replicas,
            "selector": { "matchLabels": labels(app) },
            "template": {
                "metadata": {
                    "labels": labels(app),
                    // crun reads it from the container's annotations to run the Wasm handler.
                    "annotations": { VARIANT_ANNOTATION.0: VARIANT_ANNOTATION.1 },
                },
                "spec": {
                    "runtimeClassName": app.runtime_class,
                    "containers": [{
                        "name": app.name,
                        "image": app.image,
                        "env": env,
                        "ports": [{ "name": "http", "containerPort": app.port, "protocol": "TCP" }],
                        "resources": {
                            "requests": { "cpu": CPU_REQUEST, "memory": memory_request },
                            "limits": { "memory": memory_limit },
                        },
                        "readinessProbe": {
                            "tcpSocket": { "port": "http" },
                            "initialDelaySeconds": 1,
                            "periodSeconds": 5,
                        },
                    }],
                },
            },
        },
    })
}

pub fn service(app: &AppDeployment) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": app.name, "labels": labels(app) },
        "spec": {
            "selector": labels(app),
            "ports": [{ "name": "http", "port": app.port, "targetPort": "http", "protocol": "TCP" }],
        },
    })
}

/// Block-style YAML for a JSON value; strings always quoted, keys bare when plainly safe.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write_block(value, 0, &mut out);
    out
}

fn key_text(key: &str) -> String {
    // YAML 1.1 (which Kubernetes' parser follows) reads these plain words as booleans/null.
    const RESERVED: &[&str] = &[
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    ];
    let plain = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && !RESERVED.contains(&key.to_ascii_lowercase().as_str());
    if plain {
        key.to_owned()
    } else {
        scalar(&Value::String(key.to_owned()))
    }
}

fn scalar(value: &Value) -> String {
    // JSON's scalars (and its string escapes) are valid YAML flow scalars.
    value.to_string()
}

fn is_empty_collection(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn write_block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                out.push_str(&pad);
                out.push_str(&key_text(key));
                out.push(':');
                write_after_key(item, indent, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                match item {
                    Value::Object(_) | Value::Array(_) if !is_empty_collection(item) => {
                        // The item's block, with its first line after the dash.
                        let mut inner = String::new();
                        write_block(item, indent + 2, &mut inner);
                        out.push(' ');
                        out.push_str(&inner[indent + 2..]);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&flow(item));
                        out.push('\n');
                    }
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn write_after_key(item: &Value, indent: usize, out: &mut String) {
    match item {
        Value::Object(_) if !is_empty_collection(item) => {
            out.push('\n');
            write_block(item, indent + 2, out);
        }
        Value::Array(_) if !is_empty_collection(item) => {
            out.push('\n');
            write_block(item, indent + 2, out);
        }
        _ => {
            out.push(' ');
            out.push_str(&flow(item));
            out.push('\n');
        }
    }
}

/// A scalar or an empty collection on one line.
fn flow(value: &Value) -> String {
    match value {
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
        other => scalar(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_dns_labels() {
        assert_eq!(resource_name("Hello_World"), "hello-world");
        assert_eq!(resource_name("--x--"), "x");
        assert_eq!(resource_name("___"), "app");
        assert_eq!(resource_name(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn yaml_quotes_every_string_and_nests_blocks() {
        let value = json!({
            "a": { "on": "yes", "n": 1, "list": [{ "k": "v", "m": [1, 2] }, "s"], "e": [] },
            "b": "line\nbreak \"q\"",
        });
        assert_eq!(
            to_yaml(&value),
            "a:\n  e: []\n  list:\n    - k: \"v\"\n      m:\n        - 1\n        - 2\n    - \"s\"\n  \"n\": 1\n  \"on\": \"yes\"\nb: \"line\\nbreak \\\"q\\\"\"\n"
        );
    }
}
