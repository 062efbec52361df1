//! Logs through the real binary: `--log-format json` writes one JSON object per line, the
//! lines of a request carry its id (the client's `X-Request-Id`, returned in the answer),
//! and at debug level no secret (admin token, gateway token, a refused bearer token, a
//! cookie, an egress credential sent upstream) appears anywhere in the log.

mod common;

use common::{Launch, TOKEN, upstreams};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn json_lines_carry_the_request_id_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, log) = Launch::quiet(dir.path())
        .args(&["--log-format", "json"])
        .env("MCPGW_LOG", "debug")
        .start_capturing()
        .await;
    let time = upstreams::example("currenttime", true).await;
    let egress = "Bearer egress-secret-6d1f0c";
    let mut clock = common::http_server("clock", &time.url);
    clock["headers"] = json!({"Authorization": egress});
    gw.register_healthy(clock).await;
    let minted = gw
        .api("POST", "/api/tokens", Some(json!({"expires_in": 60})))
        .await;
    assert_eq!(minted.status, 201, "{:?}", minted.body);
    let agent_token = minted.body["token"].as_str().unwrap().to_owned();
    let refused_token = "not-a-real-token-93b2e1";
    let cookie = "mcpgw_session=cookie-secret-51aa07";

    // A call with a cookie and the client's own request id, and one with the agent's token.
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "current_time_by_timezone", "arguments": {"timezone_name": "UTC"},
        "_meta": common::stateless_meta()}});
    let answered = gw
        .request("POST", "/clock/mcp")
        .bearer_auth(TOKEN)
        .header("cookie", cookie)
        .header("x-request-id", "test-request-42")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "current_time_by_timezone")
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.headers()["x-request-id"], "test-request-42");
    assert_eq!(answered.status(), 200);
    common::rpc_messages(answered).await;
    let (status, _) = gw.get_as("/api/servers", &agent_token).await;
    assert!([200, 403].contains(&status), "{status}");
    // A refused token, and a request id the gateway makes up.
    let refused = gw
        .request("GET", "/api/servers")
        .bearer_auth(refused_token)
        .header("x-request-id", "has spaces and is refused")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let made_up = refused.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(made_up.len(), 32, "{made_up}");
    let (status, _) = gw.get_as("/api/servers", TOKEN).await;
    assert_eq!(status, 200);
    drop(gw);

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(lines.len() > 10, "{text}");
    let with_id = |id: &str| {
        lines
            .iter()
            .filter(|line| {
                line["spans"]
                    .as_array()
                    .is_some_and(|spans| spans.iter().any(|span| span["request_id"] == id))
            })
            .count()
    };
    assert!(with_id("test-request-42") >= 1, "{text}");
    assert!(
        lines
            .iter()
            .all(|line| line["level"].is_string() && line["timestamp"].is_string())
    );
    for secret in [
        TOKEN,
        agent_token.as_str(),
        refused_token,
        "cookie-secret-51aa07",
        "egress-secret-6d1f0c",
    ] {
        assert!(!text.contains(secret), "a secret is in the log: {secret}");
    }
    drop(time);
}
