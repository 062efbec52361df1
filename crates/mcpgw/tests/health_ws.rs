//! `/ws/health_status`, kept for the Python registry's clients (issue 10), followed with
//! the `websockets` library those clients use: the first message maps every server to its
//! status, tool count and check time in the Python registry's shape, a registration is
//! pushed without asking, and a handshake from another site's page is refused.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{Launch, TOKEN, http_server, python, upstreams};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Starts the client script; its stdout gives one JSON message per line.
fn follow(
    python: &str,
    url: &str,
    token: &str,
    count: &str,
    origin: Option<&str>,
) -> tokio::process::Child {
    let script = format!("{}/tests/python/health_ws.py", env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new(python);
    command.arg(script).args([url, token, count]);
    if let Some(origin) = origin {
        command.arg(origin);
    }
    command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// The next JSON line of `lines`, within a minute.
async fn next_message(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("a message within a minute")
        .unwrap()
        .expect("the client printed a message");
    serde_json::from_str(&line).unwrap()
}

#[tokio::test]
async fn python_clients_follow_health_over_a_websocket() {
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::new(&dir.path().join("data")).start().await;
    let upstream = upstreams::example("currenttime", false).await;
    gw.register_healthy(http_server("clock", &upstream.url))
        .await;
    let ws_url = format!("{}/ws/health_status", gw.url.replace("http://", "ws://"));

    let mut client = follow(&python, &ws_url, TOKEN, "2", None);
    let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
    let first = next_message(&mut lines).await;
    assert_eq!(first["/clock"]["status"], "healthy", "{first}");
    assert_eq!(first["/clock"]["num_tools"], 1, "{first}");
    assert!(first["/clock"]["last_checked_iso"].is_string(), "{first}");
    assert!(first.get("/box").is_none(), "{first}");

    // A server registered meanwhile is pushed: first as being checked, or already
    // unhealthy (nothing listens at its address), but never healthy.
    common::register_unreachable_box(&gw).await;
    let second = next_message(&mut lines).await;
    let status = second["/box"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        status == "checking" || status.starts_with("unhealthy"),
        "{second}"
    );
    assert!(client.wait().await.unwrap().success());

    // Another site's page cannot follow the registry with the user's credentials.
    let mut refused = follow(&python, &ws_url, TOKEN, "1", Some("http://evil.example"));
    let mut lines = BufReader::new(refused.stdout.take().unwrap()).lines();
    assert_eq!(next_message(&mut lines).await["refused"], 403);

    // Without credentials, no stream at all.
    let anonymous = gw.request("GET", "/ws/health_status").send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    // A token revoked while it follows: the stream ends (at the next change at the latest).
    let minted = gw
        .api(
            "POST",
            "/api/tokens",
            Some(serde_json::json!({"description": "follower", "admin": true})),
        )
        .await;
    assert_eq!(minted.status, 201, "{:?}", minted.body);
    let token = minted.body["token"].as_str().unwrap().to_owned();
    let id = minted.body["id"].as_str().unwrap().to_owned();
    let mut revoked = follow(&python, &ws_url, &token, "3", None);
    let mut lines = BufReader::new(revoked.stdout.take().unwrap()).lines();
    assert!(next_message(&mut lines).await.get("/clock").is_some());
    let gone = gw.api("DELETE", &format!("/api/tokens/{id}"), None).await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);
    gw.api("POST", "/api/servers/clock/refresh", None).await;
    let other = http_server("box2", "http://127.0.0.1:9/mcp");
    assert_eq!(
        gw.api("POST", "/api/servers", Some(other)).await.status,
        201
    );
    let mut ended = next_message(&mut lines).await;
    // One update may have been on its way before the revocation was seen.
    if ended.get("closed").is_none() {
        ended = next_message(&mut lines).await;
    }
    assert_eq!(ended["closed"], true, "{ended}");
}
