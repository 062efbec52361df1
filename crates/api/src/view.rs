//! How servers are shown over the API: secrets redacted, counts added.

use std::collections::BTreeMap;

use mcpgw_registry::{REDACTED, Server};
use serde_json::{Value, json};

/// A server as JSON, with header and environment values and the egress client secret
/// replaced by [`REDACTED`] (they often hold API keys) and `num_tools` added.
pub fn server_json(server: &Server) -> Value {
    let mut value = serde_json::to_value(server).unwrap_or(Value::Null);
    if let Value::Object(object) = &mut value {
        object.insert("headers".into(), redacted(&server.headers));
        object.insert("env".into(), redacted(&server.env));
        object.insert("url".into(), json!(server.url.as_deref().map(redacted_url)));
        object.insert("egress".into(), json!(server.egress.redacted()));
        object.insert("num_tools".into(), json!(server.tools.len()));
        if let Some(health) = object.get_mut("health").and_then(Value::as_object_mut) {
            health.insert("summary".into(), json!(server.health.summary()));
        }
    }
    value
}

/// A URL with its password (if any) replaced by [`REDACTED`].
pub fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(REDACTED));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

fn redacted(map: &BTreeMap<String, String>) -> Value {
    map.keys()
        .map(|key| (key.clone(), Value::String(REDACTED.to_owned())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The tools of a server.
pub fn tools_json(server: &Server) -> Value {
    json!({
        "path": server.path,
        "num_tools": server.tools.len(),
        "tools_updated_at": server.tools_updated_at,
        "tools": server.tools,
    })
}

/// A server in mcpgw's shape plus the keys scripts written for the Python registry read
/// (`server_name`, `proxy_pass_url`, `tool_list`, `num_stars`, `is_python`).
pub fn python_server_json(server: &Server) -> Value {
    let mut value = server_json(server);
    if let Value::Object(object) = &mut value {
        let url = object.get("url").cloned().unwrap_or(Value::Null);
        object.insert("server_name".into(), json!(server.name));
        object.insert("proxy_pass_url".into(), url);
        object.insert("tool_list".into(), json!(server.tools));
        object.insert("num_stars".into(), json!(0));
        object.insert("is_python".into(), json!(false));
    }
    value
}
