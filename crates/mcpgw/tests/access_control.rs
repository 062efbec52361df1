//! Access control on MCP routes, end to end: a `scopes.yml` in the Python gateway's format,
//! callers holding real gateway tokens for their groups, real MCP servers (the toolbox over
//! HTTP and over stdio, the official Python SDK as client), and every bypass attempt a
//! caller could make. A refused request must never reach the server, which a recording
//! upstream checks.

mod common;

use std::time::{Duration, Instant};

use common::{Gateway, Launch, TOKEN, hostile, upstreams};
use serde_json::{Value, json};

const POLICY: &str = r#"
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
async fn start_logged(
    dir: &std::path::Path,
    policy: &str,
) -> (Gateway, std::path::PathBuf, std::path::PathBuf) {
    let scopes = dir.join("scopes.yml");
    std::fs::write(&scopes, policy).unwrap();
    let config = dir.join("mcpgw.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nanonymous_group = \"anonymous-visitors\"\n[policy]\nscopes_file = \"{}\"\n",
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
async fn start(dir: &std::path::Path, policy: &str) -> (Gateway, std::path::PathBuf) {
    let (gw, scopes, _log) = start_logged(dir, policy).await;
    (gw, scopes)
}

/// A gateway token for a caller in `groups`, minted by the admin.
async fn token_for(gw: &Gateway, groups: &[&str]) -> String {
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
async fn register(gw: &Gateway, path: &str, url: &str) {
    let body = common::http_server(path, url);
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
}

/// POSTs `body` to `path` as a 2026-07-28 client with `token` (none: anonymous) and
/// `headers`.
async fn post(
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
fn rpc(id: i64, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = common::stateless_meta();
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// A stateless `tools/call` with its `Mcp-Method`/`Mcp-Name` headers.
async fn call_tool(gw: &Gateway, server: &str, token: &str, tool: &str) -> reqwest::Response {
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
async fn listed_tools(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), 200);
    let answer = common::rpc_messages(response).await.remove(0);
    let mut names: Vec<String> = answer["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {answer}"))
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn list_tools(gw: &Gateway, server: &str, token: Option<&str>) -> reqwest::Response {
    let body = rpc(7, "tools/list", json!({})).to_string();
    let headers = [("mcp-method", "tools/list")];
    post(gw, &format!("/{server}/mcp"), token, &headers, &body).await
}

/// Asserts a refusal: 403, `insufficient_scope`, a JSON-RPC error answering `id`.
async fn assert_refused(response: reqwest::Response, id: Value) -> String {
    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], id, "{body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_restricted_caller_lists_only_its_tools_and_calls_only_those() {
    let toolbox = upstreams::example("toolbox", true).await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, _scopes) = start(dir.path(), POLICY).await;
    register(&gw, "toolbox", &toolbox.url).await;
    register(&gw, "secret", "http://127.0.0.1:9/mcp").await;
    register(&gw, "hidden-from-list", &toolbox.url).await;
    register(&gw, "locked", &toolbox.url).await;
    let analyst = token_for(&gw, &["analysts"]).await;
    let ops = token_for(&gw, &["ops"]).await;

    // What each caller sees: analysts their four tools, ops all but `fail`, anonymous
    // visitors (mapped like any group) every tool name and nothing else, the admin all.
    let analysts_see = listed_tools(list_tools(&gw, "toolbox", Some(&analyst)).await).await;
    assert_eq!(analysts_see, ["base64_decode", "base64_encode", "echo"]);
    let ops_see = listed_tools(list_tools(&gw, "toolbox", Some(&ops)).await).await;
    let admin_sees = listed_tools(list_tools(&gw, "toolbox", Some(TOKEN)).await).await;
    assert_eq!(admin_sees.len(), 11, "{admin_sees:?}");
    let all_but_fail: Vec<&String> = admin_sees.iter().filter(|name| *name != "fail").collect();
    assert_eq!(ops_see.iter().collect::<Vec<_>>(), all_but_fail);
    // `public` lists the method but names no tool: the visitor may list, and sees none.
    assert!(
        listed_tools(list_tools(&gw, "toolbox", None).await)
            .await
            .is_empty()
    );

    // Calls: allowed ones reach the server; everything else is a 403 answering the id.
    let echoed = call_tool(&gw, "toolbox", &analyst, "echo").await;
    assert_eq!(echoed.status(), 200);
    let answer = common::rpc_messages(echoed).await.remove(0);
    assert_eq!(answer["result"]["content"][0]["text"], "hi", "{answer}");
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    for forbidden in ["add", "ECHO", "toolbox__echo", "base64", "fail"] {
        let message = assert_refused(
            call_tool(&gw, "toolbox", &analyst, forbidden).await,
            json!(1),
        )
        .await;
        assert!(message.contains("tools/call"), "{message}");
        // The refusal says what was refused, not which scope would have allowed it.
        assert!(!message.contains("toolbox-read"), "{message}");
    }
    assert_refused(call_tool(&gw, "toolbox", &ops, "fail").await, json!(1)).await;
    assert_eq!(call_tool(&gw, "toolbox", &ops, "uuid").await.status(), 200);
    // A method the scope does not list.
    let body = rpc(3, "resources/list", json!({})).to_string();
    let headers = [("mcp-method", "resources/list")];
    let refused = post(&gw, "/toolbox/mcp", Some(&analyst), &headers, &body).await;
    assert!(
        assert_refused(refused, json!(3))
            .await
            .contains("resources/list")
    );

    // The registry shows the same tools: never the names of tools the caller cannot use.
    let registry_tools = |token: String, path: &'static str| {
        let request = gw.request("GET", path).bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while registry_tools(TOKEN.to_owned(), "/api/servers/toolbox/tools").await["num_tools"] != 11 {
        assert!(
            Instant::now() < deadline,
            "the registration's check never listed the tools"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let names = |tools: &Value| {
        let mut names: Vec<String> = tools
            .as_array()
            .unwrap()
            .iter()
            .map(|tool| tool["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let own = registry_tools(analyst.clone(), "/api/servers/toolbox/tools").await;
    assert_eq!(names(&own["tools"]), analysts_see);
    assert_eq!(own["num_tools"], 3);
    let python = registry_tools(analyst.clone(), "/api/tools/toolbox").await;
    assert_eq!(names(&python["tools"]), analysts_see);
    let details = registry_tools(analyst.clone(), "/api/server_details/all").await;
    assert_eq!(names(&details["toolbox"]["tool_list"]), analysts_see);
    let listed = registry_tools(analyst.clone(), "/api/servers").await;
    let counts: Vec<(&str, i64)> = listed["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|server| {
            (
                server["path"].as_str().unwrap(),
                server["num_tools"].as_i64().unwrap(),
            )
        })
        .collect();
    // `locked` denies everything: it is listed, with none of its tools.
    assert_eq!(counts, [("locked", 0), ("toolbox", 3)], "{listed}");

    // A server without any entry for the caller does not exist for it: the same 404 as a
    // server nobody registered. One it may list but not use is a 403.
    let secret = list_tools(&gw, "secret", Some(&analyst)).await;
    let nothing = list_tools(&gw, "no-such-server", Some(&analyst)).await;
    assert_eq!(
        (secret.status().as_u16(), nothing.status().as_u16()),
        (404, 404)
    );
    let secret_text = secret.text().await.unwrap();
    let nothing_text = nothing.text().await.unwrap();
    assert_eq!(
        secret_text.replace("secret", "X"),
        nothing_text.replace("no-such-server", "X")
    );
    assert_eq!(
        list_tools(&gw, "hidden-from-list", Some(&analyst))
            .await
            .status(),
        404
    );
    let locked = list_tools(&gw, "locked", Some(&analyst)).await;
    assert_eq!(locked.status(), 403);
    assert!(
        locked.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    // Server names are exact: a case variant is another (unknown) server.
    assert_eq!(
        list_tools(&gw, "TOOLBOX", Some(&analyst)).await.status(),
        404
    );
}

#[tokio::test]
async fn nothing_of_a_refused_request_reaches_the_server() {
    let recorder = hostile::start(|request| {
        let answer = |message: &Value| {
            json!({"jsonrpc": "2.0", "id": message["id"],
            "result": {"content": [{"type": "text", "text": "ok"}]}})
        };
        let body = match request.json() {
            Value::Array(batch) => Value::Array(batch.iter().map(answer).collect()),
            message => answer(&message),
        };
        hostile::Reply::json(200, &body)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, _scopes) = start(dir.path(), POLICY).await;
    register(&gw, "recorder", &recorder.url).await;
    let analyst = token_for(&gw, &["analysts"]).await;
    // Only the test's calls count: the registration's health check may arrive any time.
    let calls_seen = || {
        recorder
            .requests()
            .iter()
            .filter(|request| {
                request.json().is_array() || request.rpc_method().as_deref() == Some("tools/call")
            })
            .count()
    };
    let path = "/recorder/mcp";
    let call = |id: i64, tool: &str| rpc(id, "tools/call", json!({"name": tool, "arguments": {}}));

    // A batch with one forbidden call: 403, one error for the refused id, nothing sent.
    let batch = json!([call(1, "echo"), call(2, "add"), call(3, "echo")]).to_string();
    let refused = post(&gw, path, Some(&analyst), &[], &batch).await;
    assert_eq!(refused.status(), 403);
    let errors: Value = refused.json().await.unwrap();
    assert_eq!(errors.as_array().unwrap().len(), 1, "{errors}");
    assert_eq!(errors[0]["id"], 2);
    // Headers that name an allowed tool while the body calls another: refused before any
    // decision, as a mismatch.
    let sneaky = call(4, "add").to_string();
    let headers = [("mcp-method", "tools/call"), ("mcp-name", "echo")];
    let mismatch = post(&gw, path, Some(&analyst), &headers, &sneaky).await;
    assert_eq!(mismatch.status(), 400);
    let body: Value = mismatch.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32020, "{body}");
    // Duplicate keys: one reader would see echo, another add.
    let duplicate =
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","name":"add"}}"#;
    assert_eq!(
        post(&gw, path, Some(&analyst), &[], duplicate)
            .await
            .status(),
        400
    );
    let duplicate_method = r#"{"jsonrpc":"2.0","id":6,"method":"tools/list","method":"tools/call","params":{"name":"add"}}"#;
    assert_eq!(
        post(&gw, path, Some(&analyst), &[], duplicate_method)
            .await
            .status(),
        400
    );
    // An escaped name is the same name to the server, and to the policy.
    let escaped = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"\u0061dd","arguments":{}}}"#;
    assert_refused(
        post(&gw, path, Some(&analyst), &[], escaped).await,
        json!(7),
    )
    .await;
    // Paths that mean another server to some proxies are refused outright.
    for trick in [
        "/toolbox/../recorder/mcp",
        "/recorder/%2e%2e/recorder/mcp",
        "//recorder/mcp",
        "/recorder%2fx/mcp",
    ] {
        let (status, _) =
            common::raw_post(&gw.url, trick, &analyst, &call(8, "add").to_string()).await;
        assert_eq!(status, 400, "{trick}");
    }
    assert_eq!(calls_seen(), 0, "a refused request reached the server");

    // The same batch with only allowed calls does go through: the recorder sees it.
    let allowed = json!([call(1, "echo"), call(3, "echo")]).to_string();
    let through = post(&gw, path, Some(&analyst), &[], &allowed).await;
    assert_eq!(through.status(), 200);
    assert_eq!(calls_seen(), 1);
}

#[tokio::test]
async fn the_official_python_sdk_sees_filtered_lists_over_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _scopes) = start(dir.path(), POLICY).await;
    let toolbox = upstreams::example("toolbox", false).await;
    register(&gw, "toolbox", &toolbox.url).await;
    let stdio = json!({"path": "toolbox-stdio", "command": common::binary(),
        "args": ["example-server", "toolbox", "--stdio"]});
    assert_eq!(
        gw.api("POST", "/api/servers", Some(stdio)).await.status,
        201
    );
    let analyst = token_for(&gw, &["analysts"]).await;
    let calls = json!([{"name": "echo", "arguments": {"message": "hi"}},
        {"name": "add", "arguments": {"a": 1, "b": 2}}, {"name": "get-sum", "arguments": {"a": 1, "b": 2}}])
    .to_string();
    let mut routes = vec![
        (
            "http",
            "/toolbox/mcp",
            json!(["base64_decode", "base64_encode", "echo"]),
        ),
        (
            "http",
            "/toolbox-stdio/mcp",
            json!(["base64_decode", "base64_encode", "echo"]),
        ),
        (
            "sse",
            "/toolbox-stdio/sse",
            json!(["base64_decode", "base64_encode", "echo"]),
        ),
    ];
    // A legacy server relayed as it is: the list is filtered in its own stream, and
    // refusals are put into that stream too.
    let _everything = match upstreams::everything_entry() {
        Some(entry) => {
            let server = upstreams::everything(&entry, "sse").await;
            let body = json!({"path": "everything-sse", "url": server.url, "transport": "sse"});
            assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
            routes.push(("sse", "/everything-sse/sse", json!(["echo"])));
            Some(server)
        }
        None => None,
    };
    for (transport, path, expected) in routes {
        let url = format!("{}{path}", gw.url);
        let Some(seen) =
            common::run_python("policy_client.py", &[transport, &url, &analyst, &calls]).await
        else {
            return;
        };
        assert_eq!(seen["tools"], expected, "{path}: {seen}");
        assert_eq!(seen["calls"][0], "ok", "{path}: {seen}");
        for refused in [&seen["calls"][1], &seen["calls"][2]] {
            let refused = refused.as_str().unwrap();
            assert!(refused.starts_with("refused"), "{path}: {seen}");
        }
    }
}

#[tokio::test]
async fn a_reload_changes_new_decisions_while_an_open_stream_keeps_working() {
    let toolbox = upstreams::example("toolbox", true).await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, scopes, log) = start_logged(dir.path(), POLICY).await;
    register(&gw, "toolbox", &toolbox.url).await;
    let ops = token_for(&gw, &["ops"]).await;

    // A long call with progress, streamed as events.
    let mut countdown = rpc(
        1,
        "tools/call",
        json!({"name": "countdown",
        "arguments": {"steps": 10, "delay_ms": 200}}),
    );
    countdown["params"]["_meta"]["progressToken"] = json!("p1");
    let headers = [("mcp-method", "tools/call"), ("mcp-name", "countdown")];
    let stream = post(
        &gw,
        "/toolbox/mcp",
        Some(&ops),
        &headers,
        &countdown.to_string(),
    )
    .await;
    assert_eq!(stream.status(), 200);

    // Meanwhile the operators lose `countdown`; a broken file later changes nothing.
    let narrowed = POLICY.replace("deny: [fail]", "deny: [fail, countdown]");
    std::fs::write(&scopes, &narrowed).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = call_tool(&gw, "toolbox", &ops, "countdown").await;
        if response.status() == 403 {
            break;
        }
        assert!(Instant::now() < deadline, "the reload never took effect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::write(&scopes, "toolbox-ops: [ {server: toolbox, methods: [\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("the previous policy stays in force")
    {
        assert!(Instant::now() < deadline, "the broken file was never read");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        call_tool(&gw, "toolbox", &ops, "countdown").await.status(),
        403
    );
    assert_eq!(call_tool(&gw, "toolbox", &ops, "echo").await.status(), 200);

    // The stream opened before the reload ran to its end.
    let messages = common::rpc_messages(stream).await;
    let result = messages.iter().find(|message| message["id"] == 1).unwrap();
    assert_eq!(
        result["result"]["content"][0]["text"],
        "countdown finished: 10 steps, 10 progress notifications sent",
        "{messages:?}"
    );

    // SIGHUP reloads at once, whatever the file's timestamps say.
    std::fs::write(&scopes, POLICY).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gw.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while call_tool(&gw, "toolbox", &ops, "countdown").await.status() != 200 {
        assert!(Instant::now() < deadline, "SIGHUP never reloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A stateful (2025-11-25) request to `path`, as `token` (none: anonymous), in `session`.
async fn stateful(
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

#[tokio::test]
async fn a_session_belongs_to_whoever_opened_it() {
    let toolbox = upstreams::example("toolbox", false).await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, _scopes) = start(dir.path(), POLICY).await;
    register(&gw, "toolbox", &toolbox.url).await;
    let stdio = json!({"path": "toolbox-stdio", "command": common::binary(),
        "args": ["example-server", "toolbox", "--stdio"]});
    assert_eq!(
        gw.api("POST", "/api/servers", Some(stdio)).await.status,
        201
    );
    let analyst = token_for(&gw, &["analysts"]).await;

    // Streamable HTTP: the analyst's session, used by an anonymous visitor (who may list
    // toolbox's tools in a session of its own).
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let opened = stateful(
        &gw,
        "POST",
        "/toolbox/mcp",
        Some(&analyst),
        None,
        Some(init.clone()),
    )
    .await;
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let stolen = stateful(
        &gw,
        "POST",
        "/toolbox/mcp",
        None,
        Some(&session),
        Some(list.clone()),
    )
    .await;
    assert_eq!(stolen.status(), 404);
    let ended = stateful(&gw, "DELETE", "/toolbox/mcp", None, Some(&session), None).await;
    assert_eq!(ended.status(), 404);
    let stream = stateful(&gw, "GET", "/toolbox/mcp", None, Some(&session), None).await;
    assert_eq!(stream.status(), 404);
    // The visitor's own session works; the analyst's is untouched.
    let own = stateful(&gw, "POST", "/toolbox/mcp", None, None, Some(init)).await;
    assert_eq!(own.status(), 200);
    let still = stateful(
        &gw,
        "POST",
        "/toolbox/mcp",
        Some(&analyst),
        Some(&session),
        Some(list),
    )
    .await;
    assert_eq!(still.status(), 200);
    assert_eq!(
        stateful(
            &gw,
            "DELETE",
            "/toolbox/mcp",
            Some(&analyst),
            Some(&session),
            None
        )
        .await
        .status()
        .as_u16()
            / 100,
        2
    );

    // Legacy SSE: the analyst's stream, posted into by the visitor.
    let mut events = gw
        .request("GET", "/toolbox-stdio/sse")
        .bearer_auth(&analyst)
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut seen = String::new();
    let endpoint = loop {
        let chunk = futures::StreamExt::next(&mut events)
            .await
            .unwrap()
            .unwrap();
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
        if let Some(line) = seen
            .lines()
            .find(|line| line.starts_with("data: /toolbox-stdio/messages"))
        {
            break line.trim_start_matches("data: ").to_owned();
        }
    };
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}).to_string();
    let injected = gw
        .request("POST", &endpoint)
        .header("content-type", "application/json")
        .body(call.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(injected.status(), 404);
    let own = gw
        .request("POST", &endpoint)
        .bearer_auth(&analyst)
        .header("content-type", "application/json")
        .body(call)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 202);
}
