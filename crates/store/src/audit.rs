//! The audit trail's records (`mcpgw_telemetry::audit::AuditStore`) in the same database
//! as the registry: batches appended in one transaction, pages read newest first with
//! keyset pagination, old records pruned.

use async_trait::async_trait;
use mcpgw_telemetry::TelemetryError;
use mcpgw_telemetry::audit::{
    AuditCursor, AuditEntry, AuditPage, AuditQuery, AuditRecord, AuditSource, AuditStore, MAX_LIMIT,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;

fn unavailable(error: sqlx::Error) -> TelemetryError {
    TelemetryError::Store(error.to_string())
}

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

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, batch: &[AuditEntry]) -> Result<(), TelemetryError> {
        // One transaction: one commit (one fsync on SQLite) per batch, and a batch is
        // stored whole or not at all.
        let mut transaction = self.pool().begin().await.map_err(unavailable)?;
        for AuditEntry { id, record } in batch {
            sqlx::query(
                "INSERT INTO audit_log (id, at, source, principal, owner, auth, client_id, \
                 server, method, target, allowed, reason, request_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(record.at)
            .bind(record.source.as_str())
            .bind(&record.principal)
            .bind(&record.owner)
            .bind(&record.auth)
            .bind(&record.client_id)
            .bind(&record.server)
            .bind(&record.method)
            .bind(&record.target)
            .bind(i64::from(record.allowed))
            .bind(&record.reason)
            .bind(&record.request_id)
            .execute(&mut *transaction)
            .await
            .map_err(unavailable)?;
        }
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
        let result = sqlx::query("DELETE FROM audit_log WHERE at < $1")
            .bind(before)
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
        Ok(result.rows_affected())
    }
}
