//! What a server publishes, and the version a change to it gets.
//!
//! A server's published metadata is what a registry reader learns of it that the server's
//! owner chose: its title, description, version, tags, licence, transport and, for a stdio
//! server started by a known package launcher, the package. Health, tools and the
//! upstream's address are not in it: health and tools change on their own (they are the
//! gateway's live view, added when a version is read), and readers reach every server
//! through the gateway's URLs, never the upstream's. Environment, headers and command
//! arguments are never published: they carry secrets.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::model::ServerVersion;
use crate::model::Server;

/// The metadata `server` publishes (see the module's documentation for what is left out).
pub fn published_metadata(server: &Server) -> Value {
    let mut metadata = json!({
        "title": server.name,
        "description": server.description,
        "transport": server.transport.as_str(),
        "tags": server.tags,
    });
    let fields = [
        ("version", server.version.as_ref()),
        ("license", server.license.as_ref()),
    ];
    if let Value::Object(object) = &mut metadata {
        for (key, value) in fields {
            if let Some(value) = value {
                object.insert(key.to_owned(), Value::String(value.clone()));
            }
        }
        if let Some(package) = package_of(server) {
            object.insert("package".to_owned(), package);
        }
    }
    metadata
}

/// SHA-256 (hex) of `metadata` in a canonical form (keys sorted at every level), so that
/// the same metadata always has the same digest whatever order its keys were built in.
pub fn digest(metadata: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(metadata, &mut canonical);
    let hash = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in hash {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Writes `value` as JSON with every object's keys sorted (see [`digest`]).
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(inner) = object.get(key) {
                    write_canonical(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The version string and `seq` of the next publication of a server that has published
/// `existing` (ordered by `seq`), whose owner states `stated` as its version.
///
/// The owner's version is used when it is free. A change published without a new stated
/// version gets the stated one with the publication number as build metadata (`1.2.0+3`:
/// the same release, described differently), and a server that states none gets
/// `0.0.{seq}`. Versions are never reused, so every published snapshot stays addressable.
pub fn next_version(existing: &[ServerVersion], stated: Option<&str>) -> (String, i64) {
    let seq = existing
        .iter()
        .map(|version| version.seq)
        .max()
        .unwrap_or(0)
        + 1;
    let taken = |candidate: &str| existing.iter().any(|version| version.version == candidate);
    let base = match stated
        .map(str::trim)
        .filter(|stated| is_publishable(stated))
    {
        Some(stated) if !taken(stated) => return (stated.to_owned(), seq),
        Some(stated) => format!("{stated}+{seq}"),
        None => format!("0.0.{seq}"),
    };
    let mut candidate = base.clone();
    let mut attempt = 1;
    while taken(&candidate) {
        candidate = format!("{base}.{attempt}");
        attempt += 1;
    }
    (candidate, seq)
}

/// True when a stated version can be published as it is: not empty, not `latest`, not a
/// range (`^1.2`, `1.x`), no spaces, within server.json's 255 characters. Registries refuse
/// the others, so publishing one would break every aggregator that reads us.
fn is_publishable(version: &str) -> bool {
    !version.is_empty()
        && version != "latest"
        && version.len() <= 255
        && !version.contains(char::is_whitespace)
        && !crate::import::looks_like_range(version)
}

/// The package a stdio server's command runs, when it is a known launcher: `npx` (npm),
/// `uvx` (PyPI), `docker`/`podman run` (OCI), `dnx` (NuGet). Only the package's identity
/// is taken from the arguments, never the others (they may hold secrets).
fn package_of(server: &Server) -> Option<Value> {
    let command = server.command.as_deref()?;
    let launcher = command.rsplit(['/', '\\']).next().unwrap_or(command);
    let (identifier, version) = match launcher {
        "npx" => split_at_version(first_operand(&server.args, NPX_VALUE_FLAGS)?, "@", 1),
        "uvx" => split_at_version(first_operand(&server.args, UVX_VALUE_FLAGS)?, "==", 0),
        "dnx" => split_at_version(first_operand(&server.args, DNX_VALUE_FLAGS)?, "@", 1),
        "docker" | "podman" => {
            let run = server.args.iter().position(|arg| arg == "run")?;
            let image = first_operand(&server.args[run + 1..], DOCKER_VALUE_FLAGS)?;
            (image.to_owned(), None)
        }
        _ => return None,
    };
    // Whatever was taken for the package must look like one: never a URL, an assignment or
    // anything carrying credentials (a flag's value the lists above do not know).
    let plain = |text: &str| {
        !text.is_empty()
            && !text.contains("://")
            && !text.contains('=')
            && !text.starts_with('-')
            && !text.chars().any(char::is_whitespace)
    };
    if !plain(&identifier) || !version.as_deref().is_none_or(plain) {
        return None;
    }
    let mut package = Map::new();
    package.insert("registryType".into(), json!(registry_type(launcher)));
    package.insert("identifier".into(), json!(identifier));
    if let Some(version) = version {
        package.insert("version".into(), json!(version));
    }
    package.insert("runtimeHint".into(), json!(launcher));
    package.insert("transport".into(), json!({ "type": "stdio" }));
    Some(Value::Object(package))
}

/// Flags of `npx` that take a value (skipped with it when looking for the package).
const NPX_VALUE_FLAGS: &[&str] = &[
    "--registry",
    "--userconfig",
    "--cache",
    "-p",
    "--package",
    "-c",
    "--call",
    "--prefix",
];
/// Flags of `uvx` that take a value.
const UVX_VALUE_FLAGS: &[&str] = &[
    "--from",
    "--with",
    "--python",
    "-p",
    "--index-url",
    "--extra-index-url",
    "--index",
    "--default-index",
    "-f",
    "--find-links",
    "-i",
];
/// Flags of `dnx` that take a value.
const DNX_VALUE_FLAGS: &[&str] = &["--source", "--configfile", "--version"];
/// Flags of `docker run` that take a value.
const DOCKER_VALUE_FLAGS: &[&str] = &[
    "-e",
    "--env",
    "-v",
    "--volume",
    "--name",
    "-p",
    "--publish",
    "--network",
    "--entrypoint",
    "-w",
    "--workdir",
    "-u",
    "--user",
    "--env-file",
    "--mount",
    "--platform",
    "-l",
    "--label",
    "--log-opt",
    "--add-host",
    "--hostname",
    "-h",
];

/// The first argument that is neither a flag nor a flag's value.
fn first_operand<'a>(args: &'a [String], value_flags: &[&str]) -> Option<&'a str> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if value_flags.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            return Some(arg);
        }
    }
    None
}

/// Splits `name{separator}version` at the last separator at or after `from` (so that
/// npm's `@scope/name` keeps its leading `@`).
fn split_at_version(operand: &str, separator: &str, from: usize) -> (String, Option<String>) {
    match operand.get(from..).and_then(|rest| rest.rfind(separator)) {
        Some(at) => {
            let at = at + from;
            let version = &operand[at + separator.len()..];
            let version = (!version.is_empty() && version != "latest").then(|| version.to_owned());
            (operand[..at].to_owned(), version)
        }
        None => (operand.to_owned(), None),
    }
}

/// The registry a launcher's packages come from.
fn registry_type(launcher: &str) -> &'static str {
    match launcher {
        "npx" => "npm",
        "uvx" => "pypi",
        "dnx" => "nuget",
        _ => "oci",
    }
}

#[cfg(test)]
#[path = "publish_tests.rs"]
mod tests;
