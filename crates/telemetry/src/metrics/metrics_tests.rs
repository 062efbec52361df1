use std::time::Duration;

use super::*;

fn sample<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .collect()
}

#[test]
fn the_python_names_and_labels_are_exposed() {
    let metrics = Metrics::new();
    metrics.auth("currenttime", "jwt", true, Duration::from_millis(3));
    metrics.mcp_message(&McpMessage {
        method: "tools/call",
        server: "currenttime",
        tool: Some("current_time_by_timezone"),
        success: true,
        client: Some(("claude-code", "1.2")),
        elapsed: Duration::from_millis(40),
    });
    metrics.mcp_message(&McpMessage {
        method: "tools/call",
        server: "currenttime",
        tool: None,
        success: false,
        client: None,
        elapsed: Duration::from_millis(1),
    });
    metrics.health_check("currenttime", true, Duration::from_millis(9));
    metrics.discovery("api", "lexical", Duration::from_micros(300));
    let text = metrics.encode();
    assert!(
        text.contains("# TYPE mcp_auth_requests_total counter"),
        "{text}"
    );
    assert_eq!(
        sample(&text, "mcp_auth_requests_total{"),
        ["mcp_auth_requests_total{server=\"currenttime\",method=\"jwt\",success=\"true\"} 1"]
    );
    let calls = sample(&text, "mcp_tool_executions_total{");
    assert!(
        calls.contains(
            &"mcp_tool_executions_total{method=\"tools/call\",server_name=\"currenttime\",\
              server_path=\"/currenttime/\",tool_name=\"current_time_by_timezone\",\
              success=\"true\",client_name=\"claude-code\",client_version=\"1.2\"} 1"
        ),
        "{calls:?}"
    );
    // An unknown tool is no series of its own.
    assert!(
        calls
            .iter()
            .any(|line| line.contains("tool_name=\"_unset\"")
                && line.contains("client_name=\"unknown\""))
    );
    assert!(text.contains("mcp_tool_execution_duration_seconds_bucket{"));
    assert!(
        text.contains("le=\"300\"") || text.contains("le=\"300.0\""),
        "{text}"
    );
    assert!(text.contains(
        "mcp_health_checks_total{endpoint=\"/health/currenttime\",status_code=\"200\",healthy=\"true\"} 1"
    ));
    assert!(text.contains("mcp_tool_discovery_total{source=\"api\",mode=\"lexical\"} 1"));
}

#[test]
fn gauges_follow_their_guards_and_writers_report() {
    let metrics = Metrics::new();
    let stream = metrics.stream_opened("server_mcp");
    let process = metrics.stdio_started("box");
    let text = metrics.encode();
    assert!(
        text.contains("mcpgw_open_streams{route=\"server_mcp\"} 1"),
        "{text}"
    );
    assert!(text.contains("mcpgw_stdio_processes 1"), "{text}");
    assert!(text.contains("mcpgw_stdio_process_starts_total{server=\"box\"} 1"));
    drop((stream, process));
    let (queue, dropped) = metrics.writer("audit");
    queue.set(7);
    dropped.inc_by(2);
    metrics.http("api", 404, Duration::from_micros(80));
    metrics.upstream(
        "server_mcp",
        "box",
        Duration::from_millis(2),
        Duration::from_millis(3),
    );
    let text = metrics.encode();
    assert!(
        text.contains("mcpgw_open_streams{route=\"server_mcp\"} 0"),
        "{text}"
    );
    assert!(text.contains("mcpgw_stdio_processes 0"));
    assert!(text.contains("mcpgw_writer_queue_depth{writer=\"audit\"} 7"));
    assert!(text.contains("mcpgw_writer_dropped_total{writer=\"audit\"} 2"));
    assert!(text.contains("mcpgw_http_requests_total{route=\"api\",status=\"404\"} 1"));
    assert!(text.contains("mcpgw_gateway_overhead_seconds_count{route=\"server_mcp\"} 1"));
}

#[test]
fn the_dashboards_query_only_what_is_exported() {
    let metrics = Metrics::new();
    let names = metrics.sample_names();
    assert!(names.iter().any(|name| name == "mcp_tool_executions_total"));
    assert!(
        names
            .iter()
            .any(|name| name == "mcp_auth_request_duration_seconds_bucket")
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/observability/grafana/dashboards");
    let mut queries = 0;
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let dashboard: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                queries += 1;
                let used = expr
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|word| word.starts_with("mcp_") || word.starts_with("mcpgw_"));
                for name in used {
                    if !names.iter().any(|exported| exported == name) {
                        missing.push(format!("{}: {name}", path.display()));
                    }
                }
            }
        }
    }
    assert!(queries >= 20, "{queries} queries");
    assert!(missing.is_empty(), "not exported: {missing:#?}");
}
