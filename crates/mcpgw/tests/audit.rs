//! The audit trail through the real binary: decisions on MCP routes (allowed, refused, a
//! batch, a refused server) recorded with who, what, why and the request id; read back
//! through `GET /api/audit` (filters, pages, admins only) and `mcpgw audit`; flushed at
//! shutdown and kept across a restart; old records pruned by `[audit] retention_days`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Gateway, Launch, TOKEN, upstreams};
use serde_json::{Value, json};

/// A group that may list and call one tool of `currenttime`, and nothing else.
const SCOPES: &str = "\
group_mappings:
  time-readers:
  - time/execute
time/execute:
- server: currenttime
  methods:
  - tools/list
  - tools/call
  tools:
  - current_time_by_timezone
";

/// How long records may take to reach the database (they are written in batches).
const RECORDS_DEADLINE: Duration = Duration::from_secs(30);

/// The `_meta` a stateless (2026-07-28) request carries.
fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "audit-test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

/// A `tools/call` of `tool` with request id `id`.
fn call(id: Value, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": {"tz_name": "UTC"}, "_meta": meta()}})
}

/// POSTs `body` to `/{server}/mcp` with `token`; returns the status.
async fn post(gw: &Gateway, server: &str, token: &str, body: &Value) -> u16 {
    let mut request = gw
        .request("POST", &format!("/{server}/mcp"))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28");
    if let Some(name) = body["params"]["name"].as_str() {
        request = request
            .header("mcp-method", "tools/call")
            .header("mcp-name", name);
    }
    let response = request.body(body.to_string()).send().await.unwrap();
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    status
}

/// `GET /api/audit?{query}` with `token`.
async fn audit(gw: &Gateway, query: &str, token: &str) -> (u16, Value) {
    gw.get_as(&format!("/api/audit?{query}"), token).await
}

/// Polls `GET /api/audit?{query}` until it holds `count` records.
async fn wait_for(gw: &Gateway, query: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + RECORDS_DEADLINE;
    loop {
        let (status, body) = audit(gw, query, TOKEN).await;
        assert_eq!(status, 200, "{body}");
        let records = body["records"].as_array().cloned().unwrap_or_default();
        if records.len() >= count {
            return records;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{count} audit records never appeared for '{query}': {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The record of the message with JSON-RPC id `id` (as written).
fn by_request<'a>(records: &'a [Value], id: &str) -> &'a Value {
    records
        .iter()
        .find(|record| record["request_id"] == id)
        .unwrap_or_else(|| panic!("no record for request {id}: {records:?}"))
}

/// The records' ids, in order.
fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|record| record["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A gateway on `data_dir` with the access policy in `scopes`.
async fn start(data_dir: &Path, scopes: &Path) -> Gateway {
    Launch::quiet(data_dir)
        .args(&["--scopes", scopes.to_str().unwrap()])
        .start()
        .await
}

#[tokio::test]
async fn decisions_on_mcp_routes_are_recorded_read_back_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let scopes = dir.path().join("scopes.yml");
    std::fs::write(&scopes, SCOPES).unwrap();
    let data = dir.path().join("data");
    let gw = start(&data, &scopes).await;
    let upstream = upstreams::example("currenttime", true).await;
    let server = common::http_server("currenttime", &upstream.url);
    assert_eq!(
        gw.api("POST", "/api/servers", Some(server)).await.status,
        201
    );
    common::register_unreachable_box(&gw).await;
    let minted = gw
        .api(
            "POST",
            "/api/tokens",
            Some(json!({"description": "audited agent", "groups": ["time-readers"]})),
        )
        .await;
    assert_eq!(minted.status, 201, "{minted:?}");
    let agent = minted.body["token"].as_str().unwrap().to_owned();

    let tool = "current_time_by_timezone";
    assert_eq!(
        post(&gw, "currenttime", &agent, &call(json!(1), tool)).await,
        200
    );
    let denied = call(json!("deny-1"), "other_tool");
    assert_eq!(post(&gw, "currenttime", &agent, &denied).await, 403);
    let batch = json!([
        {"jsonrpc": "2.0", "id": 10, "method": "tools/list", "params": {"_meta": meta()}},
        call(json!(11), tool),
        call(json!(12), "secret_tool"),
    ]);
    assert_eq!(post(&gw, "currenttime", &agent, &batch).await, 403);
    let list =
        json!({"jsonrpc": "2.0", "id": 20, "method": "tools/list", "params": {"_meta": meta()}});
    assert_eq!(
        post(&gw, "box", &agent, &list).await,
        404,
        "box looks absent"
    );

    let records = wait_for(&gw, "source=mcp&principal=admin", 6).await;
    assert_eq!(records.len(), 6, "{records:?}");
    for record in &records {
        assert_eq!(record["principal"], "admin", "the token acts as its minter");
        assert_eq!(record["auth"], "gateway_token");
        assert_eq!(record["owner"], "mcpgw:admin-token");
        assert_eq!(record["source"], "mcp");
        assert!(record["time"].as_str().unwrap().ends_with('Z'), "{record}");
    }
    let allowed = by_request(&records, "1");
    assert_eq!(
        (
            &allowed["server"],
            &allowed["method"],
            &allowed["tool"],
            &allowed["decision"]
        ),
        (
            &json!("currenttime"),
            &json!("tools/call"),
            &json!(tool),
            &json!("allow")
        )
    );
    assert_eq!(
        allowed["reason"],
        "allowed by scope 'time/execute' entry 1 (tools: current_time_by_timezone)"
    );
    let refused = by_request(&records, "\"deny-1\"");
    assert_eq!(refused["decision"], "deny");
    assert_eq!(refused["tool"], "other_tool");
    assert_eq!(
        refused["reason"],
        "no entry for server 'currenttime' allows tools/call of 'other_tool'"
    );
    // Every message of a refused batch is recorded with its own decision.
    let decisions: Vec<(&Value, &Value)> = ["10", "11", "12"]
        .iter()
        .map(|id| {
            let record = by_request(&records, id);
            (&record["method"], &record["decision"])
        })
        .collect();
    assert_eq!(
        decisions,
        [
            (&json!("tools/list"), &json!("allow")),
            (&json!("tools/call"), &json!("allow")),
            (&json!("tools/call"), &json!("deny"))
        ]
    );
    let outsider = records.iter().find(|r| r["server"] == "box").unwrap();
    assert_eq!(outsider["method"], "(server access)");
    assert_eq!(outsider["decision"], "deny");
    assert_eq!(outsider["request_id"], Value::Null);
    assert_eq!(
        outsider["reason"],
        "no scope of the caller has an entry for server 'box'"
    );

    // Filters.
    for (query, expected) in [
        ("decision=deny", vec!["\"deny-1\"", "12", ""]),
        ("server=box", vec![""]),
        ("tool=current_time_by_timezone", vec!["1", "11"]),
        ("method=tools%2Flist&server=currenttime", vec!["10"]),
        ("principal=nobody", vec![]),
        (
            "source=mcp&since=2000-01-01T00:00:00Z&decision=allow",
            vec!["1", "10", "11"],
        ),
        ("until=2000-01-01T00:00:00Z", vec![]),
    ] {
        let (status, body) = audit(&gw, query, TOKEN).await;
        assert_eq!(status, 200, "{query}: {body}");
        let mut found: Vec<String> = body["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["request_id"].as_str().unwrap_or_default().to_owned())
            .collect();
        found.sort();
        let mut expected: Vec<String> = expected.into_iter().map(str::to_owned).collect();
        expected.sort();
        assert_eq!(found, expected, "{query}");
    }
    // Pages of two, joined by the cursor, give the same records in the same order.
    let mut paged = Vec::new();
    let mut query = "source=mcp&limit=2".to_owned();
    loop {
        let (status, body) = audit(&gw, &query, TOKEN).await;
        assert_eq!(status, 200, "{body}");
        let page = body["records"].as_array().unwrap();
        assert!(page.len() <= 2);
        paged.extend(page.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("source=mcp&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(ids(&paged), ids(&records));
    // Bad parameters name themselves; only admins read the trail.
    for query in [
        "decision=maybe",
        "limit=5000",
        "cursor=garbage",
        "since=yesterday",
        "colour=red",
        "source=smtp",
    ] {
        let (status, body) = audit(&gw, query, TOKEN).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["error"]["code"], "invalid_field", "{query}");
    }
    let (status, body) = audit(&gw, "", &agent).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");

    // Registry actions are recorded too: the admin's two registrations, and the agent's
    // refused attempt to list servers (its scopes grant no UI permission).
    let listing = gw
        .request("GET", "/api/servers")
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(listing.status(), 403);
    let actions = wait_for(&gw, "source=api", 3).await;
    let summary: Vec<(&str, &str, &str, &str)> = actions
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap(),
                r["server"].as_str().unwrap(),
                r["decision"].as_str().unwrap(),
                r["auth"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("list_service", "*", "deny", "gateway_token"),
            ("register_service", "*", "allow", "admin_token"),
            ("register_service", "*", "allow", "admin_token"),
        ]
    );

    // The CLI.
    let (ok, stdout, stderr) = gw
        .cli(&["audit", "--decision", "deny", "--source", "mcp"])
        .await;
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("TIME"), "{stdout}");
    assert_eq!(lines.len(), 4, "a header and three refusals: {stdout}");
    assert!(stdout.contains("other_tool") && stdout.contains("(server access)"));
    let (ok, stdout, stderr) = gw
        .cli(&["audit", "--json", "--limit", "5", "--server", "currenttime"])
        .await;
    assert!(ok, "{stderr}");
    let listing: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listing["count"], 5);
    let (ok, _, stderr) = gw.cli(&["audit", "--since", "soon"]).await;
    assert!(!ok);
    assert!(
        stderr.contains("since") && stderr.contains("HTTP 422"),
        "{stderr}"
    );

    // A decision made just before a graceful stop is written before the process exits,
    // and everything is still there after a restart.
    let late = call(json!("late"), "late_tool");
    assert_eq!(post(&gw, "currenttime", &agent, &late).await, 403);
    assert!(gw.signal_and_wait("TERM").await.success());
    let gw = start(&data, &scopes).await;
    let (status, body) = audit(&gw, "source=mcp", TOKEN).await;
    assert_eq!(status, 200);
    let after = body["records"].as_array().unwrap();
    assert_eq!(after.len(), 7, "{body}");
    assert_eq!(by_request(after, "\"late\"")["tool"], "late_tool");
    assert_eq!(ids(&after[1..]), ids(&records));
}

#[tokio::test]
async fn records_older_than_the_retention_are_pruned() {
    use mcpgw_telemetry::audit::{AuditEntry, AuditRecord, AuditSource, AuditStore, now_millis};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Written straight into the database while no gateway runs: one record 100 days
    // old, one 10 days old.
    let url = common::database::url_for(&data).await;
    let store = mcpgw_store::connect(&url).await.unwrap();
    let day = 86_400_000;
    let old = |id: &str, days: i64| AuditEntry {
        id: id.to_owned(),
        record: AuditRecord {
            at: now_millis() - days * day,
            source: AuditSource::Mcp,
            principal: "alice".into(),
            owner: "https://idp#alice".into(),
            auth: "jwt".into(),
            client_id: None,
            server: "currenttime".into(),
            method: "tools/call".into(),
            target: Some("current_time_by_timezone".into()),
            allowed: true,
            reason: "admin".into(),
            request_id: Some(format!("\"{id}\"")),
        },
    };
    store
        .append_audit(&[old("ancient", 100), old("recent", 10)])
        .await
        .unwrap();
    // More records than one page holds, for the CLI to follow the cursor.
    let bulk: Vec<AuditEntry> = (0..1500)
        .map(|n| {
            let mut entry = old(&format!("bulk{n:04}"), 1);
            entry.record.principal = "bulk".into();
            entry
        })
        .collect();
    store.append_audit(&bulk).await.unwrap();
    store.close().await;

    // An invalid retention is refused with one readable line.
    let (ok, _, stderr) = common::run_cli(
        None,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--audit-retention-days",
            "40000",
        ],
        &[],
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("audit retention_days"), "{stderr}");

    let config = dir.path().join("mcpgw.toml");
    std::fs::write(&config, "[audit]\nretention_days = 30\n").unwrap();
    let gw = Launch::quiet(&data)
        .args(&["--config", config.to_str().unwrap()])
        .start()
        .await;
    let deadline = tokio::time::Instant::now() + RECORDS_DEADLINE;
    loop {
        let (status, body) = audit(&gw, "principal=alice", TOKEN).await;
        assert_eq!(status, 200, "{body}");
        let left: Vec<&str> = body["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        if left == ["recent"] {
            break;
        }
        assert!(
            left.contains(&"recent"),
            "kept within the retention: {body}"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old record was never pruned: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // `mcpgw audit` follows pages up to --limit.
    for (limit, expected) in [("1200", 1200), ("100000", 1500)] {
        let (ok, stdout, stderr) = gw
            .cli(&["audit", "--json", "--principal", "bulk", "--limit", limit])
            .await;
        assert!(ok, "{stderr}");
        let listing: Value = serde_json::from_str(&stdout).unwrap();
        let records = listing["records"].as_array().unwrap();
        assert_eq!(records.len(), expected);
        let mut unique = ids(records);
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), expected, "no record twice");
    }
}
