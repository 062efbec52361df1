//! Access-control test fixtures: a `scopes.yml` in the Python gateway's format, a gateway
//! started with it, callers holding gateway tokens for chosen groups, and the requests the
//! tests send as those callers.

use serde_json::{Value, json};

use super::{Gateway, Launch, TOKEN};

pub const POLICY: &str = r#"
group_mappings:
  analysts: [toolbox-read]
  ops: [toolbox-ops]
  anonymous-visitors: [public]
UI-Scopes:
  toolbox-read:
    list_service: [toolbox, toolbox-stdio, recorder, locked]
# Analysts may list tools and call echo and the base64 tools, on every toolbox.
toolbox-read:
- server: "toolbox*"
  methods: [initialize, notifications/initialized, tools/list, tools/call]
  tools: [echo, "base64_*"]
- server: recorder
  methods: [tools/call, tools/list]
  tools: [echo]
- server: everything-sse
  methods: [initialize, notifications/initialized, tools/list, tools/call]
  tools: [echo]
- server: hidden-from-list
  methods: [initialize]
  deny: ["*"]
- server: locked
  methods: [initialize]
  deny: ["*"]
# Operators may do everything on the HTTP toolbox except make it fail.
toolbox-ops:
- server: toolbox
  methods: ["*"]
  tools: ["*"]
  deny: [fail]
public:
- server: toolbox
  methods: [tools/list]
- server: toolbox-stdio
  methods: [tools/list]
"#;

/// A gateway with the policy file `policy` and `[auth] anonymous_group`; also returns the
/// file and the gateway's log.
pub async fn start_logged(
    dir: &std::path::Path,
    policy: &str,
) -> (Gateway, std::path::PathBuf, std::path::PathBuf) {
    start_configured(dir, policy, "").await
}

/// [`start_logged`] with `extra` appended to the config file (more sections).
pub async fn start_configured(
    dir: &std::path::Path,
    policy: &str,
    extra: &str,
) -> (Gateway, std::path::PathBuf, std::path::PathBuf) {
    let scopes = dir.join("scopes.yml");
    std::fs::write(&scopes, policy).unwrap();
    let config = dir.join("mcpgw.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nanonymous_group = \"anonymous-visitors\"\n[policy]\nscopes_file = \"{}\"\n{extra}",
            scopes.display()
        ),
    )
    .unwrap();
    let (gw, log) = Launch::quiet(&dir.join("data"))
        .args(&["--config", config.to_str().unwrap()])
        .start_capturing()
        .await;
    (gw, scopes, log)
}

/// [`start_logged`] without the log.
pub async fn start(dir: &std::path::Path, policy: &str) -> (Gateway, std::path::PathBuf) {
    let (gw, scopes, _log) = start_logged(dir, policy).await;
    (gw, scopes)
}

/// A gateway token for a caller in `groups`, minted by the admin.
pub async fn token_for(gw: &Gateway, groups: &[&str]) -> String {
    let minted = gw
        .request("POST", "/api/tokens")
        .bearer_auth(TOKEN)
        .json(&json!({"description": "test caller", "groups": groups}))
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status(), 201);
    let body: Value = minted.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// Registers an HTTP server.
pub async fn register(gw: &Gateway, path: &str, url: &str) {
    let body = super::http_server(path, url);
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
}

/// POSTs `body` to `path` as a 2026-07-28 client with `token` (none: anonymous) and
/// `headers`.
pub async fn post(
    gw: &Gateway,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> reqwest::Response {
    let mut request = gw
        .request("POST", path)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(body.to_owned()).send().await.unwrap()
}

/// A stateless request body.
pub fn rpc(id: i64, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = super::stateless_meta();
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// A stateless `tools/call` with its `Mcp-Method`/`Mcp-Name` headers.
pub async fn call_tool(gw: &Gateway, server: &str, token: &str, tool: &str) -> reqwest::Response {
    let body = rpc(
        1,
        "tools/call",
        json!({"name": tool, "arguments": {"message": "hi"}}),
    );
    let headers = [("mcp-method", "tools/call"), ("mcp-name", tool)];
    post(
        gw,
        &format!("/{server}/mcp"),
        Some(token),
        &headers,
        &body.to_string(),
    )
    .await
}

/// The names in a `tools/list` answer.
pub async fn listed_tools(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), 200);
    let answer = super::rpc_messages(response).await.remove(0);
    let mut names: Vec<String> = answer["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {answer}"))
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

pub async fn list_tools(gw: &Gateway, server: &str, token: Option<&str>) -> reqwest::Response {
    let body = rpc(7, "tools/list", json!({})).to_string();
    let headers = [("mcp-method", "tools/list")];
    post(gw, &format!("/{server}/mcp"), token, &headers, &body).await
}

/// Asserts a refusal: 403, `insufficient_scope`, a JSON-RPC error answering `id`.
pub async fn assert_refused(response: reqwest::Response, id: Value) -> String {
    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], id, "{body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

/// A stateful (2025-11-25) request to `path`, as `token` (none: anonymous), in `session`.
pub async fn stateful(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: Option<&str>,
    session: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = gw
        .request(method, path)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    request.send().await.unwrap()
}
