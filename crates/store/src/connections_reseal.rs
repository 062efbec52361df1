//! Sealing users' connection tokens and the gateway's registrations again with the active
//! key (at start, after a rotation), as [`crate::reseal`] does for servers' secrets.

use mcpgw_registry::StoreError;

use crate::SqlStore;
use crate::reseal::SealedColumn;
use crate::rows::{get, unavailable};
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
            let owner: String = get(row, "owner")?;
            let server: String = get(row, "server_path")?;
            let url: String = get(row, "server_url")?;
            let access: String = get(row, "access_token")?;
            let refresh: Option<String> = get(row, "refresh_token")?;
            if !secrets.needs_sealing(&access)
                && !secrets.needs_sealing(&url)
                && !refresh.as_deref().is_some_and(|r| secrets.needs_sealing(r))
            {
                continue;
            }
            let again = |column: &str, value: &str| {
                secrets.reseal(&connection_context(column, &owner, &server), value)
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
        self.reseal_column(SealedColumn {
            table: "egress_registrations",
            keys: &["provider", "issuer"],
            column: "client_secret",
            context: &|keys| match keys {
                [provider, issuer] => connection_context("client_secret", provider, issuer),
                _ => String::new(),
            },
        })
        .await
    }
}
