//! Helpers of the registry import tests: the CLI against a gateway, its servers, and
//! `server.json` entries.

use serde_json::Value;

use super::{Gateway, TOKEN};

/// Runs `mcpgw ARGS --url GW --token TOKEN`.
pub async fn cli(gw: &Gateway, args: &[&str]) -> (bool, String, String) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--url", &gw.url, "--token", TOKEN]);
    super::run_cli(None, &all, &[]).await
}

/// The local servers, by path.
pub async fn servers(gw: &Gateway) -> Vec<Value> {
    gw.api("GET", "/api/servers", None).await.body["servers"]
        .as_array()
        .unwrap()
        .clone()
}

/// A server.json with `fields` merged into the required ones.
pub fn entry(name: &str, fields: Value) -> Value {
    let mut server =
        serde_json::json!({"name": name, "description": "imported in a test", "version": "1.2.3"});
    for (key, value) in fields.as_object().unwrap() {
        server[key] = value.clone();
    }
    server
}
