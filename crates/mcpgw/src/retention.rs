//! Retention of what the gateway records: audit records older than
//! `[audit] retention_days` and analytics rows older than `[metrics] retention_days` are
//! deleted when the gateway starts and then every hour.

use std::future::Future;
use std::time::Duration;

use mcpgw_registry::Lease;
use mcpgw_telemetry::TelemetryError;
use mcpgw_telemetry::audit::now_millis;
use tokio_util::sync::CancellationToken;

/// How often old rows are deleted.
const PRUNING: Duration = Duration::from_secs(3600);
/// Milliseconds in a day.
const DAY_MILLIS: i64 = 86_400_000;

/// Deletes `what` older than `retention_days` with `prune` (given the cut-off in
/// milliseconds since the epoch) now and every hour until `shutdown`; `0` keeps everything
/// and starts nothing.
pub fn spawn<P, F>(
    what: &'static str,
    retention_days: u32,
    lease: Lease,
    shutdown: CancellationToken,
    prune: P,
) where
    P: Fn(i64) -> F + Send + 'static,
    F: Future<Output = Result<u64, TelemetryError>> + Send,
{
    if retention_days == 0 {
        tracing::info!(what, "kept forever (retention_days = 0)");
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
            // Of several replicas, the one holding the maintenance lease deletes.
            if !lease.held() {
                continue;
            }
            match prune(now_millis() - keep).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(what, count, retention_days, "old rows deleted"),
                Err(error) => tracing::warn!(what, %error, "old rows not deleted"),
            }
        }
    });
}
