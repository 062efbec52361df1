//! How servers are shown over the API: secrets redacted, counts added.

use std::collections::BTreeMap;

use mcpgw_registry::{REDACTED, Server};
use serde_json::{Value, json};

/// A server as JSON, with header and environment values replaced by [`REDACTED`] (they
/// often hold API keys) and `num_tools` added.
pub fn server_json(server: &Server) -> Value {
    let mut value = serde_json::to_value(server).unwrap_or(Value::Null);
    if let Value::Object(object) = &mut value {
        object.insert("headers".into(), redacted(&server.headers));
        object.insert("env".into(), redacted(&server.env));
        object.insert("num_tools".into(), json!(server.tools.len()));
    }
    value
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
