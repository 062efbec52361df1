//! The official MCP registry API (`/v0.1`, issue 9) through the real binary: every answer
//! is validated against the JSON Schema the published OpenAPI description defines
//! (`common::registry_schema`): cursor paging over 250 servers, versions published on
//! every change of what a server publishes, `latest`, search, `updated_since`, deleted
//! versions, URL-encoded names, 404s and errors as problem details, remotes that really
//! are the gateway's URLs for the server, packages of stdio servers, and versions that
//! survive a restart without being published again.

mod common;

use std::time::Duration;

use common::registry_schema::RegistrySchemas;
use common::{Gateway, Launch, TOKEN, http_server, upstreams};
use serde_json::{Value, json};

/// `GET path` with the admin token: status, content type and JSON body.
async fn get(gw: &Gateway, path: &str) -> (u16, String, Value) {
    let response = gw
        .request("GET", path)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// `GET /v0.1/servers?{query}`, checked against the `ServerList` schema.
async fn list(gw: &Gateway, schemas: &RegistrySchemas, query: &str) -> Value {
    let (status, _, body) = get(gw, &format!("/v0.1/servers?{query}")).await;
    assert_eq!(status, 200, "{body}");
    schemas.check_server_list(&body);
    for item in body["servers"].as_array().unwrap() {
        schemas.check_server_json(&item["server"]);
    }
    body
}

/// Checks a `ServerResponse` against the OpenAPI description and its `server` against
/// the server.json schema (2025-12-11).
fn check_response(schemas: &RegistrySchemas, response: &Value) {
    schemas.check_server_response(response);
    schemas.check_server_json(&response["server"]);
}

/// The `name:version` of every item of a list.
fn keys(list: &Value) -> Vec<String> {
    list["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            format!(
                "{}:{}",
                item["server"]["name"].as_str().unwrap(),
                item["server"]["version"].as_str().unwrap()
            )
        })
        .collect()
}

/// Asserts a problem-details error with `status` (and, if given, `detail`).
async fn assert_problem(gw: &Gateway, path: &str, status: u16, detail: Option<&str>) {
    let (got, content_type, body) = get(gw, path).await;
    assert_eq!(got, status, "{path}: {body}");
    assert_eq!(content_type, "application/problem+json", "{path}");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    assert_eq!(body["error"], body["detail"], "{body}");
    if let Some(detail) = detail {
        assert_eq!(body["detail"], detail, "{path}");
    }
}

#[tokio::test]
async fn cursor_paging_covers_250_servers_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let schemas = RegistrySchemas::load();
    for index in 0..250 {
        let mut body = http_server(&format!("srv-{index:03}"), "http://127.0.0.1:9/mcp");
        body["enabled"] = json!(false);
        assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    }

    // Pages of 100 by cursor: 100, 100, 50, each in (name, version) order, no repeats.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let query = match &cursor {
            Some(cursor) => format!("limit=100&cursor={}", urlencode(cursor)),
            None => "limit=100".to_owned(),
        };
        let page = list(&gw, &schemas, &query).await;
        pages.push(page["metadata"]["count"].as_u64().unwrap());
        seen.extend(keys(&page));
        match page["metadata"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, [100, 100, 50]);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "in order, each once");
    assert_eq!(seen.len(), 250);
    assert_eq!(seen[0], "io.mcpgateway/srv-000:0.0.1");

    // The default page is 30; limits outside 1..=100 are refused as the official API does.
    let first = list(&gw, &schemas, "").await;
    assert_eq!(first["metadata"]["count"], 30);
    assert_eq!(
        first["metadata"]["nextCursor"],
        "io.mcpgateway/srv-029:0.0.1"
    );
    for bad in ["limit=0", "limit=101", "limit=many"] {
        assert_problem(&gw, &format!("/v0.1/servers?{bad}"), 422, None).await;
    }
    assert_problem(&gw, "/v0.1/servers?updated_since=last-week", 400, None).await;
    assert_problem(
        &gw,
        "/v0.1/servers?updated_since=2025-01-01T00:00:00Z&include_deleted=false",
        400,
        None,
    )
    .await;

    // A changed description is a new version; `latest` still gives one item per server.
    let changed = gw
        .api(
            "PATCH",
            "/api/servers/srv-007",
            Some(json!({"description": "now different"})),
        )
        .await;
    assert_eq!(changed.status, 200);
    let all = list(&gw, &schemas, "limit=100&search=srv-007").await;
    assert_eq!(
        keys(&all),
        ["io.mcpgateway/srv-007:0.0.1", "io.mcpgateway/srv-007:0.0.2"]
    );
    let latest = list(&gw, &schemas, "limit=100&search=srv-007&version=latest").await;
    assert_eq!(keys(&latest), ["io.mcpgateway/srv-007:0.0.2"]);
    // The same path, read through /v0 (the development prefix), says the same.
    let (status, _, v0) = get(&gw, "/v0/servers?limit=100&search=srv-007&version=latest").await;
    assert_eq!(status, 200);
    assert_eq!(keys(&v0), keys(&latest));
}

/// Percent-encodes a query value.
fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn versions_latest_search_deletion_and_remotes_through_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let schemas = RegistrySchemas::load();
    let toolbox = upstreams::example("toolbox", true).await;
    let mut body = http_server("currenttime", &toolbox.url);
    body["name"] = json!("Current Time");
    body["version"] = json!("1.0.0");
    body["tags"] = json!(["time", "demo"]);
    body["description"] = json!("Tells the time. ".repeat(12));
    gw.register_healthy(body).await;
    let other = http_server("weather", "http://127.0.0.1:9/mcp");
    assert_eq!(
        gw.api("POST", "/api/servers", Some(other)).await.status,
        201
    );

    // A new description without a new version: the same release, described again.
    let update = json!({"description": "Tells the current time anywhere."});
    assert_eq!(
        gw.api("PATCH", "/api/servers/currenttime", Some(update))
            .await
            .status,
        200
    );
    let before_release = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let release = json!({"version": "1.1.0"});
    assert_eq!(
        gw.api("PATCH", "/api/servers/currenttime", Some(release))
            .await
            .status,
        200
    );
    // Enabling, health checks and refreshes publish nothing.
    let refreshed = gw
        .api("POST", "/api/servers/currenttime/refresh", None)
        .await;
    assert_eq!(refreshed.status, 200);

    let name = "io.mcpgateway%2Fcurrenttime";
    let (status, _, versions) = get(&gw, &format!("/v0.1/servers/{name}/versions")).await;
    assert_eq!(status, 200, "{versions}");
    schemas.check_server_list(&versions);
    for item in versions["servers"].as_array().unwrap() {
        schemas.check_server_json(&item["server"]);
    }
    let listed: Vec<&str> = versions["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["server"]["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["1.1.0", "1.0.0+2", "1.0.0"], "newest first");

    let (status, _, latest) = get(&gw, &format!("/v0.1/servers/{name}/versions/latest")).await;
    assert_eq!(status, 200);
    check_response(&schemas, &latest);
    let official = &latest["_meta"]["io.modelcontextprotocol.registry/official"];
    assert_eq!(official["isLatest"], true);
    assert_eq!(official["status"], "active");
    let server = &latest["server"];
    assert_eq!(server["name"], "io.mcpgateway/currenttime");
    assert_eq!(server["title"], "Current Time");
    assert_eq!(server["version"], "1.1.0");
    // The remotes are the gateway's, and they work: tools/list through the first one.
    let remote = server["remotes"][0]["url"].as_str().unwrap();
    assert_eq!(remote, format!("{}/currenttime/mcp", gw.url));
    assert_eq!(
        server["remotes"][1]["url"],
        format!("{}/currenttime/sse", gw.url)
    );
    assert!(
        !latest.to_string().contains(&toolbox.url),
        "the upstream's URL stays private"
    );
    let tools = call_tools_list(remote).await;
    assert!(tools.iter().any(|tool| tool == "echo"), "{tools:?}");
    let view = &latest["_meta"]["io.mcpgw/gateway"];
    assert_eq!(view["enabled"], true);
    assert_eq!(view["health"], "healthy");
    assert_eq!(view["numTools"], tools.len());
    assert_eq!(view["tags"], json!(["time", "demo"]));
    assert!(view["lastChecked"].is_string());

    // An older version, its `+` encoded; its long description cut to 100 characters.
    let (status, _, older) = get(&gw, &format!("/v0.1/servers/{name}/versions/1.0.0")).await;
    assert_eq!(status, 200);
    check_response(&schemas, &older);
    assert_eq!(
        older["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"],
        false
    );
    assert_eq!(
        older["server"]["description"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        100
    );
    assert_eq!(
        older["_meta"]["io.mcpgw/gateway"]["description"],
        "Tells the time. ".repeat(12)
    );
    let (status, _, build) = get(&gw, &format!("/v0.1/servers/{name}/versions/1.0.0%2B2")).await;
    assert_eq!(status, 200, "{build}");
    assert_eq!(
        build["server"]["description"],
        "Tells the current time anywhere."
    );

    // 404s: unknown version, unknown server, a name outside the namespace, an unencoded
    // slash (another route altogether).
    for path in [
        format!("/v0.1/servers/{name}/versions/9.9.9"),
        "/v0.1/servers/io.mcpgateway%2Fnothing/versions".to_owned(),
        "/v0.1/servers/com.other%2Fcurrenttime/versions/latest".to_owned(),
    ] {
        assert_problem(&gw, &path, 404, Some("Server not found")).await;
    }
    // Without credentials: 401, as problem details too, with the challenge.
    let anonymous = gw.request("GET", "/v0.1/servers").send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = anonymous.json().await.unwrap();
    assert_eq!(problem["status"], 401);
    assert!(
        problem["detail"].as_str().unwrap().contains("credentials"),
        "{problem}"
    );
    let (status, _, _) = get(&gw, "/v0.1/servers/io.mcpgateway/currenttime/versions").await;
    assert_eq!(status, 404);

    // search: case-insensitive, on the name, the title and the description.
    let found = list(&gw, &schemas, "search=CURRENT%20TIME&version=latest").await;
    assert_eq!(keys(&found), ["io.mcpgateway/currenttime:1.1.0"]);
    let found = list(&gw, &schemas, "search=weath").await;
    assert_eq!(keys(&found), ["io.mcpgateway/weather:0.0.1"]);
    // An exact version filter.
    let found = list(&gw, &schemas, "version=1.0.0%2B2").await;
    assert_eq!(keys(&found), ["io.mcpgateway/currenttime:1.0.0+2"]);

    // updated_since: only what changed after the time, strictly.
    let since = urlencode(&before_release.to_rfc3339());
    let recent = list(&gw, &schemas, &format!("updated_since={since}")).await;
    assert_eq!(keys(&recent), ["io.mcpgateway/currenttime:1.1.0"]);

    // Removing the server deletes its versions: hidden by default, listed on request and
    // always to incremental syncs.
    let after_release = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        gw.api("DELETE", "/api/servers/currenttime", None)
            .await
            .status,
        204
    );
    let remaining = list(&gw, &schemas, "").await;
    assert_eq!(keys(&remaining), ["io.mcpgateway/weather:0.0.1"]);
    let everything = list(&gw, &schemas, "include_deleted=true").await;
    assert_eq!(everything["metadata"]["count"], 4);
    for item in everything["servers"].as_array().unwrap() {
        let official = &item["_meta"]["io.modelcontextprotocol.registry/official"];
        let expected = if item["server"]["name"] == "io.mcpgateway/weather" {
            "active"
        } else {
            "deleted"
        };
        assert_eq!(official["status"], expected, "{item}");
    }
    let since = urlencode(&after_release.to_rfc3339());
    let sync = list(&gw, &schemas, &format!("updated_since={since}")).await;
    assert_eq!(sync["metadata"]["count"], 3, "the three deleted versions");
    assert_problem(
        &gw,
        &format!("/v0.1/servers/{name}/versions"),
        404,
        Some("Server not found"),
    )
    .await;
    assert_problem(
        &gw,
        &format!("/v0.1/servers/{name}/versions/latest"),
        404,
        None,
    )
    .await;
    let (status, _, deleted) = get(
        &gw,
        &format!("/v0.1/servers/{name}/versions/latest?include_deleted=true"),
    )
    .await;
    assert_eq!(status, 200);
    check_response(&schemas, &deleted);
    assert_eq!(deleted["_meta"]["io.mcpgw/gateway"]["registered"], false);
    assert!(deleted["_meta"]["io.mcpgw/gateway"].get("health").is_none());
}

/// The names of the tools `url` lists, called as a 2026-07-28 client with the admin token.
async fn call_tools_list(url: &str) -> Vec<String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                      "params": {"_meta": common::stateless_meta()}});
    let response = common::client()
        .post(url)
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list")
        .json(&body)
        .send()
        .await
        .unwrap();
    let messages = common::rpc_messages(response).await;
    messages[0]["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{messages:?}"))
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn stdio_packages_and_versions_that_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let schemas = RegistrySchemas::load();
    let gw = Launch::quiet(dir.path()).start().await;
    let stdio = json!({
        "path": "everything",
        "command": "npx",
        "args": ["-y", "@modelcontextprotocol/server-everything@2025.11.25", "--secret", "s3cr3t"],
        "env": {"API_KEY": "hunter2"},
        "version": "2025.11.25",
        "enabled": false,
    });
    assert_eq!(
        gw.api("POST", "/api/servers", Some(stdio)).await.status,
        201
    );
    let (status, _, latest) = get(
        &gw,
        "/v0.1/servers/io.mcpgateway%2Feverything/versions/latest",
    )
    .await;
    assert_eq!(status, 200);
    check_response(&schemas, &latest);
    assert_eq!(
        latest["server"]["packages"],
        json!([{"registryType": "npm", "identifier": "@modelcontextprotocol/server-everything",
                "version": "2025.11.25", "runtimeHint": "npx", "transport": {"type": "stdio"}}])
    );
    let text = latest.to_string();
    assert!(
        !text.contains("s3cr3t") && !text.contains("hunter2"),
        "no secret is published"
    );
    assert_eq!(latest["_meta"]["io.mcpgw/gateway"]["enabled"], false);
    // An admin deletes the published version while the server stays registered: a
    // restart must not publish it again.
    let deleted = gw
        .request("PATCH", "/v0.1/servers/io.mcpgateway%2Feverything/status")
        .bearer_auth(TOKEN)
        .json(&json!({"status": "deleted", "statusMessage": "withdrawn by the admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let before = list(&gw, &schemas, "include_deleted=true").await;
    assert!(gw.signal_and_wait("TERM").await.success());

    // Restarted on the same data: the same versions, none published again.
    let gw = Launch::quiet(dir.path()).start().await;
    let after = list(&gw, &schemas, "include_deleted=true").await;
    assert_eq!(keys(&after), keys(&before));
    let official = |list: &Value| {
        list["servers"][0]["_meta"]["io.modelcontextprotocol.registry/official"].clone()
    };
    assert_eq!(
        official(&after),
        official(&before),
        "nothing published or changed by the restart"
    );
    let official = &after["servers"][0]["_meta"]["io.modelcontextprotocol.registry/official"];
    assert_eq!(official["status"], "deleted");
    assert_eq!(
        after["servers"][0]["_meta"]["io.modelcontextprotocol.registry/official"]["publishedAt"],
        before["servers"][0]["_meta"]["io.modelcontextprotocol.registry/official"]["publishedAt"]
    );
}
