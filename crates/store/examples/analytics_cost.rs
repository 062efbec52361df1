//! Measures (does not assert) the CPU an analytics row costs, from `Analytics::record` on
//! the request path to the row stored in SQLite by the background writer: 200 000 tool
//! rows, first into a sink that keeps nothing, then into a real SQLite file. Then the
//! audit trail's store: 200 000 records appended in batches of 256.
//!
//! `cargo run --release -p mcpgw-store --example analytics_cost`

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use mcpgw_telemetry::TelemetryError;
use mcpgw_telemetry::analytics::{
    Analytics, AnalyticsRow, AnalyticsStore, Sample, StoredRow, SummaryQuery, ToolRow,
};
use mcpgw_telemetry::batch::BatchConfig;

const ROWS: usize = 200_000;

/// Keeps nothing.
struct Nowhere;

#[async_trait]
impl AnalyticsStore for Nowhere {
    async fn append_analytics(&self, _batch: &[StoredRow]) -> Result<(), TelemetryError> {
        Ok(())
    }
    async fn prune_analytics(&self, _before: i64) -> Result<u64, TelemetryError> {
        Ok(0)
    }
    async fn tool_samples(&self, _query: &SummaryQuery) -> Result<Vec<Sample>, TelemetryError> {
        Ok(Vec::new())
    }
}

fn row(n: usize) -> AnalyticsRow {
    AnalyticsRow::Tool(ToolRow {
        at: 1_764_000_000_000 + n as i64,
        server_name: "toolbox".into(),
        server_path: "/toolbox/".into(),
        tool_name: "echo".into(),
        method: "tools/call".into(),
        client_name: Some("loadgen".into()),
        client_version: Some("1".into()),
        user: Some("admin".into()),
        success: true,
        error_code: None,
        duration_ms: 0.2,
        request_id: Some(format!("{n:032x}")),
    })
}

/// CPU seconds this process has used (user + system).
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

async fn run(label: &str, store: Arc<dyn AnalyticsStore>) {
    let config = BatchConfig {
        capacity: ROWS + 1,
        ..BatchConfig::default()
    };
    let analytics = Analytics::start(store, config);
    let (wall, started) = (Instant::now(), cpu());
    for n in 0..ROWS {
        analytics.record(row(n));
    }
    let recorded = cpu() - started;
    analytics.shutdown().await;
    let total = cpu() - started;
    println!(
        "{label}: record {:.2} µs/row on the request path, {:.2} µs/row in all ({} written, {:?})",
        recorded * 1e6 / ROWS as f64,
        total * 1e6 / ROWS as f64,
        analytics.stats().written,
        wall.elapsed()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run("no store", Arc::new(Nowhere)).await;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("mcpgw.db").display());
    let store = mcpgw_store::connect(&url).await?;
    run("SQLite", Arc::new(store.clone())).await;
    audit(&store).await?;
    Ok(())
}

/// CPU per audit record appended by the store (batches of 256, as a busy writer sends).
async fn audit(store: &mcpgw_store::SqlStore) -> Result<(), Box<dyn std::error::Error>> {
    use mcpgw_telemetry::audit::{AuditEntry, AuditRecord, AuditSource, AuditStore};
    let entries: Vec<AuditEntry> = (0..ROWS)
        .map(|n| AuditEntry {
            id: format!("{:016x}-{n:08x}", 1_764_000_000_000_u64 + n as u64),
            record: AuditRecord {
                at: 1_764_000_000_000 + n as i64,
                source: AuditSource::Mcp,
                principal: "admin".into(),
                owner: "mcpgw:admin-token".into(),
                auth: "admin_token".into(),
                client_id: None,
                server: "toolbox".into(),
                method: "tools/call".into(),
                target: Some("echo".into()),
                allowed: true,
                reason: "admin".into(),
                request_id: Some("1".into()),
            },
        })
        .collect();
    let (wall, started) = (Instant::now(), cpu());
    for batch in entries.chunks(256) {
        store.append_audit(batch).await?;
    }
    let total = cpu() - started;
    println!(
        "SQLite audit trail: {:.2} µs/record appended ({} records, {:?})",
        total * 1e6 / ROWS as f64,
        ROWS,
        wall.elapsed()
    );
    Ok(())
}
