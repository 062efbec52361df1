//! A published version as the registry API shows it: a `server.json` (schema 2025-12-11)
//! inside a `ServerResponse`, with the official registry's status metadata and the
//! gateway's own view of the server in `_meta`.
//!
//! Readers reach every server through the gateway, so `remotes` are the gateway's URLs
//! for it (`/{path}/mcp` and the legacy `/{path}/sse`), never the upstream's; a stdio
//! server started by a package launcher also lists its package, for clients that would
//! rather run it themselves.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::catalog::Listed;

/// The server.json schema the documents follow.
pub const SERVER_SCHEMA: &str =
    "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";
/// The `_meta` key of the official registry's status metadata.
pub const OFFICIAL_META: &str = "io.modelcontextprotocol.registry/official";
/// The `_meta` key of the gateway's view of a server.
pub const GATEWAY_META: &str = "io.mcpgw/gateway";
/// The longest `description` and `title` server.json allows.
const MAX_SHORT_TEXT: usize = 100;

/// A time as the registry API writes it (RFC 3339, milliseconds, `Z`).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `entry` as a `ServerResponse`, with remotes under `base` (the gateway's public URL).
pub fn server_response(entry: &Listed, base: &str) -> Value {
    json!({
        "server": server_json(entry, base),
        "_meta": {
            OFFICIAL_META: official_meta(entry),
            GATEWAY_META: gateway_view(entry, base),
        }
    })
}

/// The `server.json` of `entry`.
fn server_json(entry: &Listed, base: &str) -> Value {
    let metadata = &entry.version.metadata;
    let text = |key: &str| {
        metadata
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
    };
    let path = &entry.version.path;
    let title = text("title");
    // server.json requires a description of 1–100 characters; the full text is in the
    // gateway's `_meta`.
    let description = text("description").or(title).unwrap_or(path);
    let mut server = Map::new();
    server.insert("$schema".into(), json!(SERVER_SCHEMA));
    server.insert("name".into(), json!(entry.name));
    if let Some(title) = title {
        server.insert("title".into(), json!(shorten(title)));
    }
    server.insert("description".into(), json!(shorten(description)));
    server.insert("version".into(), json!(entry.version.version));
    server.insert(
        "remotes".into(),
        json!([
            { "type": "streamable-http", "url": format!("{base}/{path}/mcp"), "headers": [credential()] },
            { "type": "sse", "url": format!("{base}/{path}/sse"), "headers": [credential()] },
        ]),
    );
    if let Some(package) = metadata
        .get("package")
        .filter(|package| package.is_object())
    {
        server.insert("packages".into(), json!([package]));
    }
    if let Some(origin) = &entry.imported_from {
        copy_links(&origin.document, &mut server);
    }
    Value::Object(server)
}

/// The links of the document an imported server came from (`repository`, `websiteUrl`),
/// kept when they are what server.json says they are: an http(s) URL (and, for the
/// repository, its hosting service).
fn copy_links(document: &Value, server: &mut Map<String, Value>) {
    let web = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .and_then(|text| url::Url::parse(text).ok())
            .is_some_and(|url| matches!(url.scheme(), "http" | "https"))
    };
    if let Some(repository) = document.get("repository")
        && web(repository.get("url"))
        && repository.get("source").is_some_and(Value::is_string)
    {
        let mut kept = Map::new();
        for key in ["url", "source", "id", "subfolder"] {
            if let Some(value) = repository.get(key).filter(|value| value.is_string()) {
                kept.insert(key.into(), value.clone());
            }
        }
        server.insert("repository".into(), Value::Object(kept));
    }
    if web(document.get("websiteUrl")) {
        server.insert("websiteUrl".into(), document["websiteUrl"].clone());
    }
}

/// The credential the gateway asks every client for, declared so that a client (or
/// another mcpgw importing this entry) knows to supply one.
fn credential() -> Value {
    json!({
        "name": "Authorization",
        "description": "Bearer token for the gateway (a gateway token or a JWT of a trusted issuer)",
        "isRequired": true,
        "isSecret": true,
    })
}

/// The official registry's status metadata of `entry`.
fn official_meta(entry: &Listed) -> Value {
    let version = &entry.version;
    let mut meta = json!({
        "status": version.status.as_str(),
        "statusChangedAt": timestamp(version.status_changed_at),
        "publishedAt": timestamp(version.published_at),
        "updatedAt": timestamp(version.updated_at),
        "isLatest": entry.latest,
    });
    if let (Some(message), Value::Object(object)) = (&version.status_message, &mut meta) {
        object.insert("statusMessage".into(), json!(message));
    }
    meta
}

/// The gateway's view: what the version published in full (description, tags, licence,
/// how the gateway reaches it) and, while the server is registered, how it is now
/// (enabled, health and its reason, last check, number of tools the caller may call).
fn gateway_view(entry: &Listed, base: &str) -> Value {
    let metadata = &entry.version.metadata;
    let path = &entry.version.path;
    let mut view = Map::new();
    view.insert("path".into(), json!(path));
    for key in ["description", "transport", "license"] {
        if let Some(value) = metadata.get(key).filter(|value| !value.is_null()) {
            view.insert(key.into(), value.clone());
        }
    }
    view.insert(
        "tags".into(),
        metadata.get("tags").cloned().unwrap_or_else(|| json!([])),
    );
    view.insert("registered".into(), json!(entry.live.is_some()));
    if let Some(origin) = &entry.imported_from {
        view.insert(
            "importedFrom".into(),
            json!({ "source": origin.source, "name": origin.name, "version": origin.version }),
        );
    }
    if let Some(server) = &entry.live {
        view.insert("enabled".into(), json!(server.enabled));
        view.insert("tags".into(), json!(server.tags));
        view.insert("health".into(), json!(server.health.status.as_str()));
        if let Some(reason) = &server.health.reason {
            view.insert("healthReason".into(), json!(reason));
        }
        if let Some(at) = server.health.last_checked {
            view.insert("lastChecked".into(), json!(timestamp(at)));
        }
        view.insert("numTools".into(), json!(server.tools.len()));
        view.insert(
            "endpoints".into(),
            json!({ "mcp": format!("{base}/{path}/mcp"), "sse": format!("{base}/{path}/sse") }),
        );
    }
    Value::Object(view)
}

/// `text` cut to server.json's 100 characters, with an ellipsis when cut.
fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_SHORT_TEXT {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(MAX_SHORT_TEXT - 1).collect();
    short.truncate(short.trim_end().len());
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn long_texts_are_cut_to_a_hundred_characters() {
        assert_eq!(shorten("short"), "short");
        let long = "é".repeat(150);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), 100);
        assert!(short.ends_with('…'));
        assert_eq!(shorten(&"a".repeat(100)), "a".repeat(100));
    }
}
