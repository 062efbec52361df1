//! Retention of what the gateway records: audit records older than
//! `[audit] retention_days` and analytics rows older than `[metrics] retention_days` are
//! deleted when the gateway starts and then every hour; expired sessions every ten
//! minutes. Of several replicas, the one holding the maintenance lease deletes.

use std::future::Future;
use std::time::Duration;

use mcpgw_registry::Lease;
use mcpgw_telemetry::TelemetryError;
use mcpgw_telemetry::audit::now_millis;
use tokio_util::sync::CancellationToken;

/// How often old rows are deleted.
const PRUNING: Duration = Duration::from_secs(3600);
/// How often expired sessions (browser and MCP) and abandoned sign-ins are deleted.
const SESSION_PRUNING: Duration = Duration::from_secs(600);
/// Milliseconds in a day.
const DAY_MILLIS: i64 = 86_400_000;

/// Runs `job` now and every `period` until `shutdown`, whenever `lease` is held here.
fn every<J, F>(period: Duration, lease: Lease, shutdown: CancellationToken, job: J)
where
    J: Fn() -> F + Send + 'static,
    F: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        // The first tick is immediate: a gateway that was down for a while catches up.
        let mut ticks = tokio::time::interval(period);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = shutdown.cancelled() => return,
            }
            if lease.held() {
                job().await;
            }
        }
    });
}

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
    P: Fn(i64) -> F + Send + Sync + 'static,
    F: Future<Output = Result<u64, TelemetryError>> + Send,
{
    if retention_days == 0 {
        tracing::info!(what, "kept forever (retention_days = 0)");
        return;
    }
    let keep = i64::from(retention_days) * DAY_MILLIS;
    let prune = std::sync::Arc::new(prune);
    every(PRUNING, lease, shutdown, move || {
        let prune = std::sync::Arc::clone(&prune);
        async move {
            match prune(now_millis() - keep).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(what, count, retention_days, "old rows deleted"),
                Err(error) => tracing::warn!(what, %error, "old rows not deleted"),
            }
        }
    });
}

/// Deletes expired browser sessions, abandoned sign-ins and expired MCP sessions every
/// ten minutes until `shutdown`.
pub fn spawn_session_pruning(
    sessions: mcpgw_auth::session::SessionService,
    store: mcpgw_store::SqlStore,
    lease: Lease,
    shutdown: CancellationToken,
) {
    every(SESSION_PRUNING, lease, shutdown, move || {
        let (sessions, store) = (sessions.clone(), store.clone());
        async move {
            match sessions.prune(mcpgw_auth::now()).await {
                Ok(0) => {}
                Ok(count) => tracing::debug!(count, "expired sessions deleted"),
                Err(error) => tracing::warn!(%error, "expired sessions not deleted"),
            }
            match store.prune_mcp_sessions(mcpgw_auth::now()).await {
                Ok(0) => {}
                Ok(count) => tracing::debug!(count, "expired MCP sessions forgotten"),
                Err(error) => tracing::warn!(%error, "expired MCP sessions not forgotten"),
            }
        }
    });
}
