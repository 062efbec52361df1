//! Rules of the aggregated endpoint that protect callers from each other and from stale
//! servers: sessions belong to their opener, a server registered again under the same path
//! is reached at its new address by sessions opened before, and batches are refused.

mod common;

use common::access::start;
use common::agent::Agent;
use common::{Launch, TOKEN, upstreams};
use serde_json::json;

const POLICY: &str = r#"
group_mappings:
  analysts: [toolbox-read]
toolbox-read:
- server: toolbox
  methods: [tools/list, tools/call]
  tools: [echo]
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_server_registered_again_is_reached_at_its_new_address() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let first = upstreams::example("toolbox", false).await;
    gw.register_healthy(common::http_server("toolbox", &first.url))
        .await;
    let url = format!("{}/mcp", gw.url);
    let Some(mut agent) = Agent::connect("http", "stateful", &url, TOKEN).await else {
        return;
    };
    let answer = agent
        .call("toolbox__echo", json!({"message": "first"}))
        .await;
    assert_eq!(answer["text"], "first", "{answer}");
    // Removed and registered again elsewhere: same path, same (initial) revision.
    assert_eq!(
        gw.api("DELETE", "/api/servers/toolbox", None).await.status,
        204
    );
    let second = upstreams::example("toolbox", false).await;
    gw.register_healthy(common::http_server("toolbox", &second.url))
        .await;
    // The old address is gone: only a session to the new one can answer.
    drop(first);
    let answer = agent
        .call("toolbox__echo", json!({"message": "second"}))
        .await;
    assert_eq!(answer["text"], "second", "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_are_refused_as_invalid_requests() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "healthcheck"}}
    ]);
    let response = gw
        .request("POST", "/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32600, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_is_only_its_openers() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = start(dir.path(), POLICY).await;
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let opened = gw
        .request("POST", "/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let _ = opened.bytes().await;
    // Tokens the admin mints are the admin's own; an anonymous caller is someone else.
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    for (token, status) in [(None, 404), (Some(TOKEN), 200)] {
        let mut request = gw
            .request("POST", "/mcp")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-11-25")
            .json(&list);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status);
    }
}
