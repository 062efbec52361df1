//! Importing servers from a second mcpgw started by the test (issue 9), through the real
//! binary and CLI: a federation round trip (the imported server is reached through both
//! gateways), then that peer as a source synchronised on an interval (a change there
//! propagates, a deletion is applied, a local edit is kept and reported, a server removed
//! here stays removed), and federation the other way not importing imports back. Files
//! and bad input: `registry_import_files.rs`.

mod common;

use std::time::Duration;

use common::registry::{cli, servers};
use common::{Gateway, Launch, TOKEN, http_server, upstreams};
use serde_json::{Value, json};

/// Polls `path` on `gw` until `done` holds (or it is gone, when `done` accepts `Null`).
async fn wait_for(gw: &Gateway, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let reply = gw.api("GET", &format!("/api/servers/{path}"), None).await;
        let body = if reply.status == 404 {
            Value::Null
        } else {
            reply.body
        };
        if done(&body) {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn import_from_a_second_mcpgw_then_federate_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Launch::quiet(&dir.path().join("peer")).start().await;
    let local = Launch::quiet(&dir.path().join("local")).start().await;
    let toolbox = upstreams::example("toolbox", true).await;
    let mut weather = http_server("weather", &toolbox.url);
    weather["version"] = json!("1.0.0");
    peer.register_healthy(weather).await;
    let clock = json!({"path": "clock", "command": "npx", "enabled": false,
                       "args": ["-y", "@modelcontextprotocol/server-everything@2025.11.25"]});
    assert_eq!(
        peer.api("POST", "/api/servers", Some(clock)).await.status,
        201
    );
    let mut gone = http_server("gone", "http://127.0.0.1:9/mcp");
    gone["enabled"] = json!(false);
    assert_eq!(
        peer.api("POST", "/api/servers", Some(gone)).await.status,
        201
    );

    // Import one server by name from the peer's /v0.1.
    let args = [
        "import",
        "--registry",
        &peer.url,
        "--registry-token",
        TOKEN,
        "--name",
        "io.mcpgateway/weather",
    ];
    let (ok, out, err) = cli(&local, &args).await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("created") && out.contains("start disabled"),
        "{out}"
    );
    // The peer declares the credential it wants; the report says to fill it in.
    assert!(out.contains("to fill in: header Authorization"), "{out}");
    let imported = local.api("GET", "/api/servers/weather", None).await.body;
    assert_eq!(imported["enabled"], false, "imports start disabled");
    assert_eq!(
        imported["url"],
        format!("{}/weather/mcp", peer.url),
        "through the peer gateway"
    );
    assert_eq!(imported["version"], "1.0.0");
    // With the peer's credential filled in and enabled here, it is reached through both
    // gateways.
    let fill = json!({"enabled": true, "headers": {"Authorization": format!("Bearer {TOKEN}")}});
    assert_eq!(
        local
            .api("PATCH", "/api/servers/weather", Some(fill))
            .await
            .status,
        200
    );
    let healthy = wait_for(&local, "weather", "healthy through the peer", |s| {
        s["health"]["status"] == "healthy"
    })
    .await;
    assert!(!healthy["tools"].as_array().unwrap().is_empty());
    // Importing again changes nothing and duplicates nothing.
    let (ok, out, _) = cli(&local, &args).await;
    assert!(ok && out.contains("unchanged"), "{out}");
    assert_eq!(servers(&local).await.len(), 1);

    // The peer as a source, every ten seconds (the shortest interval): the rest arrives,
    // weather is recognised.
    let (ok, out, err) = cli(
        &local,
        &[
            "source",
            "add",
            "peer",
            &peer.url,
            "--registry-token",
            TOKEN,
            "--interval",
            "10",
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    let paths: Vec<String> = servers(&local)
        .await
        .iter()
        .map(|s| s["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, ["clock", "gone", "weather"]);
    // The peer publishes its stdio server with the peer's remotes and the npm package;
    // the remote wins (nothing to install here: the peer runs it).
    let clock = local.api("GET", "/api/servers/clock", None).await.body;
    assert_eq!(clock["url"], format!("{}/clock/mcp", peer.url));
    assert_eq!(clock["transport"], "streamable-http");

    // A change at the peer propagates at the next synchronisation.
    let edit = json!({"description": "forecasts, now with rain"});
    assert_eq!(
        peer.api("PATCH", "/api/servers/weather", Some(edit))
            .await
            .status,
        200
    );
    wait_for(&local, "weather", "the peer's change", |s| {
        s["description"] == "forecasts, now with rain"
    })
    .await;
    assert_eq!(
        local.api("GET", "/api/servers/weather", None).await.body["enabled"],
        true,
        "still enabled here"
    );

    // A local edit is never overwritten: the peer's change is reported as a conflict.
    let mine = json!({"description": "edited here"});
    assert_eq!(
        local
            .api("PATCH", "/api/servers/gone", Some(mine))
            .await
            .status,
        200
    );
    let theirs = json!({"description": "edited there"});
    assert_eq!(
        peer.api("PATCH", "/api/servers/gone", Some(theirs))
            .await
            .status,
        200
    );
    let (ok, out, _) = cli(&local, &["source", "sync", "peer", "--json"]).await;
    assert!(ok, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let conflict = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "io.mcpgateway/gone")
        .unwrap();
    assert_eq!(conflict["action"], "conflict", "{report}");
    assert_eq!(
        local.api("GET", "/api/servers/gone", None).await.body["description"],
        "edited here"
    );

    // A deletion at the peer is applied here (at a synchronisation asked for now).
    assert_eq!(
        peer.api("DELETE", "/api/servers/clock", None).await.status,
        204
    );
    let (ok, out, _) = cli(&local, &["source", "sync", "peer"]).await;
    assert!(ok && out.contains("removed"), "{out}");
    wait_for(&local, "clock", "the peer's deletion", Value::is_null).await;
    // A server removed here is not brought back by the next synchronisations.
    assert_eq!(
        local
            .api("DELETE", "/api/servers/weather", None)
            .await
            .status,
        204
    );
    let (ok, out, _) = cli(&local, &["source", "sync", "peer", "--json"]).await;
    assert!(ok, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let weather = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "io.mcpgateway/weather")
        .unwrap();
    assert_eq!(weather["action"], "skipped", "{report}");
    assert_eq!(
        local.api("GET", "/api/servers/weather", None).await.status,
        404
    );

    // Federating the other way does not import imports back (that would never end): the
    // peer takes the server registered here, not the one this gateway imported from it.
    let mut own = http_server("localonly", "http://127.0.0.1:9/mcp");
    own["enabled"] = json!(false);
    assert_eq!(
        local.api("POST", "/api/servers", Some(own)).await.status,
        201
    );
    let (ok, out, err) = cli(
        &peer,
        &[
            "source",
            "add",
            "back",
            &local.url,
            "--registry-token",
            TOKEN,
            "--json",
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let action = |name: &str| {
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap()["action"]
            .clone()
    };
    assert_eq!(action("io.mcpgateway/localonly"), "created", "{report}");
    assert_eq!(action("io.mcpgateway/gone"), "skipped", "{report}");

    // The source's state: listed with its last outcome, never its token.
    let (ok, out, _) = cli(&local, &["source", "list"]).await;
    assert!(ok && out.contains("peer") && !out.contains(TOKEN), "{out}");
    let listed = local.api("GET", "/api/sources", None).await.body;
    assert_eq!(listed["sources"][0]["has_token"], true);
    assert!(!listed.to_string().contains(TOKEN));
    let (ok, _, _) = cli(&local, &["source", "remove", "peer"]).await;
    assert!(ok);
    let left: Vec<Value> = servers(&local)
        .await
        .iter()
        .map(|s| s["path"].clone())
        .collect();
    assert_eq!(left, ["gone", "localonly"], "what it imported stays");
}
