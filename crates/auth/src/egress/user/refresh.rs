//! Keeping connections alive: tokens renewed before they expire (in the background, and
//! on use when one is about to), one replica at a time per connection; a connection the
//! provider no longer honours is removed, so that the user is asked to connect again.

use super::store::ConnectionRecord;
use super::{ConnectError, RefreshReport, UserConnections, token_endpoint};

/// How long one replica holds the right to refresh a connection.
const REFRESH_LEASE_SECS: i64 = 30;

impl UserConnections {
    /// Refreshes every connection that expires within the refresh buffer.
    pub async fn refresh_due(&self, now: i64) -> Result<RefreshReport, ConnectError> {
        let due = self
            .store
            .connections_expiring(now.saturating_add(self.refresh_buffer), 200)
            .await
            .map_err(ConnectError::Store)?;
        let mut report = RefreshReport::default();
        for record in due {
            match self.refresh_one(record, now).await {
                Ok(Some(_)) => report.refreshed += 1,
                Ok(None) => report.dropped += 1,
                Err(error) => {
                    report.failed += 1;
                    tracing::warn!(%error, "cannot refresh a user's connection; trying again later");
                }
            }
        }
        if let Err(error) = self.store.prune_connect_flows(now).await {
            tracing::warn!(%error, "cannot prune expired connect flows");
        }
        Ok(report)
    }

    /// New tokens for `record`: `None` when the provider no longer honours it (the
    /// connection is then removed) or it cannot be refreshed and has expired.
    pub(super) async fn refresh_one(
        &self,
        record: ConnectionRecord,
        now: i64,
    ) -> Result<Option<ConnectionRecord>, ConnectError> {
        let expired = record.expires_at.is_some_and(|expires| expires <= now);
        let Some(refresh_token) = record.refresh_token.clone() else {
            return Ok((!expired).then_some(record));
        };
        let claimed = self
            .store
            .claim_refresh(&record.owner, &record.server, now, now + REFRESH_LEASE_SECS)
            .await
            .map_err(ConnectError::Store)?;
        if !claimed {
            // Another replica (or task) is refreshing it: use what is there meanwhile.
            return Ok((!expired).then_some(record));
        }
        let provider = self.provider(&record.provider)?;
        let endpoints = self
            .endpoints(provider, record.resource.as_deref().unwrap_or_default())
            .await?;
        match token_endpoint::refresh(
            &self.http,
            &endpoints,
            &refresh_token,
            record.resource.as_deref(),
        )
        .await
        {
            Ok(issued) => {
                let refreshed = ConnectionRecord {
                    access_token: issued.access_token,
                    // A provider that does not rotate refresh tokens sends none back.
                    refresh_token: issued.refresh_token.or(Some(refresh_token)),
                    expires_at: issued.expires_in.map(|seconds| now + seconds),
                    scope: issued.scope.or(record.scope.clone()),
                    refreshed_at: now,
                    ..record
                };
                self.store
                    .put_connection(&refreshed)
                    .await
                    .map_err(ConnectError::Store)?;
                self.forget(&refreshed.owner, &refreshed.server);
                tracing::info!(owner = %refreshed.owner, server = %refreshed.server, "refreshed a user's connection");
                Ok(Some(refreshed))
            }
            Err(crate::egress::EgressError::Refused { error, .. }) => {
                tracing::warn!(owner = %record.owner, server = %record.server, %error, "the provider no longer honours a user's connection; removed");
                self.store
                    .delete_connection(&record.owner, &record.server)
                    .await
                    .map_err(ConnectError::Store)?;
                self.forget(&record.owner, &record.server);
                Ok(None)
            }
            Err(error) => Err(ConnectError::Unavailable(error.to_string())),
        }
    }
}
