//! Who sees and changes what in the official registry API (`/v0.1`, issue 9), through the
//! real binary with a `scopes.yml`: callers see only the servers they may list (others are
//! the 404 of an unknown name), status changes need `modify_service`, bodies are checked,
//! a removed server's versions cannot be revived, `/.well-known/mcp-servers` shows what an
//! anonymous client may know with real health, and the namespace is configurable.

mod common;

use std::time::Duration;

use common::access::token_for;
use common::registry_schema::RegistrySchemas;
use common::{Gateway, TOKEN, http_server, run_cli, upstreams};
use serde_json::{Value, json};

/// As in the Python registry, acting on a server also needs an entry for it in one of
/// the caller's server scopes.
const POLICY: &str = r#"
group_mappings:
  readers: [registry-readers, servers-ab]
  curators: [registry-curators, servers-ab]
  anonymous-visitors: [registry-public, servers-ab]
servers-ab:
  - server: alpha
    methods: [tools/list, tools/call]
    tools: [echo]
  - server: beta
    methods: [tools/list]
UI-Scopes:
  registry-readers:
    list_service: [alpha, beta]
  registry-curators:
    list_service: [alpha]
    modify_service: [alpha]
  registry-public:
    list_service: [alpha, beta]
"#;

/// A gateway with [`POLICY`], the anonymous group, namespace `com.example.mcp` and the
/// extra config `extra`.
async fn start(dir: &std::path::Path, extra: &str) -> Gateway {
    let registry = format!("[registry_api]\nnamespace = \"com.example.mcp\"\n{extra}");
    common::access::start_configured(dir, POLICY, &registry)
        .await
        .0
}

/// `method path` with `token` (none: anonymous) and `body`: status and JSON body.
async fn call(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut request = gw.request(method, path);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The names in a list.
fn names(list: &Value) -> Vec<&str> {
    list["servers"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item["server"]["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn callers_see_what_they_may_list_and_curators_change_status() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path(), "").await;
    let schemas = RegistrySchemas::load();
    let toolbox = upstreams::example("toolbox", true).await;
    gw.register_healthy(http_server("alpha", &toolbox.url))
        .await;
    for path in ["beta", "gamma"] {
        let mut body = http_server(path, "http://127.0.0.1:9/mcp");
        body["enabled"] = json!(false);
        assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    }
    let reader = token_for(&gw, &["readers"]).await;
    let curator = token_for(&gw, &["curators"]).await;

    // Each caller's list holds only what it may list.
    let (status, list) = call(&gw, "GET", "/v0.1/servers", Some(&reader), None).await;
    assert_eq!(status, 200);
    schemas.check_server_list(&list);
    assert_eq!(
        names(&list),
        ["com.example.mcp/alpha", "com.example.mcp/beta"]
    );
    let (_, list) = call(&gw, "GET", "/v0.1/servers", Some(&curator), None).await;
    assert_eq!(names(&list), ["com.example.mcp/alpha"]);
    let (_, list) = call(&gw, "GET", "/v0.1/servers", Some(TOKEN), None).await;
    assert_eq!(names(&list).len(), 3, "admins see everything");

    // A server the caller may not list is exactly an unknown one.
    let hidden = call(
        &gw,
        "GET",
        "/v0.1/servers/com.example.mcp%2Fgamma/versions",
        Some(&reader),
        None,
    )
    .await;
    let unknown = call(
        &gw,
        "GET",
        "/v0.1/servers/com.example.mcp%2Fnope/versions",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(hidden, unknown);
    assert_eq!(hidden.0, 404);
    let (status, _) = call(
        &gw,
        "GET",
        "/v0.1/servers/com.example.mcp%2Fgamma/versions/latest",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(status, 404);

    // Status changes are for admins: not readers, not even curators who may change the
    // server (a deletion travels to every registry that synchronises with this one).
    let alpha = "/v0.1/servers/com.example.mcp%2Falpha/versions/latest/status";
    let deprecate = r#"{"status": "deprecated", "statusMessage": "use alpha2"}"#;
    for caller in [&reader, &curator] {
        let (status, refused) = call(&gw, "PATCH", alpha, Some(caller), Some(deprecate)).await;
        assert_eq!(status, 403, "{refused}");
        assert_eq!(refused["status"], 403);
        assert!(
            refused["detail"].as_str().unwrap().contains("only admins"),
            "{refused}"
        );
    }
    for (body, expected) in [
        (r#"{"status": "gone"}"#, 422),
        (r#"{"status": "deprecated", "extra": 1}"#, 422),
        (r#"{"status": "#, 400),
        (
            &*format!(
                r#"{{"status": "deprecated", "statusMessage": "{}"}}"#,
                "x".repeat(501)
            ),
            422,
        ),
    ] {
        let (status, problem) = call(&gw, "PATCH", alpha, Some(TOKEN), Some(body)).await;
        assert_eq!(status, expected, "{body}: {problem}");
        assert!(problem["detail"].is_string(), "{problem}");
    }
    let unknown = "/v0.1/servers/com.example.mcp%2Fnope/versions/latest/status";
    let (status, _) = call(&gw, "PATCH", unknown, Some(TOKEN), Some(deprecate)).await;
    assert_eq!(status, 404);
    let (status, changed) = call(&gw, "PATCH", alpha, Some(TOKEN), Some(deprecate)).await;
    assert_eq!(status, 200, "{changed}");
    schemas.check_server_response(&changed);
    let official = &changed["_meta"]["io.modelcontextprotocol.registry/official"];
    assert_eq!(official["status"], "deprecated");
    assert_eq!(official["statusMessage"], "use alpha2");
    // Deprecated versions are still listed (with their message).
    let (_, list) = call(&gw, "GET", "/v0.1/servers", Some(&reader), None).await;
    assert_eq!(names(&list).len(), 2);

    // The admin deletes every version of beta at once; readers no longer see it listed.
    let (status, all) = call(
        &gw,
        "PATCH",
        "/v0.1/servers/com.example.mcp%2Fbeta/status",
        Some(TOKEN),
        Some(r#"{"status": "deleted", "statusMessage": "retired"}"#),
    )
    .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["updatedCount"], 1);
    assert_eq!(
        all["servers"][0]["_meta"]["io.modelcontextprotocol.registry/official"]["status"],
        "deleted"
    );
    let (_, list) = call(&gw, "GET", "/v0.1/servers", Some(&reader), None).await;
    assert_eq!(names(&list), ["com.example.mcp/alpha"]);
    // ... and may bring it back, since the server is still registered.
    let (status, _) = call(
        &gw,
        "PATCH",
        "/v0.1/servers/com.example.mcp%2Fbeta/versions/0.0.1/status",
        Some(TOKEN),
        Some(r#"{"status": "active"}"#),
    )
    .await;
    assert_eq!(status, 200);
    // A removed server's versions are not revived by a status change.
    assert_eq!(
        gw.api("DELETE", "/api/servers/gamma", None).await.status,
        204
    );
    let (status, conflict) = call(
        &gw,
        "PATCH",
        "/v0.1/servers/com.example.mcp%2Fgamma/status",
        Some(TOKEN),
        Some(r#"{"status": "active"}"#),
    )
    .await;
    assert_eq!(status, 409, "{conflict}");
    assert!(
        conflict["detail"]
            .as_str()
            .unwrap()
            .contains("register it again"),
        "{conflict}"
    );

    // Anonymous callers (the anonymous group) read the API as the policy lets them.
    let (status, list) = call(&gw, "GET", "/v0.1/servers", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&list),
        ["com.example.mcp/alpha", "com.example.mcp/beta"]
    );

    // The public list: enabled servers an anonymous client may know about, real health.
    let (status, known) = call(&gw, "GET", "/.well-known/mcp-servers", None, None).await;
    assert_eq!(status, 200, "{known}");
    let fresh = gw
        .request("GET", "/.well-known/mcp-servers")
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.headers()["cache-control"], "no-store");
    let servers = known["servers"].as_array().unwrap();
    assert_eq!(
        servers.len(),
        1,
        "beta is disabled, gamma not public: {known}"
    );
    assert_eq!(servers[0]["name"], "com.example.mcp/alpha");
    assert_eq!(servers[0]["health"], "healthy");
    assert_eq!(servers[0]["url"], format!("{}/alpha/mcp", gw.url));
    assert_eq!(
        servers[0]["numTools"], 1,
        "only the tools it may call: echo"
    );
    assert_eq!(known["gateway"]["url"], format!("{}/mcp", gw.url));
    // The registry link it gives works.
    let link = servers[0]["registry"]
        .as_str()
        .unwrap()
        .strip_prefix(&gw.url)
        .unwrap()
        .to_owned();
    let (status, _) = call(&gw, "GET", &link, None, None).await;
    assert_eq!(status, 200, "{link}");
    // A health change shows there: alpha's upstream goes away.
    drop(toolbox);
    gw.api("POST", "/api/servers/alpha/refresh", None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, known) = call(&gw, "GET", "/.well-known/mcp-servers", None, None).await;
        if known["servers"][0]["health"] == "unhealthy" {
            // The upstream's own words (error pages, process output) are not public.
            assert!(known["servers"][0].get("healthReason").is_none(), "{known}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{known}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_public_list_can_be_turned_off_and_a_bad_namespace_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path(), "well_known = false\n").await;
    let (status, problem) = call(&gw, "GET", "/.well-known/mcp-servers", None, None).await;
    assert_eq!(status, 404);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("well_known = false")
    );

    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[registry_api]\nnamespace = \"not/a namespace\"\n").unwrap();
    let data = dir.path().join("bad-data");
    let (ok, _, stderr) = run_cli(
        None,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        &[("MCPGW_ADMIN_TOKEN", TOKEN)],
    )
    .await;
    assert!(!ok);
    assert!(
        stderr.contains("registry namespace 'not/a namespace'"),
        "{stderr}"
    );
}
