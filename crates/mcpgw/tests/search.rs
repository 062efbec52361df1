//! Tool and server search through the real binary: `GET /api/search`, the Python
//! registry's `POST /api/search/semantic`, and `mcpgw search`; only what the caller may
//! see is searched, and the registry's changes are followed at once.

mod common;

use common::access::{start, token_for};
use common::{Gateway, Launch, TOKEN, upstreams};
use serde_json::{Value, json};

const POLICY: &str = r#"
group_mappings:
  analysts: [toolbox-read]
UI-Scopes:
  toolbox-read:
    list_service: [box]
toolbox-read:
- server: box
  methods: [tools/list, tools/call]
  tools: [echo, "base64_*"]
"#;

async fn search(gw: &Gateway, token: &str, query: &str) -> (u16, Value) {
    gw.get_as(&format!("/api/search?{query}"), token).await
}

fn tool_names(found: &Value) -> Vec<String> {
    found["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| {
            format!(
                "{}/{}",
                tool["server_path"].as_str().unwrap(),
                tool["tool_name"].as_str().unwrap()
            )
        })
        .collect()
}

/// Registers the clock (HTTP, kept running by the returned handle) and the stdio toolbox.
async fn servers(gw: &Gateway) -> upstreams::Upstream {
    let time = upstreams::example("currenttime", false).await;
    let mut clock = common::http_server("clock", &time.url);
    clock["tags"] = json!(["time", "demo"]);
    gw.register_healthy(clock).await;
    let mut stdio = upstreams::stdio_toolbox("box");
    stdio["tags"] = json!(["demo"]);
    stdio["description"] = json!("Reference utilities for conformance checks");
    gw.register_healthy(stdio).await;
    // Both are searchable once the search catalogue has caught up.
    gw.search_until(TOKEN, "q=echo+time&type=server", |found| {
        found["servers"]
            .as_array()
            .is_some_and(|servers| servers.len() == 2)
    })
    .await;
    time
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_and_servers_are_found_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let _clock = servers(&gw).await;

    let (status, found) = search(&gw, TOKEN, "q=what+time+is+it+in+Tokyo&k=3").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["search_mode"], "lexical");
    assert_eq!(
        tool_names(&found)[0],
        "clock/current_time_by_timezone",
        "{found}"
    );
    let best = &found["tools"][0];
    assert!(
        best["matched"].as_array().unwrap().contains(&json!("name")),
        "{best}"
    );
    assert!(best["score"].as_f64().unwrap() > 0.0 && best["score"].as_f64().unwrap() <= 1.0);
    assert_eq!(found["servers"][0]["path"], "clock", "{found}");
    assert!(found["tools"].as_array().unwrap().len() <= 3);

    let (_, found) = search(&gw, TOKEN, "q=encode+text+as+base64&type=tool&k=1").await;
    assert_eq!(tool_names(&found), ["box/base64_encode"], "{found}");
    assert!(found["servers"].as_array().unwrap().is_empty());
    let (_, found) = search(&gw, TOKEN, "q=time&type=server&tags=time").await;
    assert_eq!(found["servers"][0]["path"], "clock");
    assert!(found["tools"].as_array().unwrap().is_empty());
    // A server is found by its own words too, not only by its tools' (`matched` says
    // which; "tools" would say its tools scored higher).
    let (_, found) = search(&gw, TOKEN, "q=conformance+checks&type=server").await;
    assert_eq!(found["servers"][0]["path"], "box", "{found}");
    assert_eq!(
        found["servers"][0]["matched"],
        json!(["description"]),
        "{found}"
    );
    assert_eq!(found["servers"].as_array().unwrap().len(), 1, "{found}");
    let (_, found) = search(&gw, TOKEN, "q=time&tags=nothing").await;
    assert!(found["tools"].as_array().unwrap().is_empty(), "{found}");

    // A body that is not the request gets the API's error, naming what is wrong.
    for (body, status, code) in [
        ("{not json", 400, "bad_request"),
        (
            r#"{"query": "time", "entity_types": ["prompt"]}"#,
            422,
            "invalid",
        ),
        (r#"{"query": "time", "colour": 1}"#, 422, "invalid"),
    ] {
        let response = gw
            .request("POST", "/api/search/semantic")
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"]["code"].as_str().unwrap().starts_with(code),
            "{error}"
        );
        assert!(error["error"]["message"].is_string(), "{error}");
    }

    // The Python registry's shape.
    let response = gw
        .request("POST", "/api/search/semantic")
        .bearer_auth(TOKEN)
        .json(&json!({"query": "current time in a timezone", "entity_types": ["tool"], "max_results": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let found: Value = response.json().await.unwrap();
    assert_eq!(
        found["tools"][0]["tool_name"], "current_time_by_timezone",
        "{found}"
    );
    assert!(found["servers"].as_array().unwrap().is_empty());
    assert!(found["search_mode"].is_string());

    // The registry's changes are searched at once.
    let toggled = gw
        .api(
            "POST",
            "/api/servers/clock/toggle",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(toggled.status, 200);
    gw.search_until(TOKEN, "q=current+time+timezone", |found| {
        !tool_names(found)
            .iter()
            .any(|name| name.starts_with("clock/"))
    })
    .await;

    // Bad requests say what is wrong.
    for (query, status) in [
        ("q=", 422),
        ("q=x&k=0", 422),
        ("q=x&type=prompt", 422),
        ("q=x&color=red", 400),
    ] {
        assert_eq!(search(&gw, TOKEN, query).await.0, status, "{query}");
    }
    let anonymous = gw
        .request("GET", "/api/search?q=time")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_finds_only_what_it_may_use() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = start(dir.path(), POLICY).await;
    let _clock = servers(&gw).await;
    let analyst = token_for(&gw, &["analysts"]).await;
    // Neither the hidden server nor the tools it may not call are found, or counted.
    let (status, found) = search(&gw, &analyst, "q=what+time+is+it&k=10").await;
    assert_eq!(status, 200, "{found}");
    assert!(
        !tool_names(&found)
            .iter()
            .any(|name| name.starts_with("clock/")),
        "{found}"
    );
    assert!(
        !found["servers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["path"] == "clock")
    );
    let (_, found) = search(&gw, &analyst, "q=add+two+numbers+echo+base64&k=20").await;
    let mut names = tool_names(&found);
    names.sort();
    assert_eq!(
        names,
        ["box/base64_decode", "box/base64_encode", "box/echo"],
        "{found}"
    );
    assert_eq!(
        found["servers"][0]["matching_tools"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_prints_what_it_found() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let _clock = servers(&gw).await;
    let (ok, stdout, stderr) = gw
        .cli(&["search", "what time is it in Tokyo", "-k", "2"])
        .await;
    assert!(ok, "{stderr}");
    let first = stdout.lines().nth(1).unwrap_or_default();
    assert!(
        first.contains("clock") && first.contains("current_time_by_timezone"),
        "{stdout}"
    );
    assert!(stdout.contains("(lexical search)"), "{stdout}");
}
