//! The aggregated endpoint `/mcp`, driven by the official Python SDK as an agent would use
//! it, against real upstreams of every era: server-everything over Streamable HTTP and
//! over legacy SSE (npm), and the example toolbox over stdio.

mod common;

use common::agent::Agent;
use common::{Launch, TOKEN, upstreams};
use serde_json::json;

/// The agent's round: tools of three eras listed and called, progress relayed, and a
/// list change announced when a fourth server is registered.
async fn three_eras(era: &str) {
    let Some(entry) = upstreams::everything_entry() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let http = upstreams::everything(&entry, "streamableHttp").await;
    let sse = upstreams::everything(&entry, "sse").await;
    gw.register_healthy(common::http_server("everything", &http.url))
        .await;
    let mut legacy = common::http_server("everything-sse", &sse.url);
    legacy["transport"] = json!("sse");
    gw.register_healthy(legacy).await;
    gw.register_healthy(upstreams::stdio_toolbox("box")).await;

    let url = format!("{}/mcp", gw.url);
    let Some(mut agent) = Agent::connect("http", era, &url, TOKEN).await else {
        return;
    };
    let listed = agent.step(json!({"op": "list"})).await;
    let tools: Vec<String> = serde_json::from_value(listed["tools"].clone()).unwrap();
    for expected in [
        "everything__echo",
        "everything-sse__echo",
        "box__countdown",
        "intelligent_tool_finder",
        "invoke_mcp_tool",
    ] {
        assert!(
            tools.iter().any(|tool| tool == expected),
            "{expected} in {tools:?}"
        );
    }
    assert_eq!(listed["servers"]["everything-sse__echo"], "everything-sse");
    // Deterministic order: built-in tools, then by server path.
    let again = agent.tools().await;
    assert_eq!(tools, again);

    for server in ["everything", "everything-sse", "box"] {
        let echoed = agent
            .call(
                &format!("{server}__echo"),
                json!({"message": format!("hello {server}")}),
            )
            .await;
        assert_eq!(echoed["ok"], true, "{echoed}");
        assert!(
            echoed["text"]
                .as_str()
                .unwrap()
                .contains(&format!("hello {server}")),
            "{echoed}"
        );
    }
    // Progress from a stdio server and from a Streamable HTTP one reaches the agent.
    let counted = agent
        .call("box__countdown", json!({"steps": 3, "delay_ms": 50}))
        .await;
    assert_eq!(counted["ok"], true, "{counted}");
    assert!(
        counted["progress"].as_array().unwrap().len() >= 3,
        "{counted}"
    );
    let long = agent
        .call(
            "everything__trigger-long-running-operation",
            json!({"duration": 0.3, "steps": 3}),
        )
        .await;
    assert_eq!(long["ok"], true, "{long}");
    assert_eq!(long["progress"], json!([1.0, 2.0, 3.0]), "{long}");

    // A new server: the open session is told, and its tools are offered.
    let time = upstreams::example("currenttime", false).await;
    gw.register_healthy(common::http_server("clock", &time.url))
        .await;
    assert!(
        agent.list_changed(20).await,
        "tools/list_changed after a registration"
    );
    let tools = agent.tools().await;
    assert!(
        tools
            .iter()
            .any(|tool| tool == "clock__current_time_by_timezone"),
        "{tools:?}"
    );
    // And told again when it goes away.
    assert_eq!(
        gw.api(
            "POST",
            "/api/servers/clock/toggle",
            Some(json!({"enabled": false}))
        )
        .await
        .status,
        200
    );
    assert!(
        agent.list_changed(20).await,
        "tools/list_changed after a server was disabled"
    );
    assert!(
        !agent
            .tools()
            .await
            .iter()
            .any(|tool| tool.starts_with("clock__"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stateful_agent_uses_servers_of_every_era() {
    three_eras("stateful").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stateless_agent_uses_servers_of_every_era() {
    three_eras("stateless").await;
}
