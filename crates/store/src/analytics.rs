//! The analytics tables (`mcpgw_telemetry::analytics::AnalyticsStore`): batches appended
//! with multi-row `INSERT … VALUES` statements, one parameter per value (about three
//! times cheaper per row than one JSON parameter the database takes apart again,
//! `examples/analytics_cost.rs`), old rows pruned, tool rows read back for summaries.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mcpgw_telemetry::TelemetryError;
use mcpgw_telemetry::analytics::{AnalyticsRow, AnalyticsStore, Sample, StoredRow, SummaryQuery};
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

/// Rows per statement: a batch is appended in chunks of these sizes (largest first), so
/// that each table needs at most this many statement texts, prepared once per connection.
const CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// The statement that appends `rows` rows to `table` (`columns`), one parameter per
/// value, row after row: `$1`, `$2` … on PostgreSQL, anonymous `?` on SQLite (where
/// sqlx looks each numbered parameter's name up, a search through all of them, which made
/// a 64-row statement cost more than the JSON it replaces).
fn insert(backend: Backend, table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut parameter = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns.len() {
            parameter += 1;
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${parameter}")),
            }
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    sql
}

const AUTH: &[&str] = &[
    "id",
    "at",
    "timestamp",
    "service",
    "request_id",
    "duration_ms",
    "success",
    "method",
    "server",
    "user_hash",
    "error_code",
];
const TOOL: &[&str] = &[
    "id",
    "at",
    "timestamp",
    "service",
    "request_id",
    "duration_ms",
    "tool_name",
    "server_path",
    "server_name",
    "success",
    "error_code",
    "client_name",
    "client_version",
    "method",
    "user_hash",
];
const DISCOVERY: &[&str] = &[
    "id",
    "at",
    "timestamp",
    "service",
    "duration_ms",
    "query",
    "results_count",
    "top_k_services",
    "top_n_tools",
    "source",
    "mode",
];

/// ISO 8601 UTC without offset, microseconds, as the Python gateway wrote `timestamp`.
fn timestamp(at: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(at)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// One value of a row, bound as a statement parameter.
enum Cell<'a> {
    /// Text, or NULL.
    Text(Option<&'a str>),
    /// Text made for the row (its `timestamp`).
    Owned(String),
    /// An integer (a boolean as 0 or 1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
}

/// Appends `stored`'s values to `cells` in its table's column order ([`AUTH`], [`TOOL`],
/// [`DISCOVERY`]) and says which table that is (0, 1, 2).
fn cells<'a>(stored: &'a StoredRow, cells: &mut Vec<Cell<'a>>) -> usize {
    use Cell::{Int, Owned, Real, Text};
    let head = |at: i64| {
        [
            Text(Some(&stored.id)),
            Int(at),
            Owned(timestamp(at)),
            Text(Some(SERVICE)),
        ]
    };
    let user_hash = Text(stored.user_hash.as_deref());
    match &stored.row {
        AnalyticsRow::Auth(row) => {
            cells.extend(head(row.at));
            cells.extend([
                Text(row.request_id.as_deref()),
                Real(row.duration_ms),
                Int(i64::from(row.success)),
                Text(Some(&row.method)),
                Text(Some(&row.server)),
                user_hash,
                Text(row.error_code.as_deref()),
            ]);
            0
        }
        AnalyticsRow::Tool(row) => {
            cells.extend(head(row.at));
            cells.extend([
                Text(row.request_id.as_deref()),
                Real(row.duration_ms),
                Text(Some(&row.tool_name)),
                Text(Some(&row.server_path)),
                Text(Some(&row.server_name)),
                Int(i64::from(row.success)),
                Text(row.error_code.as_deref()),
                Text(row.client_name.as_deref()),
                Text(row.client_version.as_deref()),
                Text(Some(&row.method)),
                user_hash,
            ]);
            1
        }
        AnalyticsRow::Discovery(row) => {
            cells.extend(head(row.at));
            cells.extend([
                Real(row.duration_ms),
                Text(Some(&row.query)),
                Int(row.results_count),
                Int(row.top_k_services),
                Int(row.top_n_tools),
                Text(Some(&row.source)),
                Text(Some(&row.mode)),
            ]);
            2
        }
    }
}

#[async_trait]
impl AnalyticsStore for SqlStore {
    async fn append_analytics(&self, batch: &[StoredRow]) -> Result<(), TelemetryError> {
        let mut tables: [Vec<Cell<'_>>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for stored in batch {
            let mut row = Vec::with_capacity(TOOL.len());
            let table = cells(stored, &mut row);
            tables[table].append(&mut row);
        }
        let backend = self.backend();
        let mut transaction = self.begin_write().await.map_err(unavailable)?;
        for ((name, columns), values) in [
            ("auth_metrics", AUTH),
            ("tool_metrics", TOOL),
            ("discovery_metrics", DISCOVERY),
        ]
        .into_iter()
        .zip(tables)
        {
            let mut values = values.into_iter();
            let mut left = values.len() / columns.len();
            for size in CHUNKS {
                while left >= size {
                    left -= size;
                    // Built from this file's constants only: no input reaches the SQL text.
                    let mut query =
                        sqlx::query(sqlx::AssertSqlSafe(insert(backend, name, columns, size)));
                    for cell in values.by_ref().take(size * columns.len()) {
                        query = match cell {
                            Cell::Text(text) => query.bind(text),
                            Cell::Owned(text) => query.bind(text),
                            Cell::Int(number) => query.bind(number),
                            Cell::Real(number) => query.bind(number),
                        };
                    }
                    query
                        .execute(&mut *transaction)
                        .await
                        .map_err(unavailable)?;
                }
            }
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
