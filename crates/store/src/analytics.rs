//! The analytics tables (`mcpgw_telemetry::analytics::AnalyticsStore`): batches appended
//! with one statement per table (the rows in one JSON parameter, as the audit trail's, each
//! row an array in column order: reading columns by position instead of by key cut the
//! writer's CPU per row by about a fifth, `examples/analytics_cost.rs`), old rows pruned,
//! tool rows read back for summaries.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mcpgw_telemetry::TelemetryError;
use mcpgw_telemetry::analytics::{AnalyticsRow, AnalyticsStore, Sample, StoredRow, SummaryQuery};
use serde_json::{Value, json};
use sqlx::Row;

use crate::SqlStore;
use crate::connect::Backend;

/// The service named in every row (the Python gateway named its emitters).
const SERVICE: &str = "mcpgw";
/// Most rows one summary reads.
const MAX_SAMPLES: i64 = 1_000_000;

fn unavailable(error: sqlx::Error) -> TelemetryError {
    TelemetryError::Store(error.to_string())
}

/// The statement that appends a JSON array of rows to `table` (`columns` with their
/// PostgreSQL types).
fn insert(backend: Backend, table: &str, columns: &[(&str, &str)]) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let names = names.join(", ");
    match backend {
        Backend::Sqlite => {
            let values: Vec<String> = (0..columns.len())
                .map(|index| format!("value->>{index}"))
                .collect();
            format!(
                "INSERT INTO {table} ({names}) SELECT {} FROM json_each($1) WHERE true \
                 ON CONFLICT (id) DO NOTHING",
                values.join(", ")
            )
        }
        Backend::Postgres => {
            let values: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(index, (_, kind))| format!("(e->>{index})::{kind}"))
                .collect();
            format!(
                "INSERT INTO {table} ({names}) SELECT {} FROM json_array_elements($1::json) \
                 AS e ON CONFLICT (id) DO NOTHING",
                values.join(", ")
            )
        }
    }
}

const AUTH: &[(&str, &str)] = &[
    ("id", "text"),
    ("at", "bigint"),
    ("timestamp", "text"),
    ("service", "text"),
    ("request_id", "text"),
    ("duration_ms", "double precision"),
    ("success", "bigint"),
    ("method", "text"),
    ("server", "text"),
    ("user_hash", "text"),
    ("error_code", "text"),
];
const TOOL: &[(&str, &str)] = &[
    ("id", "text"),
    ("at", "bigint"),
    ("timestamp", "text"),
    ("service", "text"),
    ("request_id", "text"),
    ("duration_ms", "double precision"),
    ("tool_name", "text"),
    ("server_path", "text"),
    ("server_name", "text"),
    ("success", "bigint"),
    ("error_code", "text"),
    ("client_name", "text"),
    ("client_version", "text"),
    ("method", "text"),
    ("user_hash", "text"),
];
const DISCOVERY: &[(&str, &str)] = &[
    ("id", "text"),
    ("at", "bigint"),
    ("timestamp", "text"),
    ("service", "text"),
    ("duration_ms", "double precision"),
    ("query", "text"),
    ("results_count", "bigint"),
    ("top_k_services", "bigint"),
    ("top_n_tools", "bigint"),
    ("source", "text"),
    ("mode", "text"),
];

/// ISO 8601 UTC without offset, microseconds, as the Python gateway wrote `timestamp`.
fn timestamp(at: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(at)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// `row` as the JSON object its table's statement reads, and which table that is.
fn json_row(stored: &StoredRow) -> Result<(usize, Value), TelemetryError> {
    let (table, at, mut value) = match &stored.row {
        AnalyticsRow::Auth(row) => (0, row.at, serde_json::to_value(row)),
        AnalyticsRow::Tool(row) => (1, row.at, serde_json::to_value(row)),
        AnalyticsRow::Discovery(row) => (2, row.at, serde_json::to_value(row)),
    };
    let value = value
        .as_mut()
        .map_err(|error| TelemetryError::Corrupt(error.to_string()))?;
    if let Value::Object(object) = value {
        object.insert("id".into(), json!(stored.id));
        object.insert("timestamp".into(), json!(timestamp(at)));
        object.insert("service".into(), json!(SERVICE));
        object.insert("user_hash".into(), json!(stored.user_hash));
        if let Some(success) = object.get("success").and_then(Value::as_bool) {
            object.insert("success".into(), json!(i64::from(success)));
        }
    }
    Ok((table, value.clone()))
}

#[async_trait]
impl AnalyticsStore for SqlStore {
    async fn append_analytics(&self, batch: &[StoredRow]) -> Result<(), TelemetryError> {
        let mut tables: [Vec<Value>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for stored in batch {
            let (table, value) = json_row(stored)?;
            // In the statement's column order.
            let columns = [AUTH, TOOL, DISCOVERY][table];
            let row: Vec<Value> = columns
                .iter()
                .map(|(name, _)| value.get(*name).cloned().unwrap_or(Value::Null))
                .collect();
            tables[table].push(Value::Array(row));
        }
        let backend = self.backend();
        let mut transaction = self.begin_write().await.map_err(unavailable)?;
        for ((name, columns), rows) in [
            ("auth_metrics", AUTH),
            ("tool_metrics", TOOL),
            ("discovery_metrics", DISCOVERY),
        ]
        .into_iter()
        .zip(tables)
        {
            if rows.is_empty() {
                continue;
            }
            // Built from this file's constants only: no input reaches the SQL text.
            sqlx::query(sqlx::AssertSqlSafe(insert(backend, name, columns)))
                .bind(Value::Array(rows).to_string())
                .execute(&mut *transaction)
                .await
                .map_err(unavailable)?;
        }
        transaction.commit().await.map_err(unavailable)
    }

    async fn prune_analytics(&self, before: i64) -> Result<u64, TelemetryError> {
        let mut removed = 0;
        for table in ["auth_metrics", "tool_metrics", "discovery_metrics"] {
            // `table` is one of three constants.
            let sql = format!("DELETE FROM {table} WHERE at < $1");
            removed += sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(before)
                .execute(self.pool())
                .await
                .map_err(unavailable)?
                .rows_affected();
        }
        Ok(removed)
    }

    async fn tool_samples(&self, query: &SummaryQuery) -> Result<Vec<Sample>, TelemetryError> {
        let rows = sqlx::query(
            "SELECT server_name, tool_name, success, duration_ms, client_name FROM tool_metrics \
             WHERE at >= $1 AND at < $2 AND ($3 IS NULL OR server_name = $3) LIMIT $4",
        )
        .bind(query.since)
        .bind(query.until)
        .bind(&query.server)
        .bind(MAX_SAMPLES)
        .fetch_all(self.pool())
        .await
        .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                let corrupt = |error: sqlx::Error| TelemetryError::Corrupt(error.to_string());
                let text = |column: &str| {
                    row.try_get::<Option<String>, _>(column)
                        .map(Option::unwrap_or_default)
                        .map_err(corrupt)
                };
                Ok(Sample {
                    server: text("server_name")?,
                    tool: text("tool_name")?,
                    success: row.try_get::<i64, _>("success").map_err(corrupt)? != 0,
                    duration_ms: row
                        .try_get::<Option<f64>, _>("duration_ms")
                        .map_err(corrupt)?
                        .unwrap_or_default(),
                    client: text("client_name")?,
                })
            })
            .collect()
    }
}
