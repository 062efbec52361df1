//! TLS towards upstream servers (`[upstream_tls]`): a real MCP server (the official Python
//! SDK under uvicorn) on HTTPS with a certificate from a private CA, requiring a client
//! certificate. With the CA and a client certificate configured, the gateway checks it
//! healthy and calls it on its route and through `/mcp`; without the CA it refuses the
//! server's certificate, without a client certificate the server refuses the gateway,
//! each with the reason in the server's health and in the caller's error.

mod common;

use std::path::Path;
use std::time::Duration;

use common::certs::{Issued, TestCa};
use common::{Launch, TOKEN};
use serde_json::{Value, json};
use tokio::process::Command;

/// Starts the mutual-TLS MCP server with `server` as its certificate, trusting client
/// certificates `ca` signed; `None` when Python is not available outside CI.
async fn start_tls_server(server: &Issued, ca: &TestCa) -> Option<(tokio::process::Child, String)> {
    let python = common::python()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/tls_server.py");
    let mut command = Command::new(python);
    command
        .arg(script)
        .arg(&server.cert)
        .arg(&server.key)
        .arg(ca.cert());
    Some(common::spawn_announcing(command, "listening on ").await)
}

async fn gateway(dir: &Path, upstream_tls: &str) -> common::Gateway {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("mcpgw.toml");
    std::fs::write(&config, upstream_tls).unwrap();
    Launch::quiet(dir)
        .args(&["--config", config.to_str().unwrap()])
        .start()
        .await
}

async fn call_echo(gw: &common::Gateway, path: &str, tool: &str) -> (u16, String) {
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": tool, "arguments": {"text": "over mTLS"}, "_meta": common::stateless_meta()}});
    let response = gw
        .request("POST", path)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Registers `url` as `tls` and waits for its first health check; returns the server.
async fn register(gw: &common::Gateway, url: &str) -> Value {
    let reply = gw
        .api(
            "POST",
            "/api/servers",
            Some(common::http_server("tls", url)),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    gw.wait_for_server("tls", Duration::from_secs(30), |server| {
        server["health"]["last_checked"].is_string()
    })
    .await
}

#[tokio::test]
async fn upstreams_on_a_private_ca_with_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(&dir.path().join("pki"));
    let server_cert = ca.server("upstream");
    let client = ca.client("gateway");
    let Some((_server, url)) = start_tls_server(&server_cert, &ca).await else {
        return;
    };
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    // The CA and the client certificate: healthy, callable on both paths.
    let trusted = gateway(
        &dir.path().join("trusted"),
        &format!(
            "[upstream_tls]\nca_file = \"{}\"\nclient_cert_file = \"{}\"\nclient_key_file = \"{}\"\n",
            ca.cert().display(),
            client.cert.display(),
            client.key.display()
        ),
    )
    .await;
    let server = register(&trusted, &url).await;
    assert_eq!(server["health"]["status"], "healthy", "{server}");
    let (status, text) = call_echo(&trusted, "/tls/mcp", "echo").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("echo: over mTLS"), "{text}");
    let (status, text) = call_echo(&trusted, "/mcp", "tls__echo").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("echo: over mTLS"), "{text}");

    // The platform's roots only: the server's certificate is refused, and said so.
    let untrusting = gateway(&dir.path().join("untrusting"), "").await;
    let server = register(&untrusting, &url).await;
    assert_eq!(server["health"]["status"], "unhealthy", "{server}");
    let reason = server["health"]["reason"].to_string().to_lowercase();
    assert!(reason.contains("certificate"), "{server}");
    let (status, text) = call_echo(&untrusting, "/tls/mcp", "echo").await;
    assert_eq!(status, 502, "{text}");

    // The CA without a client certificate: the server refuses the gateway.
    let anonymous = gateway(
        &dir.path().join("anonymous"),
        &format!("[upstream_tls]\nca_file = \"{}\"\n", ca.cert().display()),
    )
    .await;
    let server = register(&anonymous, &url).await;
    assert_eq!(server["health"]["status"], "unhealthy", "{server}");
    let (status, text) = call_echo(&anonymous, "/tls/mcp", "echo").await;
    assert_eq!(status, 502, "{text}");
}

#[tokio::test]
async fn unusable_upstream_tls_files_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(&dir.path().join("pki"));
    let client = ca.client("gateway");
    let other = ca.client("other");
    for (config, expected) in [
        (
            "[upstream_tls]\nca_file = \"missing-ca.pem\"\n".to_owned(),
            "cannot read the upstream CA certificates from",
        ),
        (
            format!(
                "[upstream_tls]\nclient_cert_file = \"{}\"\n",
                client.cert.display()
            ),
            "needs both client_cert_file and client_key_file",
        ),
        (
            format!(
                "[upstream_tls]\nclient_cert_file = \"{}\"\nclient_key_file = \"{}\"\n",
                client.cert.display(),
                other.key.display()
            ),
            "the upstream TLS settings cannot be used",
        ),
    ] {
        let stderr = common::start_refused(dir.path(), &config).await;
        assert!(stderr.contains(expected), "{config}: {stderr}");
    }
}
