//! Health checks and tool discovery against real MCP servers (the example servers over
//! HTTP and stdio, the official server-everything over Streamable HTTP, legacy SSE and
//! stdio) and against servers that are down, hang, answer garbage, fail or want auth.

mod common;

use std::time::Duration;

use common::faults::{self, Fault};
use common::{Launch, upstreams};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

fn checked(server: &Value) -> bool {
    server["health"]["status"] != "unknown"
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
