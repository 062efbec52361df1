//! The analytics tables through the real binary: after real traffic, rows land in
//! `auth_metrics`, `tool_metrics` and `discovery_metrics` (read back with the Python
//! gateway's own sample SQL), `GET /api/metrics/summary` agrees with the traffic, and
//! `mcpgw stats` prints it.

mod common;

use std::time::Duration;

use common::{Gateway, Launch, TOKEN, upstreams};
use serde_json::{Value, json};

/// One tools/call on `/clock/mcp` in the 2026-07-28 way, from the client `client`.
async fn call(gw: &Gateway, tool: &str, client: &str) -> u16 {
    let mut meta = common::stateless_meta();
    meta["io.modelcontextprotocol/clientInfo"] = json!({"name": client, "version": "1"});
    let response = gw
        .request("POST", "/clock/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": tool, "arguments": {"timezone_name": "UTC"}, "_meta": meta}}),
        )
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    common::rpc_messages(response).await;
    status
}

/// The line of `summary[kind]` whose `field` is `value`.
fn line<'a>(summary: &'a Value, kind: &str, field: &str, value: &str) -> Option<&'a Value> {
    summary[kind]
        .as_array()?
        .iter()
        .find(|line| line[field] == value)
}

/// The summary once it counts `calls` calls of the clock server (rows are written in
/// batches every 200 ms).
async fn summary_with(gw: &Gateway, calls: u64) -> Value {
    let mut summary = Value::Null;
    for _ in 0..100 {
        summary = gw.api("GET", "/api/metrics/summary", None).await.body;
        let counted =
            line(&summary, "servers", "server", "clock").and_then(|l| l["calls"].as_u64());
        if counted == Some(calls) {
            return summary;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the summary never counted {calls} calls: {summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn traffic_lands_in_the_tables_and_the_summary_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let time = upstreams::example("currenttime", true).await;
    gw.register_healthy(common::http_server("clock", &time.url))
        .await;
    for client in ["cursor", "cursor", "claude-code"] {
        assert_eq!(call(&gw, "current_time_by_timezone", client).await, 200);
    }
    let (status, _) = gw.get_as("/api/search?q=time", TOKEN).await;
    assert_eq!(status, 200);

    let summary = summary_with(&gw, 3).await;
    let clock = line(&summary, "servers", "server", "clock").unwrap();
    assert_eq!(clock["errors"], 0, "{summary}");
    assert_eq!(clock["unique_clients"], 2, "{summary}");
    assert!(clock["p95_ms"].as_f64().unwrap() >= clock["p50_ms"].as_f64().unwrap());
    let tool = line(&summary, "tools", "tool", "current_time_by_timezone").unwrap();
    assert_eq!(tool["calls"], 3, "{summary}");
    // A window with nothing in it, and a bad time.
    let empty = gw
        .api(
            "GET",
            "/api/metrics/summary?since=2020-01-01T00:00:00Z&until=2020-01-02T00:00:00Z",
            None,
        )
        .await;
    assert_eq!(empty.body["servers"], json!([]), "{:?}", empty.body);
    let bad = gw
        .api("GET", "/api/metrics/summary?since=yesterday", None)
        .await;
    assert_eq!(bad.status, 422);
    let anonymous = gw
        .request("GET", "/api/metrics/summary")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let (ok, stdout, stderr) = gw.cli(&["stats", "--since", "1h"]).await;
    assert!(ok, "{stderr}");
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("clock") && line.contains(" 3 ")),
        "{stdout}"
    );

    // The Python gateway's own SQL reads the tables (its samples are SQLite's SQL: on
    // PostgreSQL the same rows are counted with psql).
    let database = dir.path().join("mcpgw.db");
    if let Some(database_url) = common::database::postgres_for(dir.path()).await {
        let rows = |sql: &'static str| common::replicas::psql(&database_url, sql);
        let timed = "SELECT COUNT(*), SUM(success), COUNT(DISTINCT client_name) \
                     FROM tool_metrics WHERE tool_name = 'current_time_by_timezone'";
        assert_eq!(
            rows(timed).await,
            "3|3|2",
            "calls, successful, unique clients"
        );
        let auth = "SELECT COUNT(*) > 0 AND COUNT(*) = SUM(success) \
                    FROM auth_metrics WHERE server = 'clock'";
        assert_eq!(rows(auth).await, "t", "all authorised");
        let stamps = "SELECT bool_and(timestamp::timestamptz <= now()) FROM tool_metrics";
        assert_eq!(rows(stamps).await, "t", "timestamps parse");
        let searches = "SELECT COUNT(*) FROM discovery_metrics \
                        WHERE query = 'time' AND source = 'api'";
        assert_ne!(rows(searches).await, "0", "the search is recorded");
    } else if let Some(found) =
        common::run_python("analytics_rows.py", &[database.to_str().unwrap()]).await
    {
        let tools = found["tools"].as_array().unwrap();
        let timed = tools
            .iter()
            .find(|row| row[0] == "current_time_by_timezone")
            .unwrap_or_else(|| panic!("{found}"));
        assert_eq!(timed[1], 3, "calls: {found}");
        assert_eq!(timed[2], 3, "successful: {found}");
        assert_eq!(timed[4], 2, "unique clients: {found}");
        let auth = found["auth"].as_array().unwrap();
        assert!(
            auth.iter().any(|row| row[0] == "clock" && row[3] == 100.0),
            "{found}"
        );
        assert!(
            found["slowest"][0][3].is_string(),
            "timestamps parse: {found}"
        );
        let searches = found["searches"].as_array().unwrap();
        assert!(
            searches
                .iter()
                .any(|row| row[0] == "time" && row[2] == "api"),
            "{found}"
        );
    }
    drop(time);
}

#[tokio::test(flavor = "multi_thread")]
async fn analytics_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path())
        .env("MCPGW_ANALYTICS", "false")
        .start()
        .await;
    let summary = gw.api("GET", "/api/metrics/summary", None).await;
    assert_eq!(summary.status, 400, "{:?}", summary.body);
    assert!(
        summary.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no analytics")
    );
    // The metrics stay.
    let metrics = gw
        .request("GET", "/metrics")
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_older_than_the_retention_are_pruned_and_bad_settings_refused() {
    use mcpgw_telemetry::analytics::{AnalyticsRow, AnalyticsStore, StoredRow, ToolRow};
    use mcpgw_telemetry::audit::now_millis;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Written straight into the database while no gateway runs: one row 100 days old,
    // one 10 days old.
    let url = common::database::url_for(&data).await;
    let store = mcpgw_store::connect(&url).await.unwrap();
    let row = |id: &str, days: i64| StoredRow {
        id: id.to_owned(),
        user_hash: None,
        row: AnalyticsRow::Tool(ToolRow {
            at: now_millis() - days * 86_400_000,
            server_name: "clock".into(),
            server_path: "/clock/".into(),
            tool_name: "now".into(),
            method: "tools/call".into(),
            client_name: None,
            client_version: None,
            user: None,
            success: true,
            error_code: None,
            duration_ms: 1.0,
            request_id: None,
        }),
    };
    store
        .append_analytics(&[row("ancient", 100), row("recent", 10)])
        .await
        .unwrap();
    store.close().await;

    // Bad settings are refused with one readable line.
    for (variable, value, said) in [
        (
            "MCPGW_METRICS_RETENTION_DAYS",
            "forever",
            "MCPGW_METRICS_RETENTION_DAYS",
        ),
        (
            "MCPGW_METRICS_RETENTION_DAYS",
            "40000",
            "metrics retention_days",
        ),
        ("MCPGW_ANALYTICS", "maybe", "MCPGW_ANALYTICS"),
    ] {
        let data = data.to_str().unwrap();
        let args = ["serve", "--listen", "127.0.0.1:0", "--data-dir", data];
        let (ok, _, stderr) = common::run_cli(None, &args, &[(variable, value)]).await;
        assert!(!ok, "{variable}={value}");
        assert!(stderr.contains(said), "{variable}={value}: {stderr}");
    }

    let config = dir.path().join("mcpgw.toml");
    std::fs::write(&config, "[metrics]\nretention_days = 30\n").unwrap();
    let gw = Launch::quiet(&data)
        .args(&["--config", config.to_str().unwrap()])
        .start()
        .await;
    let window = "/api/metrics/summary?since=2000-01-01T00:00:00Z&server=clock";
    let mut calls = None;
    for _ in 0..100 {
        let summary = gw.api("GET", window, None).await.body;
        calls = line(&summary, "servers", "server", "clock").and_then(|l| l["calls"].as_u64());
        if calls == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(calls, Some(1), "only the 10-day-old row is left");
}
