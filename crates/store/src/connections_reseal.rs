//! Sealing users' connection tokens and the gateway's registrations again with the active
//! key (at start, after a rotation), as [`crate::reseal`] does for servers' secrets.

use mcpgw_registry::StoreError;
use sqlx::Row;

use crate::SqlStore;
use crate::rows::unavailable;
use crate::secrets::connection_context;

impl SqlStore {
    /// Seals again the connection tokens not sealed with the active key (at start, after
    /// a rotation); returns how many rows changed. A row changed meanwhile is left alone.
    pub(crate) async fn reseal_connections(&self) -> Result<u64, StoreError> {
        let rows = sqlx::query(
            "SELECT owner, server_path, server_url, access_token, refresh_token \
             FROM egress_connections",
        )
        .fetch_all(self.pool())
        .await
        .map_err(unavailable)?;
        let secrets = self.secrets();
        let mut changed = 0;
        for row in &rows {
            let corrupt = |error: sqlx::Error| StoreError::Corrupt(error.to_string());
            let owner: String = row.try_get("owner").map_err(corrupt)?;
            let server: String = row.try_get("server_path").map_err(corrupt)?;
            let url: String = row.try_get("server_url").map_err(corrupt)?;
            let access: String = row.try_get("access_token").map_err(corrupt)?;
            let refresh: Option<String> = row.try_get("refresh_token").map_err(corrupt)?;
            if !secrets.needs_sealing(&access)
                && !secrets.needs_sealing(&url)
                && !refresh.as_deref().is_some_and(|r| secrets.needs_sealing(r))
            {
                continue;
            }
            let again = |column: &str, value: &str| {
                let context = connection_context(column, &owner, &server);
                secrets.seal(&context, &secrets.open(&context, value)?)
            };
            let sealed_url = again("server_url", &url)?;
            let sealed_access = again("access_token", &access)?;
            let sealed_refresh = refresh
                .as_deref()
                .map(|value| again("refresh_token", value))
                .transpose()?;
            let updated = sqlx::query(
                "UPDATE egress_connections SET access_token = $1, refresh_token = $2, \
                 server_url = $6 WHERE owner = $3 AND server_path = $4 AND access_token = $5",
            )
            .bind(sealed_access)
            .bind(sealed_refresh)
            .bind(&owner)
            .bind(&server)
            .bind(&access)
            .bind(sealed_url)
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
            changed += updated.rows_affected();
        }
        Ok(changed + self.reseal_registrations().await?)
    }

    /// Seals again the client secrets of the gateway's registrations not sealed with the
    /// active key.
    async fn reseal_registrations(&self) -> Result<u64, StoreError> {
        let rows = sqlx::query(
            "SELECT provider, issuer, client_secret FROM egress_registrations \
             WHERE client_secret IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await
        .map_err(unavailable)?;
        let secrets = self.secrets();
        let mut changed = 0;
        for row in &rows {
            let corrupt = |error: sqlx::Error| StoreError::Corrupt(error.to_string());
            let provider: String = row.try_get("provider").map_err(corrupt)?;
            let issuer: String = row.try_get("issuer").map_err(corrupt)?;
            let stored: String = row.try_get("client_secret").map_err(corrupt)?;
            if !secrets.needs_sealing(&stored) {
                continue;
            }
            let context = connection_context("client_secret", &provider, &issuer);
            let sealed = secrets.seal(&context, &secrets.open(&context, &stored)?)?;
            let updated = sqlx::query(
                "UPDATE egress_registrations SET client_secret = $1 WHERE provider = $2 \
                 AND issuer = $3 AND client_secret = $4",
            )
            .bind(sealed)
            .bind(&provider)
            .bind(&issuer)
            .bind(&stored)
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
            changed += updated.rows_affected();
        }
        Ok(changed)
    }
}
