//! `mcpgw client-config` and `POST /api/client-config` (issue 11): configurations for
//! each client, for the aggregated `/mcp` or one server, with a token minted for them or
//! none (OAuth discovery). The Python SDK program it prints is run with the official SDK
//! and lists the server's tools through the gateway; the VS Code file's token works.

mod common;

use common::{Launch, http_server, python, upstreams};
use serde_json::{Value, json};

#[tokio::test]
async fn configurations_work_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(&dir.path().join("data")).start().await;
    let clock = upstreams::example("currenttime", true).await;
    gw.register_healthy(http_server("clock", &clock.url)).await;

    // VS Code, for one server: the file parses and its token authenticates.
    let (ok, stdout, stderr) = gw
        .cli(&[
            "client-config",
            "--for",
            "vscode",
            "--server",
            "clock",
            "--admin",
        ])
        .await;
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(".vscode/mcp.json") && stderr.contains("new token"),
        "{stderr}"
    );
    let file: Value = serde_json::from_str(&stdout).unwrap();
    let server = &file["servers"]["mcpgw-clock"];
    assert_eq!(server["type"], "http");
    assert_eq!(server["url"], format!("{}/clock/mcp", gw.url));
    let bearer = server["headers"]["Authorization"].as_str().unwrap();
    let token = bearer.strip_prefix("Bearer ").unwrap();
    let (status, me) = gw.get_as("/api/auth/me", token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["auth_method"]["kind"], "gateway_token", "{me}");

    // Without a token: nothing minted, no credential in the file.
    let before = gw.api("GET", "/api/tokens", None).await.body["count"].clone();
    let (ok, stdout, stderr) = gw
        .cli(&["client-config", "--for", "cursor", "--oauth"])
        .await;
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("new token"), "{stderr}");
    let file: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        file["mcpServers"]["mcpgw"],
        json!({"url": format!("{}/mcp", gw.url)})
    );
    assert_eq!(
        gw.api("GET", "/api/tokens", None).await.body["count"],
        before
    );
    let (ok, stdout, _) = gw
        .cli(&["client-config", "--for", "claude-code", "--oauth"])
        .await;
    assert!(ok);
    assert_eq!(
        stdout,
        format!("claude mcp add --transport http mcpgw {}/mcp\n", gw.url)
    );

    // What cannot be: an SDK program without a token, an unknown server or client.
    let (ok, _, stderr) = gw
        .cli(&["client-config", "--for", "python", "--oauth"])
        .await;
    assert!(!ok && stderr.contains("needs a token"), "{stderr}");
    let (ok, _, stderr) = gw
        .cli(&["client-config", "--for", "json", "--server", "nowhere"])
        .await;
    assert!(!ok && stderr.contains("not found"), "{stderr}");
    let unknown = gw
        .api(
            "POST",
            "/api/client-config",
            Some(json!({"client": "emacs"})),
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(
        unknown.body.to_string().contains("vscode"),
        "{:?}",
        unknown.body
    );
    let anonymous = gw
        .request("POST", "/api/client-config")
        .json(&json!({"client": "vscode"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // The Python SDK program, run as printed, lists the server's tools.
    let Some(python) = python() else {
        return;
    };
    let (ok, program, stderr) = gw
        .cli(&[
            "client-config",
            "--for",
            "python",
            "--server",
            "clock",
            "--admin",
        ])
        .await;
    assert!(ok, "{stderr}");
    let script = dir.path().join("list_tools.py");
    std::fs::write(&script, program).unwrap();
    let output = tokio::process::Command::new(python)
        .arg(&script)
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(printed.trim(), "current_time_by_timezone");
}
