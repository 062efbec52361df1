//! The data plane end to end: real clients through the real binary to real servers, in
//! every protocol era, plus every error a client can cause and an upstream that dies.

mod common;

use std::time::Duration;

use common::rpc_messages as messages;
use common::{Launch, TOKEN, stateless_meta, upstreams};
use futures::StreamExt;
use serde_json::{Value, json};

const ACCEPT: &str = "application/json, text/event-stream";

async fn gateway_with(servers: &[(&str, Value)]) -> (tempfile::TempDir, common::Gateway) {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    register_all(&gw, servers).await;
    (dir, gw)
}

/// Registers each `(path, fields)` server, asserting 201.
async fn register_all(gw: &common::Gateway, servers: &[(&str, Value)]) {
    for (path, fields) in servers {
        let mut body = fields.clone();
        body["path"] = json!(path);
        assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    }
}

/// POSTs a JSON-RPC message to `/{server}/mcp` and returns the raw response.
async fn post(
    gw: &common::Gateway,
    server: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> reqwest::Response {
    let mut request = gw
        .request("POST", &format!("/{server}/mcp"))
        .bearer_auth(TOKEN)
        .header("accept", ACCEPT)
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(body.to_string()).send().await.unwrap()
}

fn result_of(messages: &[Value], id: i64) -> Value {
    messages
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no response {id}: {messages:?}"))["result"]
        .clone()
}

#[tokio::test]
async fn stateless_2026_exchange_needs_no_session() {
    let upstream = upstreams::example("toolbox", true).await;
    let (_dir, gw) = gateway_with(&[("toolbox", json!({"url": upstream.url}))]).await;
    let version = [("mcp-protocol-version", "2026-07-28")];

    let discover = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": stateless_meta()}});
    let response = post(
        &gw,
        "toolbox",
        &[version[0], ("mcp-method", "server/discover")],
        &discover,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("mcp-session-id").is_none());
    // What an upstream returns never runs as a page of the gateway's origin.
    assert_eq!(response.headers()["content-security-policy"], "sandbox");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let found = result_of(&messages(response).await, 1);
    assert!(
        found["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28"))
    );

    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": stateless_meta()}});
    let tools = result_of(
        &messages(
            post(
                &gw,
                "toolbox",
                &[version[0], ("mcp-method", "tools/list")],
                &list,
            )
            .await,
        )
        .await,
        2,
    );
    assert!(tools["tools"].as_array().unwrap().len() >= 10);

    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 2, "b": 40}, "_meta": stateless_meta()}});
    let headers = [
        version[0],
        ("mcp-method", "tools/call"),
        ("mcp-name", "add"),
    ];
    let sum = result_of(
        &messages(post(&gw, "toolbox", &headers, &call).await).await,
        3,
    );
    assert_eq!(sum["structuredContent"]["sum"], 42.0, "{sum}");
}

#[tokio::test]
async fn stateful_session_spans_requests_and_ends_with_delete() {
    let upstream = upstreams::example("currenttime", false).await;
    let (_dir, gw) = gateway_with(&[("time", json!({"url": upstream.url}))]).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let response = post(&gw, "time", &[], &init).await;
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        result_of(&messages(response).await, 1)["protocolVersion"],
        "2025-11-25"
    );
    let with_session = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];

    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        post(&gw, "time", &with_session, &initialized)
            .await
            .status(),
        202
    );
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "current_time_by_timezone", "arguments": {"tz_name": "Asia/Tokyo"}}});
    let result = result_of(
        &messages(post(&gw, "time", &with_session, &call).await).await,
        2,
    );
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Asia/Tokyo"),
        "{result}"
    );

    let deleted = gw
        .request("DELETE", "/time/mcp")
        .bearer_auth(TOKEN)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let after = post(&gw, "time", &with_session, &call).await;
    assert_eq!(
        after.status(),
        404,
        "the upstream's answer for an ended session passes through"
    );
}

#[tokio::test]
async fn progress_notifications_stream_through_as_they_happen() {
    let upstream = upstreams::example("toolbox", false).await;
    let (_dir, gw) = gateway_with(&[("toolbox", json!({"url": upstream.url}))]).await;
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {
        "name": "countdown", "arguments": {"steps": 3, "delay_ms": 300},
        "_meta": {"progressToken": "p", "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}}});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "countdown"),
    ];
    let response = post(&gw, "toolbox", &headers, &call).await;
    let mut stream = response.bytes_stream();
    let mut reads: Vec<String> = Vec::new();
    while let Some(chunk) = stream.next().await {
        reads.push(String::from_utf8(chunk.unwrap().to_vec()).unwrap());
    }
    let first_progress = reads
        .iter()
        .position(|r| r.contains("notifications/progress"))
        .expect("progress");
    let result = reads
        .iter()
        .position(|r| r.contains("\"id\":9"))
        .expect("result");
    assert!(
        first_progress < result,
        "the first progress event arrives in an earlier read than the result: {reads:?}"
    );
    assert_eq!(reads.concat().matches("notifications/progress").count(), 3);
}

#[tokio::test]
async fn client_errors_are_json_rpc_errors_with_the_right_status() {
    let upstream = upstreams::example("toolbox", true).await;
    let down = common::faults::down_url().await;
    let (_dir, gw) = gateway_with(&[
        ("toolbox", json!({"url": upstream.url})),
        ("off", json!({"url": upstream.url, "enabled": false})),
        ("down", json!({"url": down})),
        ("downsse", json!({"url": down, "transport": "sse"})),
        ("nocmd", json!({"command": "/nonexistent/mcp-server"})),
    ])
    .await;
    let list = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"});
    let raw = |path: &str, body: &str| {
        gw.request("POST", path)
            .bearer_auth(TOKEN)
            .header("accept", ACCEPT)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    let cases: Vec<(reqwest::Response, u16, i64, &str)> = vec![
        (raw("/nowhere/mcp", &list.to_string()).await.unwrap(), 404, -32000, "no server 'nowhere'"),
        (raw("/off/mcp", &list.to_string()).await.unwrap(), 404, -32000, "disabled"),
        (raw("/toolbox/mcp", "{oops").await.unwrap(), 400, -32700, "Parse error"),
        (raw("/toolbox/mcp", r#"{"id":1,"method":"tools/list"}"#).await.unwrap(), 400, -32600, "jsonrpc"),
        (raw("/toolbox/mcp", r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"fail"}}"#).await.unwrap(), 400, -32600, "duplicate key"),
        (raw("/down/mcp", &list.to_string()).await.unwrap(), 502, -32000, "'down' is unreachable: connection refused"),
        (raw("/toolbox/sse", "").await.unwrap(), 405, -32000, "use /toolbox/mcp"),
        // Bridged servers: an SSE server that is down, a command that does not exist, and
        // the same command again, now waiting out its restart backoff.
        (raw("/downsse/mcp", &list.to_string()).await.unwrap(), 502, -32000, "'downsse' is unreachable: connection refused"),
        (raw("/nocmd/mcp", &list.to_string()).await.unwrap(), 502, -32000, "'nocmd' is unreachable"),
        (raw("/nocmd/mcp", &list.to_string()).await.unwrap(), 503, -32000, "is retried in"),
    ];
    for (response, status, code, text) in cases {
        assert_eq!(response.status(), status, "{text}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["jsonrpc"], "2.0");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(text),
            "{body}"
        );
    }

    let backing_off = raw("/nocmd/mcp", &list.to_string()).await.unwrap();
    assert_eq!(backing_off.status(), 503);
    let retry_after: u64 = backing_off.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");

    // HTTP clients normalise paths themselves, so these go over a raw socket as sent.
    for path in [
        "/x/%2e%2e/toolbox/mcp",
        "/x/../toolbox/mcp",
        "/toolbox%2fmcp",
        "//toolbox/mcp",
        "/./toolbox/mcp",
    ] {
        let (status, body) = raw_request(&gw.url, path, &list.to_string()).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body["error"]["code"], -32600, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not normalised"),
            "{path}"
        );
    }

    let mismatch = post(&gw, "toolbox", &[("mcp-method", "tools/call"), ("mcp-name", "echo")],
        &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "fail", "arguments": {}}})).await;
    assert_eq!(mismatch.status(), 400);
    let body: Value = mismatch.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32020);
    assert_eq!(body["id"], 5, "the error answers the request's id");

    let twice = gw
        .request("POST", "/toolbox/mcp")
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .header("mcp-method", "tools/list")
        .header("mcp-method", "tools/call")
        .body(list.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        twice.status(),
        400,
        "a header sent twice could mean two things"
    );
    assert_eq!(
        twice.json::<Value>().await.unwrap()["error"]["code"],
        -32020
    );

    // Without credentials nothing is revealed, not even whether a server exists.
    let probing = gw
        .request("POST", "/nowhere/mcp")
        .header("content-type", "application/json")
        .body(list.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(probing.status(), 401);

    let anonymous = gw
        .request("POST", "/toolbox/mcp")
        .header("content-type", "application/json")
        .body(list.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/toolbox/mcp\"",
            gw.url
        )
        .as_str()
    );

    // Over the 4 MiB default: refused, whether the length is declared or streamed.
    let huge = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"message": "x".repeat(5 * 1024 * 1024)}}})
    .to_string();
    assert_eq!(
        raw_declared_length(&gw.url, "/toolbox/mcp", huge.len()).await,
        413
    );
    assert_eq!(
        raw_chunked_request(&gw.url, "/toolbox/mcp", &huge).await,
        413
    );

    // The gateway still serves after all that.
    assert_eq!(post(&gw, "toolbox", &[], &list).await.status(), 200);
}

/// Sends one POST with exactly this request target, as the admin.
async fn raw_request(base: &str, path: &str, body: &str) -> (u16, Value) {
    common::raw_post(base, path, TOKEN, body).await
}

/// Sends only the head of a POST declaring a `length`-byte body, and returns the status:
/// the gateway refuses an oversized declared body before reading it.
async fn raw_declared_length(base: &str, path: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut status_line = [0u8; 12];
    socket.read_exact(&mut status_line).await.unwrap();
    String::from_utf8_lossy(&status_line[9..12])
        .parse()
        .unwrap()
}

/// Sends a POST with a chunked body, writing in the background (the gateway may answer
/// before the body is complete), and returns the status.
async fn raw_chunked_request(base: &str, path: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://").to_owned();
    let socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = socket.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {TOKEN}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let body = body.to_owned();
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for piece in body.as_bytes().chunks(64 * 1024) {
            writer
                .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .await?;
            writer.write_all(piece).await?;
            writer.write_all(b"\r\n").await?;
        }
        writer.write_all(b"0\r\n\r\n").await
    });
    let mut status_line = [0u8; 12];
    reader.read_exact(&mut status_line).await.unwrap();
    writing.abort();
    String::from_utf8_lossy(&status_line[9..12])
        .parse()
        .unwrap()
}

#[tokio::test]
async fn an_upstream_killed_mid_stream_fails_that_call_only() {
    let dying = upstreams::example("toolbox", false).await;
    let healthy = upstreams::example("currenttime", true).await;
    let (_dir, gw) = gateway_with(&[
        ("dying", json!({"url": dying.url})),
        ("time", json!({"url": healthy.url})),
    ])
    .await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "countdown", "arguments": {"steps": 50, "delay_ms": 200},
        "_meta": {"progressToken": "p", "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}}});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "countdown"),
    ];
    let mut stream = post(&gw, "dying", &headers, &call).await.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("progress"));
    drop(dying); // kills the upstream process
    let mut received = String::new();
    let mut failed = false;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => received.push_str(&String::from_utf8_lossy(&bytes)),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(
        failed,
        "the client sees the stream break, not a clean end: {received}"
    );
    assert!(!received.contains("\"result\""));

    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": stateless_meta()}});
    let other = post(
        &gw,
        "time",
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/list"),
        ],
        &list,
    )
    .await;
    assert_eq!(other.status(), 200, "other servers keep working");
    let dead = post(
        &gw,
        "dying",
        &[],
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    )
    .await;
    assert_eq!(dead.status(), 502);
}

#[tokio::test]
async fn gateway_routes_answer_like_the_server_for_our_own_client() {
    // The gateway's own MCP client (used by health checks) sees the same server through
    // the per-server routes: Streamable HTTP and, against a legacy server, HTTP+SSE.
    let Some(entry) = upstreams::everything_entry() else {
        return;
    };
    let sse = upstreams::everything(&entry, "sse").await;
    let http = upstreams::example("toolbox", false).await;
    let (_dir, gw) = gateway_with(&[
        ("legacy", json!({"transport": "sse", "url": sse.url})),
        ("modern", json!({"url": http.url})),
    ])
    .await;
    let options = mcpgw_mcp::client::ProbeOptions {
        http: common::client(),
        timeout: Duration::from_secs(20),
        client_name: "test".into(),
        client_version: "1".into(),
    };
    let auth = vec![("Authorization".to_owned(), format!("Bearer {TOKEN}"))];
    let legacy = mcpgw_mcp::client::Endpoint::LegacySse {
        url: format!("{}/legacy/sse", gw.url).parse().unwrap(),
        headers: auth.clone(),
    };
    let report = mcpgw_mcp::probe(&legacy, &options).await.unwrap();
    assert_eq!(report.era, mcpgw_mcp::Era::LegacySse);
    assert!(report.tools.iter().any(|tool| tool["name"] == "get-sum"));
    let modern = mcpgw_mcp::client::Endpoint::StreamableHttp {
        url: format!("{}/modern/mcp", gw.url).parse().unwrap(),
        headers: auth,
    };
    assert_eq!(
        mcpgw_mcp::probe(&modern, &options).await.unwrap().era,
        mcpgw_mcp::Era::Stateless
    );

    let stale = gw
        .post_rpc(
            "/legacy/messages?session=0123",
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        )
        .await;
    assert_eq!(
        stale.status(),
        404,
        "unknown legacy sessions are refused, never guessed"
    );
}

/// Runs the official Python SDK client through the gateway; returns what it observed.
async fn python_client(transport: &str, url: &str) -> Option<Value> {
    common::run_python("mcp_client.py", &[transport, url, TOKEN]).await
}

#[tokio::test]
async fn official_python_sdk_through_every_route_to_server_everything() {
    let Some(entry) = upstreams::everything_entry() else {
        return;
    };
    let http = upstreams::everything(&entry, "streamableHttp").await;
    let sse = upstreams::everything(&entry, "sse").await;
    let (_dir, gw) = gateway_with(&[
        ("everything", json!({"url": http.url})),
        ("legacy", json!({"transport": "sse", "url": sse.url})),
    ])
    .await;
    for (transport, url) in [
        ("http", format!("{}/everything/mcp", gw.url)),
        ("sse", format!("{}/legacy/sse", gw.url)),
        // A Streamable HTTP client and an SSE-only server: the gateway bridges the two.
        ("http", format!("{}/legacy/mcp", gw.url)),
    ] {
        let Some(seen) = python_client(transport, &url).await else {
            return;
        };
        assert_eq!(
            seen["server_name"], "mcp-servers/everything",
            "{url}: {seen}"
        );
        assert!(
            seen["tools"]
                .as_array()
                .unwrap()
                .contains(&json!("get-sum")),
            "{transport}"
        );
        assert_eq!(
            seen["sum_text"],
            json!(["The sum of 2 and 3 is 5."]),
            "{transport}"
        );
        assert_eq!(seen["long_run_error"], false);
        assert_eq!(
            seen["progress_count"], 4,
            "{transport}: every progress notification arrives"
        );
        assert_eq!(
            seen["first_progress_before_result"], true,
            "{transport}: progress arrives while the tool runs"
        );
        assert_eq!(seen["progress_spread_over_run"], true, "{transport}");
    }
    assert_eq!(gw.api("GET", "/health", None).await.status, 200);
}

/// A gateway whose data-plane timeouts are `first_byte` and `idle` seconds.
async fn gateway_with_timeouts(
    first_byte: u32,
    idle: u32,
    servers: &[(&str, Value)],
) -> (tempfile::TempDir, common::Gateway) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcpgw.toml");
    std::fs::write(
        &config,
        format!("[gateway]\nfirst_byte_timeout_secs = {first_byte}\nidle_timeout_secs = {idle}\n"),
    )
    .unwrap();
    let gw = Launch::new(&dir.path().join("data"))
        .env("MCPGW_HEALTH_INTERVAL", "3600")
        .args(&["--config", config.to_str().unwrap()])
        .start()
        .await;
    register_all(&gw, servers).await;
    (dir, gw)
}

#[tokio::test]
async fn silent_and_stalled_upstreams_time_out() {
    let silent = common::faults::start(common::faults::Fault::Silent).await;
    let stalled = common::faults::start(common::faults::Fault::HangOnStream).await;
    let (_dir, gw) = gateway_with_timeouts(
        1,
        1,
        &[
            ("silent", json!({"url": silent.url})),
            ("stalled", json!({"url": stalled.url})),
        ],
    )
    .await;
    let list = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"});

    let response = post(&gw, "silent", &[], &list).await;
    assert_eq!(response.status(), 504);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], 7);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not answer within 1s"),
        "{body}"
    );

    // Headers came, then nothing: the idle timeout breaks the stream instead of holding it.
    let response = post(&gw, "stalled", &[], &list).await;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut broke = false;
    while let Some(chunk) = stream.next().await {
        if chunk.is_err() {
            broke = true;
            break;
        }
    }
    assert!(broke, "a stalled stream ends with an error, not silently");
}

#[tokio::test]
async fn a_client_that_hangs_up_cancels_the_upstream_request() {
    let silent = common::faults::start(common::faults::Fault::Silent).await;
    let (_dir, gw) =
        gateway_with_timeouts(300, 300, &[("silent", json!({"url": silent.url}))]).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let gave_up = client
        .post(format!("{}/silent/mcp", gw.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string())
        .send()
        .await;
    assert!(gave_up.is_err(), "the client timed out");
    // The gateway drops its upstream request when the client goes: the upstream sees its
    // connection closed long before the gateway's own 300 s timeout.
    for _ in 0..200 {
        if silent
            .closed_by_peer
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the upstream connection stayed open after the client hung up");
}
