//! The audit trail's retention: records older than `[audit] retention_days` are deleted
//! when the gateway starts and then every hour.

use std::time::Duration;

use mcpgw_telemetry::audit::{AuditLog, now_millis};
use tokio_util::sync::CancellationToken;

/// How often old audit records are deleted.
const PRUNING: Duration = Duration::from_secs(3600);
/// Milliseconds in a day.
const DAY_MILLIS: i64 = 86_400_000;

/// Deletes records older than `retention_days` now and every hour until `shutdown`;
/// `0` keeps every record and starts nothing.
pub fn spawn(audit: AuditLog, retention_days: u32, shutdown: CancellationToken) {
    if retention_days == 0 {
        tracing::info!("audit records are kept forever ([audit] retention_days = 0)");
        return;
    }
    let keep = i64::from(retention_days) * DAY_MILLIS;
    tokio::spawn(async move {
        // The first tick is immediate: a gateway that was down for a while catches up.
        let mut ticks = tokio::time::interval(PRUNING);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = shutdown.cancelled() => return,
            }
            match audit.prune(now_millis() - keep).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, retention_days, "old audit records deleted"),
                Err(error) => tracing::warn!(%error, "old audit records not deleted"),
            }
        }
    });
}
