//! The analytics tables (`mcpgw_telemetry::analytics::AnalyticsStore`): batches appended
//! in one transaction ([`crate::multi_row`]), old rows pruned, tool rows read back for
//! summaries.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mcpgw_telemetry::TelemetryError;
use mcpgw_telemetry::analytics::{AnalyticsRow, AnalyticsStore, Sample, StoredRow, SummaryQuery};
use sqlx::Row;

use crate::SqlStore;
use crate::multi_row::{Cell, Table};

/// The service named in every row (the Python gateway named its emitters).
const SERVICE: &str = "mcpgw";
/// Most rows one summary reads.
const MAX_SAMPLES: i64 = 1_000_000;

fn unavailable(error: sqlx::Error) -> TelemetryError {
    TelemetryError::Store(error.to_string())
}

/// Authentications on MCP routes.
const AUTH: Table = Table {
    name: "auth_metrics",
    columns: &[
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
    ],
};
/// MCP messages answered.
const TOOL: Table = Table {
    name: "tool_metrics",
    columns: &[
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
    ],
};
/// Tool searches.
const DISCOVERY: Table = Table {
    name: "discovery_metrics",
    columns: &[
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
    ],
};

/// ISO 8601 UTC without offset, microseconds, as the Python gateway wrote `timestamp`.
fn timestamp(at: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(at)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
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
            let mut row = Vec::with_capacity(TOOL.columns.len());
            let table = cells(stored, &mut row);
            tables[table].append(&mut row);
        }
        let mut transaction = self.begin_write().await.map_err(unavailable)?;
        for (table, cells) in [AUTH, TOOL, DISCOVERY].into_iter().zip(tables) {
            table
                .append(self.backend(), &mut transaction, cells)
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
