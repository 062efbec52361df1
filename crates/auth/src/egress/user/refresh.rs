//! Keeping connections alive: tokens renewed before they expire (in the background, and
//! on use when one is about to), one replica at a time per connection, each write
//! conditional on the connection being the one read (so that a rotating refresh token is
//! used once, and a disconnect is never undone by a refresh in flight). Only the
//! provider's `invalid_grant` ends a connection; any other failure is tried again later.

use super::store::ConnectionRecord;
use super::{ConnectError, RefreshReport, UserConnections, token_endpoint};
use crate::egress::EgressError;

/// How long one replica holds the right to refresh a connection; after a failure, the
/// connection is not tried again before it runs out.
const REFRESH_LEASE_SECS: i64 = 30;
/// Most connections looked at per round.
const ROUND: i64 = 200;

impl UserConnections {
    /// Refreshes every connection that is due.
    pub async fn refresh_due(&self, now: i64) -> Result<RefreshReport, ConnectError> {
        let due = self
            .store
            .connections_due(now, self.refresh_buffer, ROUND)
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
    /// connection is then removed), or when it has expired and cannot be refreshed.
    pub(super) async fn refresh_one(
        &self,
        record: ConnectionRecord,
        now: i64,
    ) -> Result<Option<ConnectionRecord>, ConnectError> {
        let expired = record.expires_at.is_some_and(|expires| expires <= now);
        let Some(refresh_token) = record.refresh_token.clone() else {
            return Ok((!expired).then_some(record));
        };
        let seen = record.refreshed_at;
        let claimed = self
            .store
            .claim_refresh(
                &record.owner,
                &record.server,
                seen,
                now,
                now + REFRESH_LEASE_SECS,
            )
            .await
            .map_err(ConnectError::Store)?;
        if !claimed {
            // Refreshed, renewed elsewhere, or being renewed: what is stored now.
            let current = self
                .store
                .get_connection(&record.owner, &record.server)
                .await
                .map_err(ConnectError::Store)?;
            return match current {
                Some(current) if current.expires_at.is_none_or(|expires| now < expires) => {
                    Ok(Some(current))
                }
                Some(_) => Err(ConnectError::Unavailable(
                    "the connection is being renewed; try again in a moment".into(),
                )),
                None => Ok(None),
            };
        }
        let provider = self.provider(&record.provider)?;
        let endpoints = self.endpoints(provider, &record.server_url).await?;
        // The refresh token goes only to the authorization server that issued it.
        if endpoints.issuer != record.issuer {
            return Err(ConnectError::Unavailable(format!(
                "server '{}' now names another authorization server; the user must connect again",
                record.server
            )));
        }
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
                    refreshed_at: now.max(seen + 1),
                    ..record
                };
                let stored = self
                    .store
                    .update_tokens(&refreshed, seen)
                    .await
                    .map_err(ConnectError::Store)?;
                self.forget(&refreshed.owner, &refreshed.server);
                if !stored {
                    // Disconnected (or reconnected) meanwhile: these tokens are not kept.
                    return Ok(None);
                }
                tracing::info!(owner = %refreshed.owner, server = %refreshed.server, "refreshed a user's connection");
                Ok(Some(refreshed))
            }
            Err(EgressError::Refused { error, .. }) if error == "invalid_grant" => {
                tracing::warn!(owner = %record.owner, server = %record.server, "the provider no longer honours a user's connection; removed");
                self.store
                    .delete_connection_if(&record.owner, &record.server, seen)
                    .await
                    .map_err(ConnectError::Store)?;
                self.forget(&record.owner, &record.server);
                Ok(None)
            }
            Err(error) => {
                if matches!(&error, EgressError::Refused { error, .. } if error == "invalid_client")
                {
                    tracing::error!(provider = %record.provider, "the provider refuses the gateway's client credentials (invalid_client)");
                }
                Err(ConnectError::Unavailable(error.to_string()))
            }
        }
    }
}
