//! Access control on MCP routes, end to end: a `scopes.yml` in the Python gateway's format,
//! callers holding real gateway tokens for their groups, real MCP servers, and every
//! bypass attempt a caller could make. A refused request must never reach the server,
//! which a recording upstream checks.

mod common;

use std::time::{Duration, Instant};

use common::access::*;
use common::{TOKEN, hostile, upstreams};
use serde_json::{Value, json};

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
    // An id no float can hold comes back exactly as sent, so the client can match it.
    let huge = r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"tools/call","params":{"name":"add"}}"#;
    let refused = post(&gw, path, Some(&analyst), &[], huge).await;
    assert_eq!(refused.status(), 403);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains(r#""id":123456789012345678901234567890,"#),
        "{text}"
    );
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
