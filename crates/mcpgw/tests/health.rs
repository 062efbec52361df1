//! Health checks and tool discovery against real MCP servers (the example servers over
//! HTTP and stdio, the official server-everything over Streamable HTTP, legacy SSE and
//! stdio) and against servers that are down, hang, answer garbage, fail or want auth.

mod common;

use std::time::Duration;

use common::faults::{self, Fault};
use common::hostile::{self, Reply};
use common::{Gateway, Launch, upstreams};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

fn checked(server: &Value) -> bool {
    server["health"]["status"] != "unknown"
}

fn reason(server: &Value) -> String {
    server["health"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A gateway that checks each server once, when it is registered, within `timeout` seconds.
async fn checking_once(dir: &std::path::Path, timeout: &str) -> Gateway {
    Launch::new(dir)
        .args(&["--health-interval", "3600", "--health-timeout", timeout])
        .start()
        .await
}

/// Registers `fields` as server `path` and waits for its first check.
async fn register_and_check(gw: &Gateway, path: &str, fields: Value) -> Value {
    let mut body = fields;
    body["path"] = json!(path);
    let reply = gw.api("POST", "/api/servers", Some(body)).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    gw.wait_for_server(path, WAIT, checked).await
}

fn tool_names(server: &Value) -> Vec<String> {
    server["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn demo_servers_are_registered_and_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::new(dir.path()).args(&["--demo"]).start().await;
    for path in ["currenttime", "toolbox", "toolbox-stdio"] {
        let server = gw
            .wait_for_server(path, WAIT, |s| s["health"]["status"] == "healthy")
            .await;
        assert_eq!(server["tags"], json!(["demo"]));
        assert_eq!(
            server["health"]["era"], "stateless",
            "{path} speaks 2026-07-28"
        );
        assert_eq!(server["health"]["protocol_version"], "2026-07-28");
    }
    let time = gw
        .api("GET", "/api/servers/currenttime/tools", None)
        .await
        .body;
    let tool = &time["tools"][0];
    assert_eq!(tool["name"], "current_time_by_timezone");
    assert_eq!(
        tool["inputSchema"]["properties"]["tz_name"]["type"],
        "string"
    );
    let toolbox = gw.api("GET", "/api/servers/toolbox", None).await.body;
    assert!(toolbox["num_tools"].as_u64().unwrap() >= 10, "{toolbox}");
    assert!(tool_names(&toolbox).contains(&"countdown".to_owned()));
    let stdio = gw.api("GET", "/api/servers/toolbox-stdio", None).await.body;
    assert_eq!(stdio["transport"], "stdio");
    assert_eq!(tool_names(&stdio), tool_names(&toolbox));

    let health = gw.api("GET", "/health", None).await.body;
    assert_eq!(health["servers"]["healthy"], 3, "{health}");
}

#[tokio::test]
async fn each_era_and_transport_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::new(dir.path()).start().await;
    let stateful = upstreams::example("toolbox", false).await;
    let stateless = upstreams::example("currenttime", true).await;
    gw.api(
        "POST",
        "/api/servers",
        Some(json!({"path": "stateful", "url": stateful.url})),
    )
    .await;
    gw.api(
        "POST",
        "/api/servers",
        Some(json!({"path": "stateless", "url": stateless.url})),
    )
    .await;
    let stdio = json!({"path": "stdio", "command": common::binary(), "args": ["example-server", "currenttime", "--stdio"]});
    assert_eq!(
        gw.api("POST", "/api/servers", Some(stdio)).await.status,
        201
    );
    for path in ["stateful", "stateless", "stdio"] {
        let server = gw.wait_for_server(path, WAIT, checked).await;
        assert_eq!(server["health"]["status"], "healthy", "{server}");
        assert!(server["num_tools"].as_u64().unwrap() >= 1);
        assert!(server["server_info"]["name"].is_string(), "{server}");
    }
}

#[tokio::test]
async fn real_third_party_server_in_every_transport() {
    let Some(entry) = upstreams::everything_entry() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::new(dir.path())
        .args(&["--health-timeout", "10"])
        .start()
        .await;
    let http = upstreams::everything(&entry, "streamableHttp").await;
    let sse = upstreams::everything(&entry, "sse").await;
    let bodies = [
        json!({"path": "everything", "url": http.url}),
        json!({"path": "everything-sse", "transport": "sse", "url": sse.url}),
        json!({"path": "everything-stdio", "command": "node", "args": [entry, "stdio"]}),
        // A legacy SSE server registered as streamable-http is found by the spec's fallback.
        json!({"path": "everything-fallback", "url": sse.url}),
    ];
    for body in bodies {
        assert_eq!(
            gw.api("POST", "/api/servers", Some(body.clone()))
                .await
                .status,
            201,
            "{body}"
        );
    }
    let expectations = [
        ("everything", "stateful"),
        ("everything-sse", "legacy-sse"),
        ("everything-stdio", "stateful"),
        ("everything-fallback", "legacy-sse"),
    ];
    for (path, era) in expectations {
        let server = gw.wait_for_server(path, WAIT, checked).await;
        assert_eq!(server["health"]["status"], "healthy", "{path}: {server}");
        assert_eq!(server["health"]["era"], era, "{path}");
        let names = tool_names(&server);
        assert!(names.contains(&"echo".to_owned()), "{path}: {names:?}");
        assert!(server["tools"][0]["inputSchema"].is_object());
    }
}

#[tokio::test]
async fn broken_servers_get_precise_reasons_without_stalling_the_checker() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::new(dir.path())
        .args(&["--health-timeout", "2"])
        .start()
        .await;
    let hang = faults::start(Fault::HangOnStream).await;
    let garbage = faults::start(Fault::Garbage).await;
    let unavailable = faults::start(Fault::Unavailable).await;
    let unauthorized = faults::start(Fault::Unauthorized).await;
    let down = faults::down_url().await;
    let healthy = upstreams::example("currenttime", false).await;
    let servers = [
        ("hang", json!({"url": hang.url})),
        ("hang-sse", json!({"url": hang.url, "transport": "sse"})),
        ("garbage", json!({"url": garbage.url})),
        ("unavailable", json!({"url": unavailable.url})),
        ("unauthorized", json!({"url": unauthorized.url})),
        ("down", json!({"url": down})),
        (
            "no-such-program",
            json!({"command": "/nonexistent/mcp-server"}),
        ),
        (
            "exits",
            json!({"command": "sh", "args": ["-c", "echo boom >&2; exit 3"]}),
        ),
        ("healthy", json!({"url": healthy.url})),
    ];
    for (path, fields) in &servers {
        let mut body = fields.clone();
        body["path"] = json!(path);
        assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    }
    let reason = |server: &Value| {
        server["health"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    for path in ["hang", "hang-sse"] {
        let server = gw.wait_for_server(path, WAIT, checked).await;
        assert_eq!(server["health"]["status"], "unhealthy");
        assert_eq!(reason(&server), "timeout after 2s", "{path}");
    }
    let garbage = gw.wait_for_server("garbage", WAIT, checked).await;
    assert!(reason(&garbage).starts_with("protocol error"), "{garbage}");
    let unavailable = gw.wait_for_server("unavailable", WAIT, checked).await;
    assert!(
        reason(&unavailable).starts_with("HTTP 503"),
        "{unavailable}"
    );
    let unauthorized = gw.wait_for_server("unauthorized", WAIT, checked).await;
    assert_eq!(unauthorized["health"]["status"], "auth-required");
    let down = gw.wait_for_server("down", WAIT, checked).await;
    assert_eq!(reason(&down), "connection refused");
    let missing = gw.wait_for_server("no-such-program", WAIT, checked).await;
    assert!(
        reason(&missing).starts_with("cannot start process"),
        "{missing}"
    );
    let exits = gw.wait_for_server("exits", WAIT, checked).await;
    assert!(reason(&exits).contains("boom"), "{exits}");

    // Rounds keep coming although one server hangs on an open stream every time.
    let first = gw
        .wait_for_server("healthy", WAIT, |s| s["health"]["status"] == "healthy")
        .await;
    let stamp = first["health"]["last_checked"].clone();
    gw.wait_for_server("healthy", WAIT, |s| s["health"]["last_checked"] != stamp)
        .await;

    // A refresh of the hanging server answers within its timeout.
    let refreshed = gw.api("POST", "/api/servers/hang/refresh", None).await;
    assert_eq!(refreshed.status, 200);
    assert_eq!(reason(&refreshed.body), "timeout after 2s");

    let health = gw.api("GET", "/health", None).await.body;
    assert_eq!(health["servers"]["auth_required"], 1, "{health}");
    assert_eq!(health["servers"]["healthy"], 1, "{health}");
}

#[tokio::test]
async fn refresh_updates_the_tool_list_only_when_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    // A long interval: only the registration check and explicit refreshes run.
    let gw = Launch::new(dir.path())
        .args(&["--health-interval", "3600"])
        .start()
        .await;
    let time = upstreams::example("currenttime", false).await;
    let toolbox = upstreams::example("toolbox", false).await;
    gw.api(
        "POST",
        "/api/servers",
        Some(json!({"path": "svc", "url": time.url})),
    )
    .await;
    let first = gw
        .wait_for_server("svc", WAIT, |s| s["num_tools"] == 1)
        .await;
    let stamp = first["tools_updated_at"].clone();
    assert!(stamp.is_string());

    let again = gw.api("POST", "/api/servers/svc/refresh", None).await.body;
    assert_eq!(
        again["tools_updated_at"], stamp,
        "same tools: no change recorded"
    );
    assert_ne!(
        again["health"]["last_checked"],
        first["health"]["last_checked"]
    );

    gw.api("PUT", "/api/servers/svc", Some(json!({"url": toolbox.url})))
        .await;
    let refreshed = gw.api("POST", "/api/servers/svc/refresh", None).await.body;
    assert!(
        refreshed["num_tools"].as_u64().unwrap() >= 10,
        "{refreshed}"
    );
    assert_ne!(refreshed["tools_updated_at"], stamp);

    // A failed check keeps the last known tools.
    drop(toolbox);
    let failed = gw.api("POST", "/api/servers/svc/refresh", None).await.body;
    assert_eq!(failed["health"]["status"], "unhealthy");
    assert_eq!(failed["num_tools"], refreshed["num_tools"]);
}

#[tokio::test]
async fn stdio_servers_do_not_inherit_the_gateways_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let gw = checking_once(dir.path(), "10").await;
    let server = register_and_check(
        &gw,
        "leaky",
        json!({"command": "sh", "args": ["-c", "echo token=$MCPGW_ADMIN_TOKEN >&2; exit 1"]}),
    )
    .await;
    let reason = reason(&server);
    assert!(reason.contains("process exited"), "{reason}");
    assert!(reason.contains("token="), "{reason}");
    assert!(
        !reason.contains(common::TOKEN),
        "the admin token leaked: {reason}"
    );
}

#[tokio::test]
async fn endless_upstream_bodies_are_refused_not_buffered() {
    let dir = tempfile::tempdir().unwrap();
    // A generous deadline: the verdict must come from the size limits, not the clock.
    let gw = checking_once(dir.path(), "30").await;
    let json_body = hostile::start(|_| Reply::endless_json()).await;
    let event = hostile::start(|_| Reply::endless_event()).await;
    let error = hostile::start(|_| Reply::endless_error(500)).await;

    let server = register_and_check(&gw, "endless-json", json!({"url": json_body.url})).await;
    assert_eq!(reason(&server), "protocol error: response body too large");

    // Only the start of an error body is read, and it still makes the detail.
    let server = register_and_check(&gw, "endless-error", json!({"url": error.url})).await;
    assert_eq!(reason(&server), format!("HTTP 500: {}", "x".repeat(200)));

    let too_large = "protocol error: server-sent event larger than 16777216 bytes";
    let server = register_and_check(&gw, "endless-event", json!({"url": event.url})).await;
    assert_eq!(reason(&server), too_large);
    let server = register_and_check(
        &gw,
        "endless-legacy",
        json!({"url": event.url, "transport": "sse"}),
    )
    .await;
    assert_eq!(reason(&server), too_large);
}

#[tokio::test]
async fn redirects_are_reported_and_never_followed_with_the_secret_headers() {
    let dir = tempfile::tempdir().unwrap();
    let gw = checking_once(dir.path(), "10").await;
    let elsewhere = hostile::start(|_| Reply::json(200, &json!({}))).await;
    let target = elsewhere.url.clone();
    let moved = hostile::start(move |_| Reply::empty(307).with_header("location", &target)).await;
    let server = register_and_check(
        &gw,
        "moved",
        json!({"url": moved.url, "headers": {"X-Api-Key": "secret-key-123"}}),
    )
    .await;
    assert_eq!(
        reason(&server),
        format!(
            "HTTP 307: redirected to {}; register that URL",
            elsewhere.url
        )
    );
    assert!(!moved.requests().is_empty());
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere.requests()
    );
}

#[tokio::test]
async fn a_modern_server_refusing_our_version_over_http_is_not_probed_as_legacy() {
    let dir = tempfile::tempdir().unwrap();
    let gw = checking_once(dir.path(), "10").await;
    let unsupported = json!({
        "jsonrpc": "2.0",
        "id": 1,
        "error": {
            "code": -32022,
            "message": "Unsupported protocol version",
            "data": {"supported": ["2099-01-01"], "requested": "2026-07-28"}
        }
    });
    let modern = hostile::start(move |_| Reply::json(400, &unsupported)).await;
    let server = register_and_check(&gw, "future", json!({"url": modern.url})).await;
    assert_eq!(
        reason(&server),
        r#"protocol error: server speaks only protocol versions ["2099-01-01"]"#
    );
    for request in modern.requests() {
        assert_eq!(request.method, "POST");
        assert_eq!(request.rpc_method().as_deref(), Some("server/discover"));
    }
}

#[tokio::test]
async fn a_stateful_session_carries_its_version_and_is_closed_when_the_handshake_fails() {
    let dir = tempfile::tempdir().unwrap();
    let gw = checking_once(dir.path(), "10").await;
    let stateful = hostile::start(|request| {
        let id = request.json()["id"].clone();
        match (request.method.as_str(), request.rpc_method().as_deref()) {
            ("POST", Some("server/discover")) => Reply::json(
                400,
                &json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32000, "message": "No valid session ID"}}),
            ),
            ("POST", Some("initialize")) => Reply::json(
                200,
                &json!({"jsonrpc": "2.0", "id": id, "result": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "flaky", "version": "1"}
                }}),
            )
            .with_header("mcp-session-id", "session-1"),
            ("POST", Some("notifications/initialized")) => Reply::empty(500),
            ("DELETE", _) => Reply::empty(200),
            _ => Reply::empty(404),
        }
    })
    .await;
    let server = register_and_check(&gw, "flaky", json!({"url": stateful.url})).await;
    assert!(reason(&server).starts_with("HTTP 500"), "{server}");

    let requests = stateful.requests();
    let initialized = requests
        .iter()
        .find(|r| r.rpc_method().as_deref() == Some("notifications/initialized"))
        .expect("notifications/initialized was sent");
    assert_eq!(initialized.header("mcp-session-id"), Some("session-1"));
    assert_eq!(
        initialized.header("mcp-protocol-version"),
        Some("2025-06-18")
    );
    // The session is ended in the background, after the verdict.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let deleted = loop {
        let deletes: Vec<_> = stateful
            .requests()
            .into_iter()
            .filter(|r| r.method == "DELETE")
            .collect();
        if !deletes.is_empty() || tokio::time::Instant::now() > deadline {
            break deletes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(deleted.len(), 1, "the session was not closed");
    assert_eq!(deleted[0].header("mcp-session-id"), Some("session-1"));
}

#[tokio::test]
async fn a_stdio_server_keeps_running_when_its_stderr_is_not_text() {
    let dir = tempfile::tempdir().unwrap();
    let gw = checking_once(dir.path(), "20").await;
    // Invalid UTF-8, then far more than a pipe holds, then the real server.
    let script = r#"printf '\377\376 not text\n' >&2
i=0
while [ $i -lt 2000 ]; do
  echo "................................................................................................" >&2
  i=$((i+1))
done
exec "$0" example-server toolbox --stdio"#;
    let server = register_and_check(
        &gw,
        "noisy",
        json!({"command": "sh", "args": ["-c", script, common::binary()]}),
    )
    .await;
    assert_eq!(server["health"]["status"], "healthy", "{server}");
    assert!(tool_names(&server).contains(&"countdown".to_owned()));
}

#[tokio::test]
async fn a_stdio_server_that_times_out_leaves_no_process_behind() {
    let dir = tempfile::tempdir().unwrap();
    let gw = checking_once(dir.path(), "1").await;
    // The shell assembles the marker, so only the two `sleep` processes carry it.
    let suffix = format!("{}77", std::process::id());
    let marker = format!("600.{suffix}");
    let server = register_and_check(
        &gw,
        "hangs",
        json!({
            "command": "sh",
            "args": ["-c", "sleep 600.$0 & echo started >&2; sleep 600.$0", suffix],
        }),
    )
    .await;
    assert_eq!(reason(&server), "timeout after 1s");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !hostile::processes_with(&marker).is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let survivors = hostile::processes_with(&marker);
    hostile::kill_all(&survivors);
    assert!(survivors.is_empty(), "orphaned processes: {survivors:?}");
}
