//! What agents do on the aggregated endpoint: a restricted caller sees and calls only its
//! tools (built-in ones included), the finder → invoke round trip, an upstream restarted
//! under an open session, the built-in `/mcpgw/mcp` server, legacy SSE clients.

mod common;

use std::time::Duration;

use common::access::{start, token_for};
use common::agent::Agent;
use common::{Launch, TOKEN, upstreams};
use serde_json::{Value, json};

const POLICY: &str = r#"
group_mappings:
  analysts: [toolbox-read]
  agents: [finder]
UI-Scopes:
  toolbox-read:
    list_service: [toolbox]
  finder:
    list_service: [all]
toolbox-read:
- server: "toolbox*"
  methods: [initialize, notifications/initialized, tools/list, tools/call]
  tools: [echo, "base64_*"]
finder:
- server: mcpgw
  methods: [initialize, notifications/initialized, tools/list, tools/call]
  tools: [intelligent_tool_finder, invoke_mcp_tool, list_services]
- server: clock
  methods: [tools/call]
  tools: [current_time_by_timezone]
"#;

fn structured(answer: &Value) -> &Value {
    assert_eq!(answer["ok"], true, "{answer}");
    &answer["structured"]["result"]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restricted_caller_sees_and_calls_only_its_tools() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = start(dir.path(), POLICY).await;
    let toolbox = upstreams::example("toolbox", false).await;
    gw.register_healthy(common::http_server("toolbox", &toolbox.url))
        .await;
    gw.register_healthy(upstreams::stdio_toolbox("toolbox-stdio"))
        .await;
    let analyst = token_for(&gw, &["analysts"]).await;
    let url = format!("{}/mcp", gw.url);
    let Some(mut agent) = Agent::connect("http", "stateful", &url, &analyst).await else {
        return;
    };
    let mut tools = agent.tools().await;
    tools.sort();
    assert_eq!(
        tools,
        [
            "toolbox-stdio__base64_decode",
            "toolbox-stdio__base64_encode",
            "toolbox-stdio__echo",
            "toolbox__base64_decode",
            "toolbox__base64_encode",
            "toolbox__echo",
        ]
    );
    let echoed = agent
        .call("toolbox-stdio__echo", json!({"message": "mine"}))
        .await;
    assert_eq!(echoed["text"], "mine", "{echoed}");
    for refused in ["toolbox__add", "intelligent_tool_finder", "nobody__echo"] {
        let answer = agent.call(refused, json!({"a": 1, "b": 2})).await;
        assert_eq!(answer["ok"], false, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("unknown tool"),
            "{answer}"
        );
    }
    // The refusal is in the audit trail, with the real server and tool.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reply = gw
            .api(
                "GET",
                "/api/audit?server=toolbox&tool=add&decision=deny",
                None,
            )
            .await;
        if reply.body["count"] == 1 {
            let record = &reply.body["records"][0];
            assert_eq!(record["method"], "tools/call", "{record}");
            assert!(record["request_id"].is_string(), "{record}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{:?}", reply.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_finds_a_tool_then_invokes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = start(dir.path(), POLICY).await;
    let time = upstreams::example("currenttime", true).await;
    let toolbox = upstreams::example("toolbox", false).await;
    gw.register_healthy(common::http_server("clock", &time.url))
        .await;
    gw.register_healthy(common::http_server("toolbox", &toolbox.url))
        .await;
    let token = token_for(&gw, &["agents"]).await;
    let url = format!("{}/mcp", gw.url);
    let Some(mut agent) = Agent::connect("http", "stateless", &url, &token).await else {
        return;
    };
    let mut tools = agent.tools().await;
    tools.sort();
    assert_eq!(
        tools,
        [
            "clock__current_time_by_timezone",
            "intelligent_tool_finder",
            "invoke_mcp_tool",
            "list_services"
        ]
    );
    let found = agent
        .call(
            "intelligent_tool_finder",
            json!({"natural_language_query": "what time is it in Tokyo"}),
        )
        .await;
    let best = &structured(&found)[0];
    assert_eq!(best["tool_name"], "current_time_by_timezone", "{found}");
    assert_eq!(best["service_path"], "/clock");
    assert_eq!(best["aggregated_name"], "clock__current_time_by_timezone");
    assert!(
        best["tool_parsed_description"]["parameters"]["tz_name"].is_string(),
        "{best}"
    );
    let score = best["overall_similarity_score"].as_f64().unwrap();
    assert!(score > 0.0 && score <= 1.0, "{best}");
    // Tools the agent may not call are never found.
    let hidden = agent
        .call(
            "intelligent_tool_finder",
            json!({"natural_language_query": "echo a message", "top_n_tools": 5}),
        )
        .await;
    assert_eq!(structured(&hidden), &json!([]), "{hidden}");

    let invoked = agent
        .call(
            "invoke_mcp_tool",
            json!({"server_name": best["service_path"], "tool_name": best["tool_name"], "arguments": {"tz_name": "Asia/Tokyo"}}),
        )
        .await;
    assert_eq!(invoked["ok"], true, "{invoked}");
    assert!(
        invoked["text"].as_str().unwrap().contains("Asia/Tokyo"),
        "{invoked}"
    );
    let refused = agent
        .call(
            "invoke_mcp_tool",
            json!({"server_name": "toolbox", "tool_name": "echo", "arguments": {"message": "x"}}),
        )
        .await;
    assert_eq!(refused["is_error"], true, "{refused}");
    let listed = agent.call("list_services", json!({})).await;
    let paths: Vec<&str> = structured(&listed)
        .as_array()
        .unwrap()
        .iter()
        .map(|server| server["service_path"].as_str().unwrap())
        .collect();
    // `list_service: [all]` still needs an entry for the server (the Python rule).
    assert_eq!(paths, ["/clock"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_restarted_under_an_open_session_is_reached_again() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let port = upstreams::unused_port().await;
    let first = upstreams::example_at("toolbox", port).await;
    gw.register_healthy(common::http_server("toolbox", &first.url))
        .await;
    // Marked, so that only this test's process is killed (tests run side by side).
    let marker = format!("MCPGW_RESTART_TEST={}", std::process::id());
    let mut stdio = upstreams::stdio_toolbox("box");
    stdio["env"] = json!({"MCPGW_RESTART_TEST": std::process::id().to_string()});
    gw.register_healthy(stdio).await;
    let url = format!("{}/mcp", gw.url);
    let Some(mut agent) = Agent::connect("http", "stateful", &url, TOKEN).await else {
        return;
    };
    for tool in ["toolbox__echo", "box__echo"] {
        let answer = agent.call(tool, json!({"message": "before"})).await;
        assert_eq!(answer["text"], "before", "{answer}");
    }
    // The HTTP server restarts: its sessions are gone; the gateway opens a new one.
    drop(first);
    let _second = upstreams::example_at("toolbox", port).await;
    let answer = agent
        .call("toolbox__echo", json!({"message": "after"}))
        .await;
    assert_eq!(answer["text"], "after", "{answer}");
    // The stdio server dies: the gateway starts it again.
    let pids = common::hostile::processes_with(common::binary())
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| String::from_utf8_lossy(&environ).contains(&marker))
        })
        .collect::<Vec<_>>();
    assert!(!pids.is_empty());
    common::hostile::kill_all(&pids);
    // Until the gateway has reaped it (so it knows), as a client cannot tell either.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while pids
        .iter()
        .any(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stdio server was never reaped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = agent.call("box__echo", json!({"message": "again"})).await;
    assert_eq!(answer["text"], "again", "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_builtin_server_manages_the_registry_for_those_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = start(dir.path(), POLICY).await;
    let time = upstreams::example("currenttime", false).await;
    let url = format!("{}/mcpgw/mcp", gw.url);
    let Some(mut admin) = Agent::connect("http", "stateful", &url, TOKEN).await else {
        return;
    };
    let tools = admin.tools().await;
    assert_eq!(
        tools,
        [
            "intelligent_tool_finder",
            "invoke_mcp_tool",
            "list_services",
            "get_service_tools",
            "healthcheck",
            "refresh_service",
            "toggle_service",
            "register_service",
            "remove_service",
        ]
    );
    let registered = admin
        .call("register_service", json!({"path": "clock", "server_name": "Clock", "proxy_pass_url": time.url, "num_stars": 5}))
        .await;
    assert_eq!(registered["is_error"], false, "{registered}");
    gw.wait_for_server("clock", Duration::from_secs(30), |server| {
        server["health"]["status"] == "healthy"
    })
    .await;
    let tools = admin
        .call("get_service_tools", json!({"service_path": "/clock"}))
        .await;
    assert_eq!(
        tools["structured"]["tools"][0]["name"], "current_time_by_timezone",
        "{tools}"
    );
    let health = admin.call("healthcheck", json!({})).await;
    assert_eq!(
        health["structured"]["/clock"]["health"], "healthy",
        "{health}"
    );
    let refreshed = admin
        .call("refresh_service", json!({"service_path": "/clock"}))
        .await;
    assert_eq!(refreshed["structured"]["health"], "healthy", "{refreshed}");
    assert_eq!(refreshed["structured"]["num_tools"], 1, "{refreshed}");
    // Registry actions taken through the built-in tools are in the audit trail, as the
    // REST API's are.
    // (The audit writer stores records in batches: wait for it.)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, audit) = gw
            .get_as("/api/audit?method=register_service&decision=allow", TOKEN)
            .await;
        assert_eq!(status, 200);
        if audit["count"] == 1 {
            assert_eq!(audit["records"][0]["source"], "mcp", "{audit}");
            assert_eq!(audit["records"][0]["server"], "*", "{audit}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{audit}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let toggled = admin
        .call("toggle_service", json!({"service_path": "clock"}))
        .await;
    assert_eq!(toggled["structured"]["enabled"], false, "{toggled}");
    let bad = admin
        .call(
            "register_service",
            json!({"path": "Bad Path", "url": "http://127.0.0.1:9/mcp"}),
        )
        .await;
    assert_eq!(bad["is_error"], true, "{bad}");
    assert!(bad["text"].as_str().unwrap().contains("path"), "{bad}");

    // An agent allowed only the finder tools is offered only those, and may not manage.
    let token = token_for(&gw, &["agents"]).await;
    let Some(mut agent) = Agent::connect("http", "stateless", &url, &token).await else {
        return;
    };
    assert_eq!(
        agent.tools().await,
        [
            "intelligent_tool_finder",
            "invoke_mcp_tool",
            "list_services"
        ]
    );
    let refused = agent
        .call("remove_service", json!({"service_path": "clock"}))
        .await;
    assert!(
        refused["error"].as_str().unwrap().contains("unknown tool"),
        "{refused}"
    );
    let removed = admin
        .call("remove_service", json!({"service_path": "clock"}))
        .await;
    assert_eq!(removed["structured"]["removed"], "/clock", "{removed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_sse_clients_use_the_aggregated_server() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    gw.register_healthy(upstreams::stdio_toolbox("box")).await;
    let url = format!("{}/sse", gw.url);
    let Some(mut agent) = Agent::connect("sse", "stateful", &url, TOKEN).await else {
        return;
    };
    let tools = agent.tools().await;
    assert!(
        tools.iter().any(|tool| tool == "box__countdown"),
        "{tools:?}"
    );
    let counted = agent
        .call("box__countdown", json!({"steps": 2, "delay_ms": 20}))
        .await;
    assert_eq!(counted["progress"], json!([1.0, 2.0]), "{counted}");
    // The built-in server has its legacy endpoint too, with the built-in tools alone.
    let url = format!("{}/mcpgw/sse", gw.url);
    let Some(mut builtins) = Agent::connect("sse", "stateful", &url, TOKEN).await else {
        return;
    };
    let tools = builtins.tools().await;
    assert_eq!(tools.len(), 9, "{tools:?}");
    let listed = builtins.call("list_services", json!({})).await;
    assert_eq!(
        listed["structured"]["result"][0]["service_path"], "/box",
        "{listed}"
    );
}
