//! DNS rebinding and cross-site requests, the way a malicious page's browser would send
//! them: an `Origin` of another site, or a `Host` naming the attacker's domain (re-pointed
//! at the gateway's address), on the MCP endpoints, including the same-origin event
//! stream a page opens without any `Origin`. Pages of this machine and configured
//! origins are let through; the API's cookie sessions stay protected by their CSRF rules.

mod common;

use common::{Launch, TOKEN};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn initialize() -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    .to_string()
}

/// POSTs an `initialize` to `path` with extra `headers`; returns status and body.
async fn post(gw: &common::Gateway, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = gw
        .request("POST", path)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(initialize());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Sends a raw HTTP/1.1 request with exactly the given `Host`; returns the status line.
async fn raw_get(gw: &common::Gateway, path: &str, host: &str) -> String {
    let address = gw.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Accept: text/event-stream\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = vec![0u8; 512];
    let count = stream.read(&mut head).await.unwrap();
    String::from_utf8_lossy(&head[..count])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn pages_of_other_sites_and_rebound_names_cannot_use_the_mcp_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = common::upstreams::example("toolbox", false).await;
    let gw = Launch::quiet(dir.path()).start().await;
    gw.register_healthy(common::http_server("box", &upstream.url))
        .await;
    let port = gw.url.rsplit(':').next().unwrap().to_owned();

    // A page of another site.
    for path in ["/mcp", "/box/mcp", "/mcpgw/mcp"] {
        let (status, body) = post(&gw, path, &[("origin", "https://evil.example")]).await;
        assert_eq!(status, 403, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("origin https://evil.example may not use"),
            "{message}"
        );
        assert!(message.contains("allowed_origins"), "{message}");
    }
    // The rebound page's own origin, and `null` (a sandboxed frame), are no better.
    let rebound_origin = format!("http://evil.example:{port}");
    let (status, _) = post(&gw, "/box/mcp", &[("origin", &rebound_origin)]).await;
    assert_eq!(status, 403);
    let (status, _) = post(&gw, "/box/mcp", &[("origin", "null")]).await;
    assert_eq!(status, 403);

    // A name re-pointed at the gateway: refused on every MCP endpoint, also on the GET
    // stream a same-origin page opens without an `Origin`.
    let rebound_host = format!("evil.example:{port}");
    let (status, body) = post(&gw, "/box/mcp", &[("host", &rebound_host)]).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowed_hosts")
    );
    assert!(raw_get(&gw, "/sse", &rebound_host).await.contains(" 403 "));
    assert!(
        raw_get(&gw, "/box/sse", &rebound_host)
            .await
            .contains(" 403 ")
    );

    // Clients that are not browsers, and pages of this machine, are served.
    assert_eq!(post(&gw, "/box/mcp", &[]).await.0, 200);
    let local_page = [("origin", "http://localhost:5173")];
    assert_eq!(post(&gw, "/box/mcp", &local_page).await.0, 200);
    let loopback_name = format!("localhost:{port}");
    assert_eq!(
        post(&gw, "/box/mcp", &[("host", &loopback_name)]).await.0,
        200
    );
    assert!(
        raw_get(&gw, "/livez", &rebound_host)
            .await
            .contains(" 200 "),
        "the API is not an MCP endpoint"
    );

    // The API keeps its own rule: a bearer token from a script is fine from anywhere.
    let listed = gw
        .request("GET", "/api/servers")
        .bearer_auth(TOKEN)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
}

#[tokio::test]
async fn configured_origins_and_hosts_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = common::upstreams::example("toolbox", false).await;
    let config = dir.path().join("mcpgw.toml");
    std::fs::write(
        &config,
        "public_url = \"https://mcp.example.com\"\n\n\
         [server]\nallowed_origins = [\"https://app.example.com\"]\n\
         allowed_hosts = [\"mcpgw.internal\"]\n",
    )
    .unwrap();
    let gw = Launch::quiet(dir.path())
        .args(&["--config", config.to_str().unwrap()])
        .start()
        .await;
    gw.register_healthy(common::http_server("box", &upstream.url))
        .await;
    for headers in [
        vec![("origin", "https://app.example.com")],
        vec![("origin", "https://mcp.example.com")],
        vec![("host", "mcp.example.com")],
        vec![("host", "mcpgw.internal:7860")],
    ] {
        let (status, body) = post(&gw, "/box/mcp", &headers).await;
        assert_eq!(status, 200, "{headers:?}: {body}");
    }
    let (status, _) = post(&gw, "/box/mcp", &[("origin", "https://other.example.com")]).await;
    assert_eq!(status, 403);
    let (status, _) = post(&gw, "/box/mcp", &[("host", "other.example.com")]).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_bad_allowed_origin_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = common::start_refused(
        dir.path(),
        "[server]\nallowed_origins = [\"app.example.com\"]\n",
    )
    .await;
    assert!(
        stderr.contains("\"app.example.com\" is not an origin"),
        "{stderr}"
    );
}
