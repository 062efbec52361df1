//! The `health_events` table: each server's health changes, for its history.

use mcpgw_registry::{HealthEvent, HealthState, StoreError};
use sqlx::{AnyPool, Row};

use crate::rows::{millis, time, unavailable};
use crate::sql_store::SqlStore;

/// Appends `event` for `path` and drops all but its newest `keep` events, in one
/// transaction. Nothing is stored for a server that is not registered (its removal won a
/// race with a check), nor when the newest event already has `event`'s status (two checks
/// that saw the same change).
pub(crate) async fn record(
    store: &SqlStore,
    path: &str,
    event: &HealthEvent,
    keep: usize,
) -> Result<(), StoreError> {
    let keep = i64::try_from(keep.max(1)).unwrap_or(i64::MAX);
    let mut tx = store.begin_write().await.map_err(unavailable)?;
    if !store
        .lock_server(&mut tx, path)
        .await
        .map_err(unavailable)?
    {
        return Ok(());
    }
    let newest: Option<String> = sqlx::query_scalar(
        "SELECT status FROM health_events WHERE path = $1 ORDER BY at DESC LIMIT 1",
    )
    .bind(path)
    .fetch_optional(&mut *tx)
    .await
    .map_err(unavailable)?;
    if newest.as_deref() == Some(event.status.as_str()) {
        return tx.commit().await.map_err(unavailable);
    }
    sqlx::query("INSERT INTO health_events (path, at, status, reason) VALUES ($1, $2, $3, $4)")
        .bind(path)
        .bind(millis(event.at))
        .bind(event.status.as_str())
        .bind(&event.reason)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    sqlx::query(
        "DELETE FROM health_events WHERE path = $1 AND at < (SELECT at FROM health_events \
         WHERE path = $2 ORDER BY at DESC LIMIT 1 OFFSET $3)",
    )
    .bind(path)
    .bind(path)
    .bind(keep - 1)
    .execute(&mut *tx)
    .await
    .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)
}

/// `path`'s newest `limit` events, newest first.
pub(crate) async fn newest(
    pool: &AnyPool,
    path: &str,
    limit: usize,
) -> Result<Vec<HealthEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT at, status, reason FROM health_events WHERE path = $1 ORDER BY at DESC LIMIT $2",
    )
    .bind(path)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
    .map_err(unavailable)?;
    rows.iter()
        .map(|row| {
            let corrupt = |error: sqlx::Error| StoreError::Corrupt(error.to_string());
            let status: String = row.try_get("status").map_err(corrupt)?;
            Ok(HealthEvent {
                at: time(row.try_get("at").map_err(corrupt)?, "health_events.at")?,
                status: HealthState::parse(&status).ok_or_else(|| {
                    StoreError::Corrupt(format!("health_events.status = '{status}'"))
                })?,
                reason: row.try_get("reason").map_err(corrupt)?,
            })
        })
        .collect()
}

/// Deletes the server at `path` and its history, in one transaction; `false` if there was
/// no such server.
pub(crate) async fn delete_server(store: &SqlStore, path: &str) -> Result<bool, StoreError> {
    let mut tx = store.begin_write().await.map_err(unavailable)?;
    let deleted = sqlx::query("DELETE FROM servers WHERE path = $1")
        .bind(path)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    // Its history, users' tokens and connect flows for it, and its tool scan and approval
    // (for this server only: a server registered later at the same path is another server).
    for sql in [
        "DELETE FROM health_events WHERE path = $1",
        "DELETE FROM egress_connections WHERE server_path = $1",
        "DELETE FROM egress_connect_flows WHERE server_path = $1",
        "DELETE FROM tool_scans WHERE path = $1",
        "DELETE FROM tool_findings WHERE path = $1",
        "DELETE FROM tool_approvals WHERE path = $1",
    ] {
        sqlx::query(sql)
            .bind(path)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
    }
    tx.commit().await.map_err(unavailable)?;
    Ok(deleted.rows_affected() == 1)
}
