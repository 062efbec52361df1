//! `[[egress.providers]]` in the running gateway: the service users connect their own
//! accounts through (the `oauth-user` egress mode), and the background renewal of their
//! tokens.

use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::config;

/// Users' own accounts at the configured egress providers, if any are configured. The
/// connect and callback URLs are built on the public URL (else the listening address).
pub fn user_connections(
    settings: &config::Settings,
    store: &mcpgw_store::SqlStore,
    address: std::net::SocketAddr,
    announce: Arc<dyn Fn() + Send + Sync>,
) -> anyhow::Result<Option<Arc<mcpgw_auth::egress::user::UserConnections>>> {
    if settings.egress_providers.is_empty() {
        return Ok(None);
    }
    let base = match &settings.public_url {
        Some(url) => url.clone(),
        None => {
            tracing::warn!(
                "public_url is not set: users connect their accounts at http://{address}/oauth/…, \
                 which providers must accept as a redirect URI; set public_url"
            );
            format!("http://{address}")
        }
    };
    let connections = mcpgw_auth::egress::user::UserConnections::new(
        settings.egress_providers.clone(),
        Arc::new(store.clone()),
        &base,
        settings.egress_refresh_buffer,
    )
    .context("invalid [[egress.providers]] configuration")?
    .with_network(Arc::clone(&settings.network))
    .context("cannot set up the HTTP client for egress providers")?
    .with_change_hook(announce);
    let names: Vec<&str> = connections
        .providers()
        .iter()
        .map(|provider| provider.name.as_str())
        .collect();
    tracing::info!(providers = ?names, callback = %format!("{base}/oauth/callback"), "users connect their own accounts at these providers");
    Ok(Some(Arc::new(connections)))
}

/// Renews users' tokens before they expire, every `interval`.
pub fn spawn_refresh(
    connections: Arc<mcpgw_auth::egress::user::UserConnections>,
    interval: std::time::Duration,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = shutdown.cancelled() => return,
            }
            match connections.refresh_due(mcpgw_auth::now()).await {
                Ok(report) if report == Default::default() => {}
                Ok(report) => tracing::info!(
                    refreshed = report.refreshed,
                    dropped = report.dropped,
                    failed = report.failed,
                    "renewed users' connections"
                ),
                Err(error) => tracing::warn!(%error, "cannot renew users' connections"),
            }
        }
    });
}
