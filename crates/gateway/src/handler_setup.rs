//! How a [`Gateway`] is put together after [`Gateway::new`] (policy, audit, rate limits,
//! upstream credentials, the session directory) and what its parts are for the rest of
//! the crate.

use std::sync::Arc;

use mcpgw_policy::SharedPolicy;

use super::Gateway;
use crate::bridge::pool::BridgePool;
use crate::config::GatewayConfig;
use crate::legacy::Sessions;
use crate::session_owners::SessionOwners;

use super::RECONCILE_RETRY;

impl Gateway {
    /// Limits each principal's and each server's request rate.
    pub fn with_rate_limits(mut self, limits: crate::limits::RateLimits) -> Self {
        self.rate_limits = Arc::new(limits);
        self
    }

    /// What acts on servers' announcements of changed tools.
    pub(crate) fn tool_changes(&self) -> &Arc<crate::tool_changes::ToolChanges> {
        &self.tool_changes
    }

    /// What hands the tool lists clients are sent to the tool scan.
    pub(crate) fn list_observer(&self) -> &Arc<crate::observed_lists::ListObserver> {
        &self.list_observer
    }

    /// The request rate limits (shared with the API, so that a principal has one budget).
    pub fn rate_limits(&self) -> &Arc<crate::limits::RateLimits> {
        &self.rate_limits
    }

    /// Decides every message with `policy` (by default only admins may do anything).
    pub fn with_policy(mut self, policy: SharedPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Records sessions in `directory`, shared by every replica, so that a client's next
    /// request may land on any of them.
    pub fn with_session_directory(
        mut self,
        directory: Arc<dyn crate::session_directory::SessionDirectory>,
    ) -> Self {
        self.session_owners = SessionOwners::default().with_directory(directory);
        self
    }

    /// The directory sessions are recorded in, if any (for the aggregated endpoint).
    pub(crate) fn session_directory(
        &self,
    ) -> Option<&Arc<dyn crate::session_directory::SessionDirectory>> {
        self.session_owners.directory()
    }

    /// Obtains the tokens of upstreams with an egress mode with `auth`.
    pub fn with_upstream_auth(mut self, auth: mcpgw_registry::SharedUpstreamAuth) -> Self {
        self.upstream_auth = Some(auth);
        self
    }

    /// What obtains egress tokens, if anything.
    pub(crate) fn upstream_auth(&self) -> Option<&mcpgw_registry::SharedUpstreamAuth> {
        self.upstream_auth.as_ref()
    }

    /// Records every access decision (allowed and refused) in `audit`.
    pub fn with_audit(mut self, audit: mcpgw_telemetry::audit::AuditLog) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Keeps bridged connections in line with the registry, now and after every change: a
    /// removed, disabled or redefined server's process is stopped as soon as the change is
    /// made, and `eager` servers are started.
    pub fn watch_registry(self: &Arc<Self>) {
        let gateway = Arc::downgrade(self);
        let mut changes = self.table.changes();
        tokio::spawn(async move {
            loop {
                let Some(current) = gateway.upgrade() else {
                    return;
                };
                let reconciled = match current.table.fresh().await {
                    Ok(targets) => {
                        current.bridges.reconcile(&targets);
                        true
                    }
                    Err(error) => {
                        tracing::warn!(%error, "bridged servers not reconciled; retrying");
                        false
                    }
                };
                drop(current);
                if !reconciled {
                    tokio::time::sleep(RECONCILE_RETRY).await;
                } else if changes.changed().await.is_err() {
                    return;
                }
            }
        });
    }

    /// Stops every stdio server process and bridged session (at gateway shutdown).
    pub async fn shutdown(&self) {
        self.bridges.stop_all().await;
    }

    /// The shared connections to servers that do not speak Streamable HTTP.
    pub(crate) fn bridges(&self) -> &BridgePool {
        &self.bridges
    }

    /// How long a request may wait for its upstream's first answer.
    pub(crate) fn request_timeout(&self) -> std::time::Duration {
        self.config.first_byte_timeout
    }

    /// The longest silence allowed inside a streamed answer.
    pub(crate) fn idle_timeout(&self) -> std::time::Duration {
        self.config.idle_timeout
    }

    /// The data-plane settings.
    pub(crate) fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// The access policy in force.
    pub(crate) fn policy(&self) -> &SharedPolicy {
        &self.policy
    }

    /// Where access decisions are recorded, if anywhere.
    pub(crate) fn audit(&self) -> Option<&mcpgw_telemetry::audit::AuditLog> {
        self.audit.as_ref()
    }

    /// Open legacy SSE sessions.
    pub fn legacy_sessions(&self) -> &Sessions {
        &self.sessions
    }
}
