//! Stopping a replica gracefully (SIGTERM): it says it is not ready at once, keeps
//! accepting for the drain delay, then stops accepting; a call in flight finishes, open
//! event streams end so their clients reconnect elsewhere, and the process exits.

mod common;

use std::time::Duration;

use common::{Launch, TOKEN, http_server};
use futures::StreamExt;
use serde_json::json;

#[tokio::test]
async fn sigterm_drains_without_cutting_a_call_in_flight() {
    let toolbox = common::upstreams::example("toolbox", true).await;
    let dir = tempfile::tempdir().unwrap();
    // A drain that would take ten minutes if the event stream below were waited for.
    let gw = Launch::quiet(dir.path())
        .env("MCPGW_DRAIN_DELAY_SECS", "2")
        .env("MCPGW_DRAIN_SECS", "600")
        .env("MCPGW_ADMIN_PASSWORD", "drain-test-password")
        .start()
        .await;
    gw.register_healthy(http_server("box", &toolbox.url)).await;
    assert_eq!(gw.api("GET", "/readyz", None).await.status, 200);
    assert_eq!(gw.api("GET", "/livez", None).await.status, 200);

    // A long call, and the UI's live event stream, both open when the signal comes.
    let call = {
        let request = gw
            .request("POST", "/box/mcp")
            .bearer_auth(TOKEN)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "sleep")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "sleep", "arguments": {"ms": 3000},
                           "_meta": common::stateless_meta()}}));
        tokio::spawn(async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    };
    let (cookie, _) = common::sign_in(&gw, "admin", "drain-test-password").await;
    let events = gw
        .request("GET", "/ui/events")
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let mut events = events.bytes_stream();
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.signal("TERM");

    // Not ready at once; still accepting during the delay.
    common::replicas::until("not ready", Duration::from_secs(10), || async {
        gw.api("GET", "/readyz", None).await.status == 503
    })
    .await;
    let draining = gw.api("GET", "/readyz", None).await;
    assert_eq!(draining.body["status"], "draining");
    assert_eq!(gw.api("GET", "/livez", None).await.status, 200);

    // Then the listener closes; the event stream ends (its client would reconnect).
    let url = gw.url.clone();
    common::replicas::until("the listener closes", Duration::from_secs(30), || async {
        common::client()
            .get(format!("{url}/livez"))
            .send()
            .await
            .is_err_and(|error| error.is_connect())
    })
    .await;
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(chunk) = events.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the event stream ended");

    // The call in flight was answered in full.
    let (status, body) = call.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("slept 3000 ms"), "{body}");
    assert!(gw.wait().await.success(), "a graceful stop exits 0");
}
