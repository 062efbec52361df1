//! Importing `server.json` files and lists (issue 9) through the real binary and CLI:
//! remotes and each package type, re-imports that update without overwriting local edits
//! or carrying secrets to a new destination, `--select`, and bad input (an invalid
//! server.json, an unreachable registry, a page that is not JSON, even a second page)
//! failing with a clear message and importing nothing.

mod common;

use common::access::token_for;
use common::registry::{cli, entry, servers};
use common::{Launch, TOKEN, upstreams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn server_json_files_cover_remotes_and_every_package_type() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(&dir.path().join("data")).start().await;
    let stdio = json!({"type": "stdio"});
    let documents = json!([
        entry(
            "io.example/remote-http",
            json!({"remotes": [{"type": "streamable-http", "url": "https://mcp.example.com/mcp",
            "headers": [{"name": "X-Api-Key", "isRequired": true, "isSecret": true}]}],
            "repository": {"url": "https://github.com/example/remote-http", "source": "github"},
            "websiteUrl": "https://example.com/remote-http"})
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
    // Published again by this gateway with its links, and where it came from.
    let schemas = common::registry_schema::RegistrySchemas::load();
    let (status, published) = gw
        .get_as(
            "/v0.1/servers/io.mcpgateway%2Fremote-http/versions/latest",
            TOKEN,
        )
        .await;
    assert_eq!(status, 200, "{published}");
    schemas.check_server_response(&published);
    schemas.check_server_json(&published["server"]);
    assert_eq!(
        published["server"]["repository"],
        json!({"url": "https://github.com/example/remote-http", "source": "github"})
    );
    assert_eq!(
        published["server"]["websiteUrl"],
        "https://example.com/remote-http"
    );
    assert_eq!(
        published["_meta"]["io.mcpgw/gateway"]["importedFrom"],
        json!({"source": "file", "name": "io.example/remote-http", "version": "1.2.3"})
    );
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

#[tokio::test]
async fn reimports_update_but_never_carry_secrets_to_a_new_destination() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(&dir.path().join("data")).start().await;
    let document = |url: &str, description: &str| {
        entry(
            "io.example/api",
            json!({"description": description, "remotes": [{"type": "streamable-http", "url": url,
                   "headers": [{"name": "X-Api-Key", "isRequired": true, "isSecret": true}]}]}),
        )
    };
    let import = |body: Value| {
        let gw = &gw;
        async move { gw.api("POST", "/api/import", Some(body)).await }
    };
    let action = |reply: &common::Reply| reply.body["items"][0]["action"].clone();
    let first = import(json!({"document": document("http://127.0.0.1:9/mcp", "v1")})).await;
    assert_eq!(action(&first), "created", "{:?}", first.body);
    // `api` is a gateway route: the path takes the namespace's last label.
    assert_eq!(first.body["items"][0]["path"], "example-api");
    // The admin fills in the secret and enables it.
    let fill = json!({"headers": {"X-Api-Key": "s3cret"}, "enabled": true});
    assert_eq!(
        gw.api("PATCH", "/api/servers/example-api", Some(fill))
            .await
            .status,
        200
    );

    // A new description at the source: applied, the secret and `enabled` kept.
    let second = import(json!({"document": document("http://127.0.0.1:9/mcp", "v2")})).await;
    assert_eq!(action(&second), "updated", "{:?}", second.body);
    let server = gw.api("GET", "/api/servers/example-api", None).await.body;
    assert_eq!(server["description"], "v2");
    assert_eq!(server["enabled"], true);
    assert_eq!(server["headers"]["X-Api-Key"], "<redacted>", "still set");

    // The source moves it to another host: not taken on its own (the secret was meant
    // for the old one).
    let moved = document("http://127.0.0.2:9/mcp", "v3");
    let third = import(json!({"document": moved})).await;
    assert_eq!(action(&third), "conflict", "{:?}", third.body);
    assert!(
        third.body["items"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("how it is reached")
    );
    assert_eq!(
        gw.api("GET", "/api/servers/example-api", None).await.body["url"],
        "http://127.0.0.1:9/mcp"
    );
    // Taken with overwrite: disabled, and without the secret.
    let fourth = import(json!({"document": moved, "overwrite": true})).await;
    assert_eq!(action(&fourth), "updated", "{:?}", fourth.body);
    let server = gw.api("GET", "/api/servers/example-api", None).await.body;
    assert_eq!(server["url"], "http://127.0.0.2:9/mcp");
    assert_eq!(server["enabled"], false);
    assert_eq!(server["headers"], json!({}), "the secret did not follow");

    // A planned import reports an entry it could not import; the import itself refuses.
    let bad = entry(
        "io.example/bad",
        json!({"version": "^1.0", "remotes": moved["remotes"]}),
    );
    let planned = import(json!({"document": [bad], "dry_run": true})).await;
    assert_eq!(planned.status, 200, "{:?}", planned.body);
    assert_eq!(action(&planned), "invalid");
    assert!(
        planned.body["items"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("range"),
        "{:?}",
        planned.body
    );
    let refused = import(json!({"document": [bad]})).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
}
