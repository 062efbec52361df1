//! The audit trail's records (`mcpgw_telemetry::audit::AuditStore`) in the same database
//! as the registry: batches appended in one transaction ([`crate::multi_row`]), pages
//! read newest first with keyset pagination, old records pruned.

use async_trait::async_trait;
use mcpgw_telemetry::TelemetryError;
use mcpgw_telemetry::audit::{
    AuditCursor, AuditEntry, AuditPage, AuditQuery, AuditRecord, AuditSource, AuditStore, MAX_LIMIT,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::multi_row::{Cell, Table};

/// Most records one pruning statement deletes.
const PRUNE_CHUNK: i64 = 5000;

/// A failed query: the store may be back on the next attempt.
fn unavailable(error: sqlx::Error) -> TelemetryError {
    TelemetryError::Store(error.to_string())
}

/// Decodes one `audit_log` row.
fn entry(row: &AnyRow) -> Result<AuditEntry, TelemetryError> {
    fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T, TelemetryError>
    where
        T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        row.try_get(column)
            .map_err(|error| TelemetryError::Corrupt(format!("audit_log.{column}: {error}")))
    }
    let source: String = get(row, "source")?;
    Ok(AuditEntry {
        id: get(row, "id")?,
        record: AuditRecord {
            at: get(row, "at")?,
            source: AuditSource::parse(&source).ok_or_else(|| {
                TelemetryError::Corrupt(format!("audit_log.source: unknown '{source}'"))
            })?,
            principal: get(row, "principal")?,
            owner: get(row, "owner")?,
            auth: get(row, "auth")?,
            client_id: get(row, "client_id")?,
            server: get(row, "server")?,
            method: get(row, "method")?,
            target: get(row, "target")?,
            allowed: get::<i64>(row, "allowed")? != 0,
            reason: get(row, "reason")?,
            request_id: get(row, "request_id")?,
        },
    })
}

/// The audit trail's table.
const AUDIT_LOG: Table = Table {
    name: "audit_log",
    columns: &[
        "id",
        "at",
        "source",
        "principal",
        "owner",
        "auth",
        "client_id",
        "server",
        "method",
        "target",
        "allowed",
        "reason",
        "request_id",
    ],
};

/// The batch's values, row after row in [`AUDIT_LOG`]'s column order.
fn cells(batch: &[AuditEntry]) -> Vec<Cell<'_>> {
    let mut cells = Vec::with_capacity(batch.len() * AUDIT_LOG.columns.len());
    for AuditEntry { id, record } in batch {
        cells.extend([
            Cell::Text(Some(id)),
            Cell::Int(record.at),
            Cell::Text(Some(record.source.as_str())),
            Cell::Text(Some(&record.principal)),
            Cell::Text(Some(&record.owner)),
            Cell::Text(Some(&record.auth)),
            Cell::Text(record.client_id.as_deref()),
            Cell::Text(Some(&record.server)),
            Cell::Text(Some(&record.method)),
            Cell::Text(record.target.as_deref()),
            Cell::Int(i64::from(record.allowed)),
            Cell::Text(Some(&record.reason)),
            Cell::Text(record.request_id.as_deref()),
        ]);
    }
    cells
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, batch: &[AuditEntry]) -> Result<(), TelemetryError> {
        if batch.is_empty() {
            return Ok(());
        }
        // One transaction per batch: one commit (one fsync on SQLite), and the batch is
        // stored whole or not at all.
        let mut transaction = self.begin_write().await.map_err(unavailable)?;
        AUDIT_LOG
            .append(self.backend(), &mut transaction, cells(batch))
            .await
            .map_err(unavailable)?;
        transaction.commit().await.map_err(unavailable)
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<AuditPage, TelemetryError> {
        let limit = query.limit.clamp(1, MAX_LIMIT);
        // One fixed statement: a filter that is not given is a NULL that matches
        // everything. One row more than the page tells whether another page follows.
        let rows = sqlx::query(
            "SELECT id, at, source, principal, owner, auth, client_id, server, method, target, \
             allowed, reason, request_id FROM audit_log \
             WHERE ($1 IS NULL OR principal = $1) \
             AND ($2 IS NULL OR server = $2) \
             AND ($3 IS NULL OR method = $3) \
             AND ($4 IS NULL OR target = $4) \
             AND ($5 IS NULL OR allowed = $5) \
             AND ($6 IS NULL OR at >= $6) \
             AND ($7 IS NULL OR at < $7) \
             AND ($8 IS NULL OR at < $8 OR (at = $8 AND id < $9)) \
             AND ($11 IS NULL OR source = $11) \
             AND ($12 IS NULL OR owner = $12) \
             ORDER BY at DESC, id DESC LIMIT $10",
        )
        .bind(&query.principal)
        .bind(&query.server)
        .bind(&query.method)
        .bind(&query.target)
        .bind(query.allowed.map(i64::from))
        .bind(query.since)
        .bind(query.until)
        .bind(query.cursor.as_ref().map(|cursor| cursor.at))
        .bind(query.cursor.as_ref().map(|cursor| cursor.id.as_str()))
        .bind(i64::from(limit) + 1)
        .bind(query.source.map(AuditSource::as_str))
        .bind(&query.owner)
        .fetch_all(self.pool())
        .await
        .map_err(unavailable)?;
        let mut entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next_cursor = more
            .then(|| entries.last().map(AuditCursor::after))
            .flatten();
        Ok(AuditPage {
            entries,
            next_cursor,
        })
    }

    async fn prune_audit(&self, before: i64) -> Result<u64, TelemetryError> {
        // In chunks, each its own short transaction: deleting a day of busy traffic in one
        // statement would hold SQLite's write lock for longer than other writers wait.
        let mut deleted = 0;
        loop {
            let result = sqlx::query(
                "DELETE FROM audit_log WHERE id IN \
                 (SELECT id FROM audit_log WHERE at < $1 LIMIT $2)",
            )
            .bind(before)
            .bind(PRUNE_CHUNK)
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
            deleted += result.rows_affected();
            if result.rows_affected() < PRUNE_CHUNK as u64 {
                return Ok(deleted);
            }
        }
    }
}
