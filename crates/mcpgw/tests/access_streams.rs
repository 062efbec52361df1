//! Access control over time and across clients: the official Python SDK over every route
//! (filtered lists, refusals on legacy streams), a policy reloaded under an open stream,
//! and sessions that only their opener may use.

mod common;

use std::time::{Duration, Instant};

use common::access::*;
use common::upstreams;
use serde_json::json;

/// A gateway with the stateful toolbox over HTTP (`toolbox`) and over stdio
/// (`toolbox-stdio`), and a token of the `analysts` group.
async fn two_toolboxes(dir: &std::path::Path) -> (common::Gateway, upstreams::Upstream, String) {
    let (gw, _scopes) = start(dir, POLICY).await;
    let toolbox = upstreams::example("toolbox", false).await;
    register(&gw, "toolbox", &toolbox.url).await;
    let stdio = json!({"path": "toolbox-stdio", "command": common::binary(),
        "args": ["example-server", "toolbox", "--stdio"]});
    assert_eq!(
        gw.api("POST", "/api/servers", Some(stdio)).await.status,
        201
    );
    let analyst = token_for(&gw, &["analysts"]).await;
    (gw, toolbox, analyst)
}

#[tokio::test]
async fn the_official_python_sdk_sees_filtered_lists_over_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _toolbox, analyst) = two_toolboxes(dir.path()).await;
    let calls = json!([{"name": "echo", "arguments": {"message": "hi"}},
        {"name": "add", "arguments": {"a": 1, "b": 2}}, {"name": "get-sum", "arguments": {"a": 1, "b": 2}}])
    .to_string();
    let mut routes = vec![
        (
            "http",
            "/toolbox/mcp",
            json!(["base64_decode", "base64_encode", "echo"]),
        ),
        (
            "http",
            "/toolbox-stdio/mcp",
            json!(["base64_decode", "base64_encode", "echo"]),
        ),
        (
            "sse",
            "/toolbox-stdio/sse",
            json!(["base64_decode", "base64_encode", "echo"]),
        ),
    ];
    // A legacy server relayed as it is: the list is filtered in its own stream, and
    // refusals are put into that stream too.
    let _everything = match upstreams::everything_entry() {
        Some(entry) => {
            let server = upstreams::everything(&entry, "sse").await;
            let body = json!({"path": "everything-sse", "url": server.url, "transport": "sse"});
            assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
            routes.push(("sse", "/everything-sse/sse", json!(["echo"])));
            Some(server)
        }
        None => None,
    };
    for (transport, path, expected) in routes {
        let url = format!("{}{path}", gw.url);
        let Some(seen) =
            common::run_python("policy_client.py", &[transport, &url, &analyst, &calls]).await
        else {
            return;
        };
        assert_eq!(seen["tools"], expected, "{path}: {seen}");
        assert_eq!(seen["calls"][0], "ok", "{path}: {seen}");
        for refused in [&seen["calls"][1], &seen["calls"][2]] {
            let refused = refused.as_str().unwrap();
            assert!(refused.starts_with("refused"), "{path}: {seen}");
        }
    }
}

#[tokio::test]
async fn a_reload_changes_new_decisions_while_an_open_stream_keeps_working() {
    let toolbox = upstreams::example("toolbox", true).await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, scopes, log) = start_logged(dir.path(), POLICY).await;
    register(&gw, "toolbox", &toolbox.url).await;
    let ops = token_for(&gw, &["ops"]).await;

    // A long call with progress, streamed as events.
    let mut countdown = rpc(
        1,
        "tools/call",
        json!({"name": "countdown",
        "arguments": {"steps": 10, "delay_ms": 200}}),
    );
    countdown["params"]["_meta"]["progressToken"] = json!("p1");
    let headers = [("mcp-method", "tools/call"), ("mcp-name", "countdown")];
    let stream = post(
        &gw,
        "/toolbox/mcp",
        Some(&ops),
        &headers,
        &countdown.to_string(),
    )
    .await;
    assert_eq!(stream.status(), 200);

    // Meanwhile the operators lose `countdown`; a broken file later changes nothing.
    let narrowed = POLICY.replace("deny: [fail]", "deny: [fail, countdown]");
    std::fs::write(&scopes, &narrowed).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = call_tool(&gw, "toolbox", &ops, "countdown").await;
        if response.status() == 403 {
            break;
        }
        assert!(Instant::now() < deadline, "the reload never took effect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::write(&scopes, "toolbox-ops: [ {server: toolbox, methods: [\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("the previous policy stays in force")
    {
        assert!(Instant::now() < deadline, "the broken file was never read");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        call_tool(&gw, "toolbox", &ops, "countdown").await.status(),
        403
    );
    assert_eq!(call_tool(&gw, "toolbox", &ops, "echo").await.status(), 200);

    // The stream opened before the reload ran to its end.
    let messages = common::rpc_messages(stream).await;
    let result = messages.iter().find(|message| message["id"] == 1).unwrap();
    assert_eq!(
        result["result"]["content"][0]["text"],
        "countdown finished: 10 steps, 10 progress notifications sent",
        "{messages:?}"
    );

    // SIGHUP reloads at once, whatever the file's timestamps say.
    std::fs::write(&scopes, POLICY).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gw.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while call_tool(&gw, "toolbox", &ops, "countdown").await.status() != 200 {
        assert!(Instant::now() < deadline, "SIGHUP never reloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_session_belongs_to_whoever_opened_it() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _toolbox, analyst) = two_toolboxes(dir.path()).await;

    // Streamable HTTP: the analyst's session, used by an anonymous visitor (who may list
    // toolbox's tools in a session of its own).
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let opened = stateful(
        &gw,
        "POST",
        "/toolbox/mcp",
        Some(&analyst),
        None,
        Some(init.clone()),
    )
    .await;
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let stolen = stateful(
        &gw,
        "POST",
        "/toolbox/mcp",
        None,
        Some(&session),
        Some(list.clone()),
    )
    .await;
    assert_eq!(stolen.status(), 404);
    let ended = stateful(&gw, "DELETE", "/toolbox/mcp", None, Some(&session), None).await;
    assert_eq!(ended.status(), 404);
    let stream = stateful(&gw, "GET", "/toolbox/mcp", None, Some(&session), None).await;
    assert_eq!(stream.status(), 404);
    // Two ids, one of them the visitor's own guess: refused, whichever a server would read.
    let doubled = gw
        .request("GET", "/toolbox/mcp")
        .header("accept", "text/event-stream")
        .header("mcp-session-id", "unknown-to-anyone")
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(doubled.status(), 400);
    // The visitor's own session works; the analyst's is untouched.
    let own = stateful(&gw, "POST", "/toolbox/mcp", None, None, Some(init)).await;
    assert_eq!(own.status(), 200);
    let still = stateful(
        &gw,
        "POST",
        "/toolbox/mcp",
        Some(&analyst),
        Some(&session),
        Some(list),
    )
    .await;
    assert_eq!(still.status(), 200);
    assert_eq!(
        stateful(
            &gw,
            "DELETE",
            "/toolbox/mcp",
            Some(&analyst),
            Some(&session),
            None
        )
        .await
        .status()
        .as_u16()
            / 100,
        2
    );

    // Legacy SSE: the analyst's stream, posted into by the visitor.
    let mut events = gw
        .request("GET", "/toolbox-stdio/sse")
        .bearer_auth(&analyst)
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut seen = String::new();
    let endpoint = loop {
        let chunk = futures::StreamExt::next(&mut events)
            .await
            .unwrap()
            .unwrap();
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
        if let Some(line) = seen
            .lines()
            .find(|line| line.starts_with("data: /toolbox-stdio/messages"))
        {
            break line.trim_start_matches("data: ").to_owned();
        }
    };
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}).to_string();
    let injected = gw
        .request("POST", &endpoint)
        .header("content-type", "application/json")
        .body(call.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(injected.status(), 404);
    let own = gw
        .request("POST", &endpoint)
        .bearer_auth(&analyst)
        .header("content-type", "application/json")
        .body(call)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 202);
}
