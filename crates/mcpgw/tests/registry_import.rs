//! Importing servers (issue 9) through the real binary and CLI: from a second mcpgw
//! started by the test (a federation round trip: the imported server is reached through
//! both gateways), then that peer as a source synchronised on an interval (a change there
//! propagates, a deletion is applied, a local edit is kept and reported); `server.json`
//! files covering remotes and each package type; and bad input (an invalid server.json,
//! an unreachable registry, a page that is not JSON, even a second page) failing with a
//! clear message and importing nothing.

mod common;

use std::time::Duration;

use common::access::token_for;
use common::{Gateway, Launch, TOKEN, http_server, upstreams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Runs `mcpgw ARGS --url GW --token TOKEN`.
async fn cli(gw: &Gateway, args: &[&str]) -> (bool, String, String) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--url", &gw.url, "--token", TOKEN]);
    common::run_cli(None, &all, &[]).await
}

/// The local servers, by path.
async fn servers(gw: &Gateway) -> Vec<Value> {
    gw.api("GET", "/api/servers", None).await.body["servers"]
        .as_array()
        .unwrap()
        .clone()
}

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

    // The peer as a source, every second: the rest arrives, weather is recognised.
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
            "1",
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

    // A deletion at the peer is applied here.
    assert_eq!(
        peer.api("DELETE", "/api/servers/clock", None).await.status,
        204
    );
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

    // The source's state: listed with its last outcome, never its token.
    let (ok, out, _) = cli(&local, &["source", "list"]).await;
    assert!(ok && out.contains("peer") && !out.contains(TOKEN), "{out}");
    let listed = local.api("GET", "/api/sources", None).await.body;
    assert_eq!(listed["sources"][0]["has_token"], true);
    assert!(!listed.to_string().contains(TOKEN));
    let (ok, _, _) = cli(&local, &["source", "remove", "peer"]).await;
    assert!(ok);
    assert_eq!(servers(&local).await.len(), 1, "what it imported stays");
}

/// A server.json with `fields` merged into the required ones.
fn entry(name: &str, fields: Value) -> Value {
    let mut server = json!({"name": name, "description": "imported in a test", "version": "1.2.3"});
    for (key, value) in fields.as_object().unwrap() {
        server[key] = value.clone();
    }
    server
}

#[tokio::test]
async fn server_json_files_cover_remotes_and_every_package_type() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(&dir.path().join("data")).start().await;
    let stdio = json!({"type": "stdio"});
    let documents = json!([
        entry(
            "io.example/remote-http",
            json!({"remotes": [{"type": "streamable-http", "url": "https://mcp.example.com/mcp",
            "headers": [{"name": "X-Api-Key", "isRequired": true, "isSecret": true}]}]})
        ),
        entry(
            "io.example/remote-sse",
            json!({"remotes": [{"type": "sse", "url": "https://mcp.example.com/sse"}]})
        ),
        entry(
            "io.example/npm-tool",
            json!({"packages": [{"registryType": "npm", "identifier": "@example/tool",
            "version": "1.2.3", "transport": stdio,
            "environmentVariables": [{"name": "TOOL_TOKEN", "isRequired": true, "isSecret": true}]}]})
        ),
        entry(
            "io.example/pypi-tool",
            json!({"packages": [{"registryType": "pypi", "identifier": "example-tool",
            "version": "1.2.3", "transport": stdio}]})
        ),
        entry(
            "io.example/oci-tool",
            json!({"packages": [{"registryType": "oci", "identifier": "ghcr.io/example/tool:1.2.3",
            "transport": stdio}]})
        ),
        entry(
            "io.example/nuget-tool",
            json!({"packages": [{"registryType": "nuget", "identifier": "Example.Tool",
            "version": "1.2.3", "transport": stdio}]})
        ),
    ]);
    let file = dir.path().join("servers.json");
    std::fs::write(&file, documents.to_string()).unwrap();

    // A dry run changes nothing.
    let (ok, out, err) = cli(
        &gw,
        &["import", "--file", file.to_str().unwrap(), "--dry-run"],
    )
    .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("would be: 6 created"), "{out}");
    assert!(servers(&gw).await.is_empty());

    let (ok, out, err) = cli(&gw, &["import", "--file", file.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("to fill in: header X-Api-Key"), "{out}");
    let by_path = |path: &str| {
        let gw = &gw;
        let path = path.to_owned();
        async move {
            gw.api("GET", &format!("/api/servers/{path}"), None)
                .await
                .body
        }
    };
    let http = by_path("remote-http").await;
    assert_eq!(
        (http["transport"].as_str(), http["url"].as_str()),
        (Some("streamable-http"), Some("https://mcp.example.com/mcp"))
    );
    assert_eq!(by_path("remote-sse").await["transport"], "sse");
    let launched = |server: &Value| {
        (
            server["command"].as_str().unwrap().to_owned(),
            server["args"].clone(),
        )
    };
    assert_eq!(
        launched(&by_path("npm-tool").await),
        ("npx".into(), json!(["-y", "@example/tool@1.2.3"]))
    );
    assert_eq!(
        launched(&by_path("pypi-tool").await),
        ("uvx".into(), json!(["example-tool==1.2.3"]))
    );
    assert_eq!(
        launched(&by_path("oci-tool").await),
        (
            "docker".into(),
            json!(["run", "-i", "--rm", "ghcr.io/example/tool:1.2.3"])
        )
    );
    assert_eq!(launched(&by_path("nuget-tool").await).0, "dnx");
    for server in servers(&gw).await {
        assert_eq!(server["enabled"], false, "{server}");
    }
    // The same through the API, as a posted document: recognised, nothing new.
    let again = gw
        .api("POST", "/api/import", Some(json!({"document": documents})))
        .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert!(
        again.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"] == "unchanged"),
        "{:?}",
        again.body
    );
    assert_eq!(servers(&gw).await.len(), 6);
}

/// A registry that answers `first` (any text) to a first page, `second` to every page
/// after (asked with a cursor).
async fn fake_registry(first: String, second: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut head = vec![0u8; 8192];
            let read = socket.read(&mut head).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&head[..read]).into_owned();
            let body = if request.contains("cursor=") {
                second.to_owned()
            } else {
                first.clone()
            };
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    url
}

#[tokio::test]
async fn bad_input_fails_clearly_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(&dir.path().join("data")).start().await;
    let remote =
        json!({"remotes": [{"type": "streamable-http", "url": "https://mcp.example.com/mcp"}]});

    // One invalid entry among valid ones: nothing is imported, the entry and field named.
    let file = dir.path().join("mixed.json");
    let mixed = json!([
        entry("io.example/good", remote.clone()),
        entry(
            "io.example/bad",
            json!({"description": "x".repeat(101), "remotes": remote["remotes"]})
        )
    ]);
    std::fs::write(&file, mixed.to_string()).unwrap();
    let (ok, _, err) = cli(&gw, &["import", "--file", file.to_str().unwrap()]).await;
    assert!(!ok);
    assert!(
        err.contains("io.example/bad") && err.contains("description"),
        "{err}"
    );
    // A file that is not JSON, and a name that is not a registry name.
    std::fs::write(&file, "<html>nope</html>").unwrap();
    let (ok, _, err) = cli(&gw, &["import", "--file", file.to_str().unwrap()]).await;
    assert!(!ok && err.contains("is not JSON"), "{err}");
    let bad_name = gw
        .api(
            "POST",
            "/api/import",
            Some(json!({"document": entry("no-slash", remote.clone())})),
        )
        .await;
    assert_eq!(bad_name.status, 422, "{:?}", bad_name.body);
    assert!(
        bad_name.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("name"),
        "{:?}",
        bad_name.body
    );

    // An unreachable registry.
    let port = upstreams::unused_port().await;
    let nowhere = format!("http://127.0.0.1:{port}");
    let (ok, _, err) = cli(&gw, &["import", "--registry", &nowhere, "--all"]).await;
    assert!(
        !ok && err.contains(&nowhere) && err.contains("HTTP 502"),
        "{err}"
    );

    // A registry whose page is not JSON, and one whose second page is not: nothing imported.
    let html = fake_registry("<!doctype html><p>maintenance</p>".into(), "").await;
    let (ok, _, err) = cli(&gw, &["import", "--registry", &html, "--all"]).await;
    assert!(!ok && err.contains("not JSON"), "{err}");
    let first = json!({"servers": [{"server": entry("io.example/good", remote.clone())}],
                       "metadata": {"count": 1, "nextCursor": "io.example/good:1.2.3"}});
    let broken = fake_registry(first.to_string(), "{\"servers\": [").await;
    let (ok, _, err) = cli(&gw, &["import", "--registry", &broken, "--all"]).await;
    assert!(!ok && err.contains("not JSON"), "{err}");
    assert!(servers(&gw).await.is_empty(), "nothing was imported");

    // Requests the API refuses: no source, two sources, no selection, not an admin.
    for (body, status) in [
        (json!({"all": true}), 422),
        (
            json!({"registry": nowhere, "document": [], "all": true}),
            422,
        ),
        (json!({"registry": nowhere}), 422),
        (json!({"document": [], "surprise": 1}), 422),
    ] {
        let reply = gw.api("POST", "/api/import", Some(body.clone())).await;
        assert_eq!(reply.status, status, "{body}: {:?}", reply.body);
    }
    let user = token_for(&gw, &["nobody"]).await;
    let (status, _) = gw.get_as("/api/sources", &user).await;
    assert_eq!(status, 403);
    // A source that cannot be read is refused when added, not stored.
    let (ok, _, err) = cli(&gw, &["source", "add", "down", &nowhere]).await;
    assert!(!ok && err.contains("HTTP 502"), "{err}");
    assert_eq!(
        gw.api("GET", "/api/sources", None).await.body["sources"],
        json!([])
    );
}

#[tokio::test]
async fn select_imports_the_chosen_entries() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(&dir.path().join("data")).start().await;
    let remote =
        json!({"remotes": [{"type": "streamable-http", "url": "https://mcp.example.com/mcp"}]});
    let file = dir.path().join("three.json");
    let three = json!([
        entry("io.example/a", remote.clone()),
        entry("io.example/b", remote.clone()),
        entry("io.example/c", remote)
    ]);
    std::fs::write(&file, three.to_string()).unwrap();
    let mut command = tokio::process::Command::new(common::binary());
    command
        .args([
            "import",
            "--file",
            file.to_str().unwrap(),
            "--select",
            "--url",
            &gw.url,
            "--token",
            TOKEN,
        ])
        .env_remove("MCPGW_URL")
        .env_remove("MCPGW_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"1,3\n")
        .await
        .unwrap();
    let output = child.wait_with_output().await.unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        out.contains("import which?") && out.contains("2 created"),
        "{out}"
    );
    let paths: Vec<String> = servers(&gw)
        .await
        .iter()
        .map(|s| s["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, ["a", "c"]);
}
