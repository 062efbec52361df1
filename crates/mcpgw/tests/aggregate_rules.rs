//! Rules of the aggregated endpoint on the wire: a raw 2026-07-28 exchange needs no
//! session (and takes the direct path to a stateless server: progress, audit, header
//! checks, the 401 challenge), sessions belong to their opener, a server registered again
//! under the same path is reached at its new address by sessions opened before, and
//! batches are refused.

mod common;

use common::access::start;
use common::agent::Agent;
use std::time::Duration;

use common::{Gateway, Launch, TOKEN, upstreams};
use serde_json::{Value, json};

/// POSTs one 2026-07-28 message to `path` with the headers such a client sends.
async fn stateless(
    gw: &Gateway,
    path: &str,
    token: Option<&str>,
    method: &str,
    name: Option<&str>,
    params: Value,
) -> reqwest::Response {
    let mut params = params;
    params["_meta"] = common::stateless_meta();
    let mut request = gw
        .request("POST", path)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}));
    if let Some(name) = name {
        request = request.header("mcp-name", name);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_raw_stateless_exchange_needs_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let toolbox = upstreams::example("toolbox", true).await;
    gw.register_healthy(common::http_server("toolbox", &toolbox.url))
        .await;

    let discovered = stateless(&gw, "/mcp", Some(TOKEN), "server/discover", None, json!({})).await;
    assert_eq!(discovered.status(), 200);
    assert!(discovered.headers().get("mcp-session-id").is_none());
    let discovered = common::rpc_messages(discovered).await.remove(0);
    let result = &discovered["result"];
    assert!(
        result["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28")),
        "{discovered}"
    );
    assert_eq!(
        result["capabilities"]["tools"]["listChanged"], true,
        "{discovered}"
    );

    let listed = stateless(&gw, "/mcp", Some(TOKEN), "tools/list", None, json!({})).await;
    assert!(listed.headers().get("mcp-session-id").is_none());
    let listed = common::rpc_messages(listed).await.remove(0);
    assert_eq!(listed["result"]["cacheScope"], "private", "{listed}");
    assert_eq!(listed["result"]["ttlMs"], 30000, "{listed}");
    let echo = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tool| tool["name"] == "toolbox__echo")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(echo["_meta"]["io.mcpgw/server"], "toolbox");
    assert_eq!(echo["_meta"]["io.mcpgw/tool"], "echo");
    assert_eq!(
        echo["inputSchema"]["required"],
        json!(["message"]),
        "{echo}"
    );

    let call = json!({"name": "toolbox__echo", "arguments": {"message": "raw"}});
    let called = stateless(
        &gw,
        "/mcp",
        Some(TOKEN),
        "tools/call",
        Some("toolbox__echo"),
        call.clone(),
    )
    .await;
    let called = common::rpc_messages(called).await.remove(0);
    assert_eq!(called["result"]["content"][0]["text"], "raw", "{called}");
    assert_eq!(called["result"]["resultType"], "complete", "{called}");

    // Recorded like any call, under the server's own tool name.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reply = gw
            .api(
                "GET",
                "/api/audit?server=toolbox&tool=echo&decision=allow",
                None,
            )
            .await;
        if reply.body["count"] == 1 {
            assert_eq!(
                reply.body["records"][0]["request_id"], "7",
                "{:?}",
                reply.body
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{:?}", reply.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Progress of a stateless server reaches a stateless client under its own token.
    let countdown = json!({"name": "toolbox__countdown", "arguments": {"steps": 2, "delay_ms": 10},
        "_meta": {"progressToken": "p-1"}});
    let mut params = countdown.clone();
    params["_meta"]
        .as_object_mut()
        .unwrap()
        .extend(common::stateless_meta().as_object().unwrap().clone());
    let counted = gw
        .request("POST", "/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "toolbox__countdown")
        .json(&json!({"jsonrpc": "2.0", "id": "c-1", "method": "tools/call", "params": params}))
        .send()
        .await
        .unwrap();
    let messages = common::rpc_messages(counted).await;
    let tokens: Vec<&Value> = messages
        .iter()
        .filter_map(|message| message.pointer("/params/progressToken"))
        .collect();
    assert_eq!(tokens, [&json!("p-1"), &json!("p-1")], "{messages:?}");
    let last = messages.last().unwrap();
    assert_eq!(last["id"], "c-1", "{last}");
    assert!(
        last["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("countdown finished"),
        "{last}"
    );

    // Header and body must agree, before anything else happens.
    let mismatch = stateless(
        &gw,
        "/mcp",
        Some(TOKEN),
        "tools/call",
        Some("toolbox__fail"),
        call,
    )
    .await;
    assert_eq!(mismatch.status(), 400);
    let mismatch = common::rpc_messages(mismatch).await.remove(0);
    assert_eq!(mismatch["error"]["code"], -32020, "{mismatch}");

    // No credentials: 401, and where to find out how to get some.
    let anonymous = stateless(&gw, "/mcp", None, "tools/list", None, json!({})).await;
    assert_eq!(anonymous.status(), 401);
    let challenge = anonymous.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let metadata = format!("{}/.well-known/oauth-protected-resource/mcp", gw.url);
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata}\"")),
        "{challenge}"
    );
    let document = common::get_json(&metadata).await;
    assert_eq!(
        document["resource"],
        format!("{}/mcp", gw.url),
        "{document}"
    );
}

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
    let session = gw.open_aggregate_session().await;
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

#[tokio::test(flavor = "multi_thread")]
async fn the_tool_separator_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcpgw.toml");
    std::fs::write(&config, "[gateway]\ntool_separator = \".\"\n").unwrap();
    let gw = Launch::quiet(&dir.path().join("data"))
        .args(&["--config", config.to_str().unwrap()])
        .start()
        .await;
    gw.register_healthy(upstreams::stdio_toolbox("box")).await;
    let listed = stateless(&gw, "/mcp", Some(TOKEN), "tools/list", None, json!({})).await;
    let listed = common::rpc_messages(listed).await.remove(0);
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert!(names.contains(&"box.echo"), "{names:?}");
    assert!(!names.iter().any(|name| name.contains("__")), "{names:?}");
}
