//! Raw JSON-RPC over Streamable HTTP against `serve_http`, checking the exact wire
//! behaviour a gateway relies on (sessions, JSON vs SSE bodies, progress ordering).

mod common;

use common::{RawClient, TestServer, assert_progress_then_result, result_text};
use mcpgw_example_servers::ExampleServer;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn stateful_toolbox_session_flow() {
    let server = TestServer::start(ExampleServer::Toolbox, true).await;
    let mut client = RawClient::new(&server.url);
    let init = client.initialize("2025-11-25").await;
    assert!(
        init.session_id.is_some(),
        "stateful mode must issue a session id"
    );
    let info = init.result(0);
    assert_eq!(info["protocolVersion"], "2025-11-25");
    assert_eq!(info["serverInfo"]["name"], "toolbox");
    assert!(info["capabilities"]["tools"].is_object());
    assert!(info["instructions"].as_str().is_some_and(|s| !s.is_empty()));

    let list = client.request(1, "tools/list", json!({})).await;
    assert!(
        list.content_type.starts_with("text/event-stream"),
        "{list:?}"
    );
    let tools = list.result(1)["tools"].as_array().expect("tools").clone();
    assert_eq!(tools.len(), 11, "{tools:#?}");
    for tool in &tools {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert!(tool["annotations"]["title"].is_string(), "{tool}");
    }
    let add = tools.iter().find(|t| t["name"] == "add").expect("add");
    assert_eq!(add["outputSchema"]["type"], "object");
    assert!(add["outputSchema"]["properties"]["sum"].is_object());
    assert_eq!(add["annotations"]["readOnlyHint"], true);
    assert_eq!(add["annotations"]["destructiveHint"], false);

    let sum = client
        .call_tool(2, "add", json!({"a": 2, "b": 3.5}), None)
        .await;
    let result = sum.result(2);
    assert_eq!(result["structuredContent"]["sum"], 5.5);
    assert_ne!(result["isError"], true);

    let countdown = client
        .call_tool(
            3,
            "countdown",
            json!({"steps": 3, "delay_ms": 5}),
            Some("cd-3"),
        )
        .await;
    assert!(countdown.content_type.starts_with("text/event-stream"));
    assert_progress_then_result(&countdown.messages, "cd-3", 3, 3);

    let fail = client
        .call_tool(4, "fail", json!({"message": "boom"}), None)
        .await;
    assert_eq!(fail.result(4)["isError"], true);
    assert_eq!(result_text(fail.result(4)), "boom");

    let bad = client
        .call_tool(5, "base64_decode", json!({"data": "%%%not base64"}), None)
        .await;
    assert_eq!(bad.result(5)["isError"], true);
    assert!(result_text(bad.result(5)).contains("invalid base64"));

    let good = client
        .call_tool(6, "base64_decode", json!({"data": "aMOpbGxv"}), None)
        .await;
    assert_eq!(result_text(good.result(6)), "héllo");

    // A request without the session id is refused in stateful mode.
    let anonymous = RawClient::new(&server.url)
        .request(7, "tools/list", json!({}))
        .await;
    assert_eq!(anonymous.status, StatusCode::BAD_REQUEST, "{anonymous:?}");
    server.stop().await;
}

#[tokio::test]
async fn stateless_currenttime_json_mode() {
    let server = TestServer::start(ExampleServer::CurrentTime, false).await;
    let mut client = RawClient::new(&server.url);
    let init = client.initialize("2025-11-25").await;
    assert!(
        init.session_id.is_none(),
        "stateless mode must not issue sessions"
    );
    assert!(
        init.content_type.starts_with("application/json"),
        "{init:?}"
    );
    let info = init.result(0);
    assert_eq!(info["serverInfo"]["name"], "currenttime");
    assert!(info["instructions"].as_str().is_some_and(|s| !s.is_empty()));

    let list = client.request(1, "tools/list", json!({})).await;
    assert!(
        list.content_type.starts_with("application/json"),
        "{list:?}"
    );
    let tools = list.result(1)["tools"].as_array().expect("tools").clone();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["name"], "current_time_by_timezone");
    assert_eq!(
        tools[0]["inputSchema"]["properties"]["tz_name"]["type"],
        "string"
    );

    let tokyo = client
        .call_tool(
            2,
            "current_time_by_timezone",
            json!({"tz_name": "Asia/Tokyo"}),
            None,
        )
        .await;
    let text = result_text(tokyo.result(2));
    assert!(
        text.contains("Asia/Tokyo") && text.contains("UTC+09:00"),
        "{text}"
    );
    assert_ne!(tokyo.result(2)["isError"], true);

    let default = client
        .call_tool(3, "current_time_by_timezone", json!({}), None)
        .await;
    assert!(result_text(default.result(3)).contains("America/New_York"));

    let unknown = client
        .call_tool(
            4,
            "current_time_by_timezone",
            json!({"tz_name": "Mars/Base"}),
            None,
        )
        .await;
    assert_eq!(unknown.result(4)["isError"], true);
    assert!(result_text(unknown.result(4)).contains("unknown timezone"));
    server.stop().await;
}

#[tokio::test]
async fn stateless_toolbox_streams_progress_only_when_asked() {
    let server = TestServer::start(ExampleServer::Toolbox, false).await;
    let mut client = RawClient::new(&server.url);
    client.initialize("2025-11-25").await;

    let with_token = client
        .call_tool(
            1,
            "countdown",
            json!({"steps": 4, "delay_ms": 1}),
            Some("tok"),
        )
        .await;
    assert!(
        with_token.content_type.starts_with("text/event-stream"),
        "notifications force an SSE reply: {with_token:?}"
    );
    assert_progress_then_result(&with_token.messages, "tok", 4, 1);

    let without_token = client
        .call_tool(2, "countdown", json!({"steps": 2, "delay_ms": 1}), None)
        .await;
    assert!(without_token.content_type.starts_with("application/json"));
    assert_eq!(without_token.messages.len(), 1, "{without_token:?}");
    assert!(result_text(without_token.result(2)).contains("0 progress notifications"));
    server.stop().await;
}

/// The stateless 2026-07-28 revision: `server/discover` and per-request `_meta`,
/// served without sessions even in stateful mode.
#[tokio::test]
async fn protocol_2026_07_28_discover_and_call() {
    for stateful in [true, false] {
        let server = TestServer::start(ExampleServer::Toolbox, stateful).await;
        let mut client = RawClient::new(&server.url);
        client.protocol_version = Some("2026-07-28".to_owned());
        let meta = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "raw-test-client", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {}
        });

        let discover = client
            .post(
                json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
                       "params": {"_meta": meta}}),
                &[("Mcp-Method", "server/discover")],
            )
            .await;
        assert_eq!(discover.status, StatusCode::OK, "{discover:?}");
        assert!(discover.session_id.is_none());
        let versions = discover.result(1)["supportedVersions"].clone();
        assert!(
            versions.as_array().is_some_and(
                |v| v.contains(&json!("2026-07-28")) && v.contains(&json!("2025-11-25"))
            ),
            "{versions}"
        );

        let mut call_meta = meta.clone();
        call_meta["progressToken"] = json!(7);
        let call = client
            .post(
                json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                    "name": "countdown", "arguments": {"steps": 2, "delay_ms": 1},
                    "_meta": call_meta}}),
                &[("Mcp-Method", "tools/call"), ("Mcp-Name", "countdown")],
            )
            .await;
        assert_eq!(call.status, StatusCode::OK, "{call:?}");
        let progress: Vec<_> = call
            .messages
            .iter()
            .filter(|m| m["method"] == "notifications/progress")
            .collect();
        assert_eq!(progress.len(), 2, "{call:?}");
        assert!(result_text(call.result(2)).contains("countdown finished"));
        server.stop().await;
    }
}
