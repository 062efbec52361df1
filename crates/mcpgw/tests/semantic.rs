//! Semantic tool search through the real binary, with the real all-MiniLM-L6-v2 model
//! (fetched by the test script into `MCPGW_TEST_MODEL_DIR`): hybrid ranking finds what
//! words miss, the index follows the registry, and a restart embeds nothing again.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Gateway, Launch, TOKEN, upstreams};
use serde_json::{Value, json};

fn model_dir() -> Option<String> {
    common::test_dependency(
        "MCPGW_TEST_MODEL_DIR",
        |dir| Path::new(dir).join("model.safetensors").is_file(),
        "the all-MiniLM-L6-v2 model directory",
    )
}

/// A gateway whose `[search] model_dir` is `model`, with its log.
async fn start(data: &Path, model: &str) -> (Gateway, std::path::PathBuf) {
    std::fs::create_dir_all(data).unwrap();
    let config = data.join("mcpgw.toml");
    std::fs::write(&config, format!("[search]\nmodel_dir = \"{model}\"\n")).unwrap();
    Launch::quiet(data)
        .args(&["--config", config.to_str().unwrap()])
        .start_capturing()
        .await
}

/// Waits until `/health` says search is hybrid (the model loads in the background).
async fn wait_for_hybrid(gw: &Gateway) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let health = common::get_json(&format!("{}/health", gw.url)).await;
        if health["search"]["mode"] == "hybrid" {
            assert_eq!(
                health["search"]["model"],
                "sentence-transformers/all-MiniLM-L6-v2"
            );
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never hybrid: {health}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The paths of the servers and tools found.
fn found_paths(found: &Value, kind: &str, field: &str) -> Vec<String> {
    found[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect()
}

/// Polls a search until its first tool is `expected` (the index follows the registry
/// within a second or so, off the request path).
async fn first_becomes(gw: &Gateway, query: &str, expected: &str) -> Value {
    let query = format!("q={query}&type=tool&k=3");
    gw.search_until(TOKEN, &query, |found| {
        found["tools"][0]["tool_name"] == expected
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn meaning_finds_what_words_miss_and_survives_a_restart() {
    let Some(model) = model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (gw, _) = start(&data, &model).await;
    wait_for_hybrid(&gw).await;
    let time = upstreams::example("currenttime", false).await;
    gw.register_healthy(common::http_server("clock", &time.url))
        .await;
    let mut toolbox = upstreams::stdio_toolbox("box");
    toolbox["description"] = json!("Reference utilities for conformance checks");
    gw.register_healthy(toolbox.clone()).await;

    // No searchable word of this query is in the clock tool's text.
    let found = first_becomes(
        &gw,
        "which hour is it over in Osaka",
        "current_time_by_timezone",
    )
    .await;
    assert_eq!(found["search_mode"], "hybrid", "{found}");
    let found = first_becomes(
        &gw,
        "flip the letters of a sentence backwards",
        "reverse_text",
    )
    .await;
    assert_eq!(found["tools"][0]["server_path"], "box");

    // The aggregated endpoint's finder ranks the same way.
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "intelligent_tool_finder",
        "arguments": {"natural_language_query": "which hour is it over in Osaka"},
        "_meta": common::stateless_meta()}});
    let response = gw
        .request("POST", "/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "intelligent_tool_finder")
        .json(&call)
        .send()
        .await
        .unwrap();
    let answer = common::rpc_messages(response).await.remove(0);
    let best = &answer["result"]["structuredContent"]["result"][0];
    assert_eq!(best["tool_name"], "current_time_by_timezone", "{answer}");

    // Servers are embedded too: found by what they say, in other words.
    let meaning = "q=a+sandbox+for+verifying+that+a+client+behaves&k=5";
    let found = gw
        .search_until(TOKEN, meaning, |found| found["servers"][0]["path"] == "box")
        .await;
    assert!(
        !found["servers"][0]["matched"]
            .as_array()
            .unwrap()
            .contains(&json!("description")),
        "found by meaning, not by a shared word: {found}"
    );

    // The index follows the registry: a disabled or removed server's tools are gone, an
    // enabled or registered one's are back.
    let query = "flip+the+letters+of+a+sentence+backwards";
    let listing = format!("q={query}&k=5");
    let toggled = gw
        .api(
            "POST",
            "/api/servers/box/toggle",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(toggled.status, 200);
    gw.search_until(TOKEN, &listing, |found| {
        !found_paths(found, "tools", "server_path").contains(&"box".to_owned())
            && !found_paths(found, "servers", "path").contains(&"box".to_owned())
    })
    .await;
    let toggled = gw
        .api(
            "POST",
            "/api/servers/box/toggle",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(toggled.status, 200);
    first_becomes(&gw, query, "reverse_text").await;
    assert_eq!(gw.api("DELETE", "/api/servers/box", None).await.status, 204);
    gw.search_until(TOKEN, &listing, |found| {
        !found_paths(found, "tools", "server_path").contains(&"box".to_owned())
    })
    .await;
    gw.register_healthy(toolbox).await;
    first_becomes(&gw, query, "reverse_text").await;

    // A restart finds every text's vector in the database: nothing is embedded again.
    drop(gw);
    let (gw, log) = start(&data, &model).await;
    wait_for_hybrid(&gw).await;
    let text = std::fs::read_to_string(&log).unwrap();
    let loaded = text
        .lines()
        .find(|line| line.contains("embedding model loaded"))
        .unwrap_or_else(|| panic!("{text}"));
    let cached: usize = loaded
        .split("cached=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("{loaded}"));
    assert_eq!(
        cached, 26,
        "two texts each of 1 clock tool and 11 toolbox tools, and one per server: {loaded}"
    );
    drop(time);
}
