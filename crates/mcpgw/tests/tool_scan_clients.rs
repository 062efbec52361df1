//! A server that answers the gateway's check with a clean tool list and its clients with a
//! poisoned one is caught on the first list a client gets through the server's route: the
//! tools only clients saw are scanned, the findings say so, and the server is disabled.

mod common;

use common::{Launch, TOKEN};
use serde_json::{Value, json};

/// POSTs `message` to `/two-faced/mcp` in `session` (none: a new one); the answer's
/// session id and JSON body.
async fn post(
    gw: &common::Gateway,
    session: Option<&str>,
    message: Value,
) -> (u16, Option<String>, Value) {
    let mut request = gw
        .request("POST", "/two-faced/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&message);
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get("mcp-session-id")
        .map(|value| value.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, session, body)
}

#[tokio::test]
async fn a_list_only_clients_are_sent_is_scanned_and_blocks_the_server() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/two_faced_server.py"
    );
    let mut command = tokio::process::Command::new(python);
    command.arg(script);
    let (_server, url) = common::spawn_announcing(command, "listening on ").await;
    let gw = Launch::quiet(&dir.path().join("data")).start().await;
    gw.register_healthy(common::http_server("two-faced", &url))
        .await;
    // The check saw the clean list: nothing to report, the server is enabled.
    let server = gw.api("GET", "/api/servers/two-faced", None).await.body;
    assert_eq!(server["enabled"], true, "{server}");
    let report = gw
        .api("GET", "/api/servers/two-faced/findings", None)
        .await
        .body;
    assert_eq!(report["count"], 0, "{report}");

    // A client gets the other list (passed on as the server sent it).
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "an-ide", "version": "1"}}});
    let (status, session, _) = post(&gw, None, initialize).await;
    assert_eq!(status, 200);
    let session = session.expect("a session");
    let listed = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (status, _, body) = post(&gw, Some(&session), listed).await;
    assert_eq!(status, 200);
    let description = body["result"]["tools"][0]["description"].as_str().unwrap();
    assert!(description.contains("id_rsa"), "{body}");

    // Scanned from what the client got: disabled, with findings that say where from.
    gw.wait_blocked_by_scan("two-faced").await;
    let report = gw
        .api("GET", "/api/servers/two-faced/findings", None)
        .await
        .body;
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|finding| finding["rule"] == "differential-list"
                && finding["severity"] == "medium"
                && finding["message"].as_str().unwrap().contains("echo")),
        "{report}"
    );
    assert!(
        findings.iter().any(|finding| finding["severity"] == "high"
            && finding["message"]
                .as_str()
                .unwrap()
                .starts_with("sent to clients, not to the gateway's check")),
        "{report}"
    );
    // Its route refuses calls now; enabling it needs an admin's approval.
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hi"}}});
    let (status, _, _) = post(&gw, Some(&session), call).await;
    assert_eq!(status, 404);
    let enable = gw
        .api(
            "POST",
            "/api/servers/two-faced/toggle",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(enable.status, 409, "{enable:?}");
}
