//! Metrics through the real binary: after real MCP traffic (a stateful session with a named
//! client, a tool call, an unknown tool, a refused caller, a stdio server, a search) the
//! Python gateway's metric names and labels and the proxy's own move as the traffic says,
//! and the exposition parses as Prometheus text. `/metrics` is for admins on the main
//! listener and open on `[metrics] listen`.

mod common;

use std::time::Duration;

use common::{Gateway, Launch, TOKEN, upstreams};
use prometheus_parse::{Sample, Scrape, Value as Sampled};
use serde_json::{Value, json};

/// A gateway with a metrics listener of its own; returns it with that listener's URL.
async fn start(dir: &std::path::Path) -> (Gateway, String) {
    let config = dir.join("mcpgw.toml");
    std::fs::write(&config, "[metrics]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let (gw, log) = Launch::quiet(dir)
        .args(&["--config", config.to_str().unwrap()])
        .start_capturing()
        .await;
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|line| line.contains("metrics listening"))
        .unwrap_or_else(|| panic!("{text}"));
    let address = line
        .split("address=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"));
    (gw, format!("http://{address}"))
}

/// POSTs one JSON-RPC message to `path` in the 2025-11-25 way; returns the response.
async fn rpc(gw: &Gateway, path: &str, session: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = gw
        .request("POST", path)
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body);
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request.send().await.unwrap()
}

/// The metrics listener's page, parsed (it needs no credentials).
async fn scrape(metrics_url: &str) -> Scrape {
    let text = common::client()
        .get(format!("{metrics_url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("Prometheus text")
}

/// The value of the counter `name` whose labels include every pair of `labels`.
fn counter(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == name && matches(sample, labels))
        .map(|sample| match sample.value {
            Sampled::Counter(value) | Sampled::Gauge(value) | Sampled::Untyped(value) => value,
            _ => 0.0,
        })
        .sum()
}

fn matches(sample: &Sample, labels: &[(&str, &str)]) -> bool {
    labels
        .iter()
        .all(|(name, value)| sample.labels.get(name) == Some(*value))
}

#[tokio::test(flavor = "multi_thread")]
async fn traffic_moves_the_metrics_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, metrics_url) = start(dir.path()).await;
    let time = upstreams::example("currenttime", false).await;
    gw.register_healthy(common::http_server("clock", &time.url))
        .await;
    gw.register_healthy(upstreams::stdio_toolbox("box")).await;

    // A stateful session from a named client: initialize, a list, a call, an unknown tool.
    let opened = rpc(
        &gw,
        "/clock/mcp",
        None,
        json!({"jsonrpc": "2.0", "id": 1,
        "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "metrics-test", "version": "9.9"}}}),
    )
    .await;
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    // Its answer read to the end: only the stream opened below is open then.
    common::rpc_messages(opened).await;
    let session_id = session;
    let session = Some(session_id.as_str());
    let notified = rpc(
        &gw,
        "/clock/mcp",
        session,
        json!({"jsonrpc": "2.0",
        "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(notified.status(), 202);
    let listed = rpc(
        &gw,
        "/clock/mcp",
        session,
        json!({"jsonrpc": "2.0", "id": 2,
        "method": "tools/list"}),
    )
    .await;
    assert_eq!(listed.status(), 200);
    drop(listed);
    for (id, tool) in [(3, "current_time_by_timezone"), (4, "no_such_tool")] {
        let called = rpc(
            &gw,
            "/clock/mcp",
            session,
            json!({"jsonrpc": "2.0", "id": id,
            "method": "tools/call", "params": {"name": tool,
            "arguments": {"timezone_name": "Asia/Tokyo"}}}),
        )
        .await;
        assert_eq!(called.status(), 200);
        common::rpc_messages(called).await;
    }
    // A caller without credentials, and a stdio server.
    let refused = gw
        .request("POST", "/clock/mcp")
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":9,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let echoed = rpc(
        &gw,
        "/box/mcp",
        None,
        json!({"jsonrpc": "2.0", "id": 5,
        "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "hi"}}}),
    )
    .await;
    assert_eq!(echoed.status(), 200);
    common::rpc_messages(echoed).await;
    // A call through the aggregated endpoint counts against the real server and tool.
    let call = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {
        "name": "clock__current_time_by_timezone",
        "arguments": {"timezone_name": "Europe/Paris"},
        "_meta": common::stateless_meta()}});
    let aggregated = gw
        .request("POST", "/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "clock__current_time_by_timezone")
        .json(&call)
        .send()
        .await
        .unwrap();
    let answer = common::rpc_messages(aggregated).await.remove(0);
    assert!(answer["result"]["content"].is_array(), "{answer}");
    let (status, _) = gw.get_as("/api/search?q=time", TOKEN).await;
    assert_eq!(status, 200);

    // Admins read the metrics on the main listener; nobody else does.
    let anonymous = gw.request("GET", "/metrics").send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let response = gw
        .request("GET", "/metrics")
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    // The metrics listener needs no credentials; wait until every answer is counted (a
    // request is counted once its answer's head is out).
    let mut metrics = Scrape::parse(std::iter::empty()).unwrap();
    for _ in 0..50 {
        metrics = scrape(&metrics_url).await;
        if counter(&metrics, "mcpgw_http_requests_total", &[("route", "api")]) > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let client = [("client_name", "metrics-test"), ("client_version", "9.9")];
    let call = |tool: &str, success: &str| {
        let mut labels = vec![
            ("method", "tools/call"),
            ("server_name", "clock"),
            ("server_path", "/clock/"),
            ("tool_name", tool),
            ("success", success),
        ];
        labels.extend(client);
        counter(&metrics, "mcp_tool_executions_total", &labels)
    };
    assert_eq!(call("current_time_by_timezone", "true"), 1.0);
    // The unknown tool is counted, but under no name of its own.
    assert_eq!(call("_unset", "true"), 1.0);
    assert!(
        !metrics
            .samples
            .iter()
            .any(|sample| sample.labels.get("tool_name") == Some("no_such_tool"))
    );
    for method in ["initialize", "notifications/initialized", "tools/list"] {
        let labels = [("method", method), ("server_name", "clock"), client[0]];
        assert_eq!(
            counter(&metrics, "mcp_tool_executions_total", &labels),
            1.0,
            "{method}"
        );
    }
    let through_mcp = [
        ("server_name", "clock"),
        ("tool_name", "current_time_by_timezone"),
        ("success", "true"),
        // The 2026-07-28 request names its client in `_meta`.
        ("client_name", "test"),
        ("client_version", "1"),
    ];
    assert_eq!(
        counter(&metrics, "mcp_tool_executions_total", &through_mcp),
        1.0
    );
    let aggregate_auth = [("server", "mcp"), ("success", "true")];
    assert_eq!(
        counter(&metrics, "mcp_auth_requests_total", &aggregate_auth),
        1.0
    );
    let aggregate_ok = [("route", "aggregate_mcp"), ("status", "200")];
    assert_eq!(
        counter(&metrics, "mcpgw_http_requests_total", &aggregate_ok),
        1.0
    );
    let echo = [
        ("server_name", "box"),
        ("tool_name", "echo"),
        ("client_name", "unknown"),
    ];
    assert_eq!(counter(&metrics, "mcp_tool_executions_total", &echo), 1.0);

    let auth =
        |success: &str| counter(&metrics, "mcp_auth_requests_total", &[("success", success)]);
    assert!(auth("true") >= 6.0, "{}", auth("true"));
    assert_eq!(
        counter(
            &metrics,
            "mcp_auth_requests_total",
            &[
                ("server", "clock"),
                ("method", "unknown"),
                ("success", "false")
            ]
        ),
        1.0
    );
    assert!(
        counter(
            &metrics,
            "mcp_health_checks_total",
            &[("endpoint", "/health/clock"), ("healthy", "true")]
        ) >= 1.0
    );
    assert_eq!(
        counter(&metrics, "mcp_tool_discovery_total", &[("source", "api")]),
        1.0
    );
    assert!(
        counter(
            &metrics,
            "mcpgw_http_requests_total",
            &[("route", "server_mcp"), ("status", "200")]
        ) >= 5.0
    );
    assert_eq!(
        counter(
            &metrics,
            "mcpgw_http_requests_total",
            &[("route", "server_mcp"), ("status", "401")]
        ),
        1.0
    );
    assert!(
        counter(
            &metrics,
            "mcpgw_policy_decisions_total",
            &[("source", "mcp"), ("decision", "allowed")]
        ) >= 6.0
    );
    assert_eq!(counter(&metrics, "mcpgw_stdio_processes", &[]), 1.0);
    assert_eq!(
        counter(
            &metrics,
            "mcpgw_stdio_process_starts_total",
            &[("server", "box")]
        ),
        1.0
    );
    // The session's steps, each once.
    for step in [
        "initialize_to_tools_list",
        "tools_list_to_tools_call",
        "full_protocol_flow",
    ] {
        let labels = [("flow_step", step), ("server_name", "clock")];
        let count = counter(&metrics, "mcp_protocol_latency_seconds_count", &labels);
        assert_eq!(count, 1.0, "{step}");
    }
    // Histograms: the upstream's share and the gateway's own.
    for name in [
        "mcp_tool_execution_duration_seconds",
        "mcpgw_upstream_duration_seconds",
        "mcpgw_gateway_overhead_seconds",
        "mcp_auth_request_duration_seconds",
    ] {
        assert!(
            metrics.samples.iter().any(
                |sample| sample.metric == name && matches!(sample.value, Sampled::Histogram(_))
            ),
            "{name}"
        );
    }

    // An event stream is counted while it is open, and no longer once its client leaves.
    let stream = gw
        .request("GET", "/clock/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", session_id.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let open = [("route", "server_mcp")];
    let open_now = async || counter(&scrape(&metrics_url).await, "mcpgw_open_streams", &open);
    assert_eq!(open_now().await, 1.0);
    drop(stream);
    let mut left = 1.0;
    for _ in 0..50 {
        left = open_now().await;
        if left == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        left, 0.0,
        "the stream is still counted after its client left"
    );
    drop(time);
}
