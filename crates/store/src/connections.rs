//! Users' connections to the services servers call, and connect flows in progress
//! (`mcpgw_auth::egress::user::store::ConnectionStore`). Access and refresh tokens and
//! the PKCE verifier are sealed, each bound to its column and row.

use async_trait::async_trait;
use mcpgw_auth::egress::user::store::{
    ConnectFlow, ConnectionRecord, ConnectionStore, Registration,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::secrets::connection_context;

/// The columns a [`ConnectionRecord`] is read from (a macro: SQL text must be static).
macro_rules! connection_columns {
    () => {
        "owner, server_path, provider, server_url, issuer, resource, access_token, \
         refresh_token, expires_at, scope, created_at, refreshed_at"
    };
}

impl SqlStore {
    fn connection(&self, row: &AnyRow) -> Result<ConnectionRecord, String> {
        let text = |column: &str| row.try_get::<String, _>(column).map_err(|e| e.to_string());
        let optional = |column: &str| {
            row.try_get::<Option<String>, _>(column)
                .map_err(|e| e.to_string())
        };
        let number = |column: &str| row.try_get::<i64, _>(column).map_err(|e| e.to_string());
        let owner = text("owner")?;
        let server = text("server_path")?;
        let open = |column: &str, value: &str| {
            self.secrets()
                .open(&connection_context(column, &owner, &server), value)
                .map_err(|e| e.to_string())
        };
        let server_url = open("server_url", &text("server_url")?)?;
        let access_token = open("access_token", &text("access_token")?)?;
        let refresh_token = optional("refresh_token")?
            .map(|value| open("refresh_token", &value))
            .transpose()?;
        Ok(ConnectionRecord {
            provider: text("provider")?,
            server_url,
            issuer: optional("issuer")?,
            resource: optional("resource")?,
            access_token,
            refresh_token,
            expires_at: row
                .try_get::<Option<i64>, _>("expires_at")
                .map_err(|e| e.to_string())?,
            scope: optional("scope")?,
            created_at: number("created_at")?,
            refreshed_at: number("refreshed_at")?,
            owner,
            server,
        })
    }

    /// `value` sealed for `column` of `record`'s row.
    fn seal_for(
        &self,
        record: &ConnectionRecord,
        column: &str,
        value: &str,
    ) -> Result<String, String> {
        self.secrets()
            .seal(
                &connection_context(column, &record.owner, &record.server),
                value,
            )
            .map_err(|e| e.to_string())
    }

    /// `record`'s access and refresh tokens, sealed for its row.
    fn sealed_tokens(&self, record: &ConnectionRecord) -> Result<(String, Option<String>), String> {
        let access = self.seal_for(record, "access_token", &record.access_token)?;
        let refresh = record
            .refresh_token
            .as_deref()
            .map(|token| self.seal_for(record, "refresh_token", token))
            .transpose()?;
        Ok((access, refresh))
    }

    fn connections(&self, rows: &[AnyRow]) -> Result<Vec<ConnectionRecord>, String> {
        rows.iter().map(|row| self.connection(row)).collect()
    }
}

#[async_trait]
impl ConnectionStore for SqlStore {
    async fn insert_connect_flow(&self, flow: &ConnectFlow) -> Result<(), String> {
        let seal = |column: &str, value: &str| {
            self.secrets()
                .seal(
                    &connection_context(column, &flow.owner, &flow.server),
                    value,
                )
                .map_err(|e| e.to_string())
        };
        let verifier = seal("verifier", &flow.verifier)?;
        let server_url = seal("server_url", &flow.server_url)?;
        sqlx::query(
            "INSERT INTO egress_connect_flows (state_hash, owner, server_path, provider, \
             verifier, redirect_uri, resource, next_path, expires_at, server_url, issuer) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&flow.state_hash)
        .bind(&flow.owner)
        .bind(&flow.server)
        .bind(&flow.provider)
        .bind(verifier)
        .bind(&flow.redirect_uri)
        .bind(&flow.resource)
        .bind(&flow.next)
        .bind(flow.expires_at)
        .bind(server_url)
        .bind(&flow.issuer)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn take_connect_flow(&self, state_hash: &str) -> Result<Option<ConnectFlow>, String> {
        let row = sqlx::query(
            "DELETE FROM egress_connect_flows WHERE state_hash = $1 RETURNING state_hash, \
             owner, server_path, provider, verifier, redirect_uri, resource, next_path, \
             expires_at, server_url, issuer",
        )
        .bind(state_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        let Some(row) = row else {
            return Ok(None);
        };
        let text = |column: &str| row.try_get::<String, _>(column).map_err(|e| e.to_string());
        let owner = text("owner")?;
        let server = text("server_path")?;
        let open = |column: &str| {
            self.secrets()
                .open(&connection_context(column, &owner, &server), &text(column)?)
                .map_err(|e| e.to_string())
        };
        let verifier = open("verifier")?;
        let server_url = open("server_url")?;
        Ok(Some(ConnectFlow {
            state_hash: text("state_hash")?,
            provider: text("provider")?,
            server_url,
            issuer: row
                .try_get::<Option<String>, _>("issuer")
                .map_err(|e| e.to_string())?,
            verifier,
            redirect_uri: text("redirect_uri")?,
            resource: row
                .try_get::<Option<String>, _>("resource")
                .map_err(|e| e.to_string())?,
            next: text("next_path")?,
            expires_at: row
                .try_get::<i64, _>("expires_at")
                .map_err(|e| e.to_string())?,
            owner,
            server,
        }))
    }

    async fn put_connection(&self, record: &ConnectionRecord) -> Result<(), String> {
        let server_url = self.seal_for(record, "server_url", &record.server_url)?;
        let (access, refresh) = self.sealed_tokens(record)?;
        sqlx::query(
            "INSERT INTO egress_connections (owner, server_path, provider, resource, \
             access_token, refresh_token, expires_at, scope, created_at, refreshed_at, \
             refresh_lease_until, server_url, issuer) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12) \
             ON CONFLICT (owner, server_path) DO UPDATE SET provider = excluded.provider, \
             server_url = excluded.server_url, issuer = excluded.issuer, \
             resource = excluded.resource, access_token = excluded.access_token, \
             refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, \
             scope = excluded.scope, created_at = excluded.created_at, \
             refreshed_at = excluded.refreshed_at, refresh_lease_until = 0",
        )
        .bind(&record.owner)
        .bind(&record.server)
        .bind(&record.provider)
        .bind(&record.resource)
        .bind(access)
        .bind(refresh)
        .bind(record.expires_at)
        .bind(&record.scope)
        .bind(record.created_at)
        .bind(record.refreshed_at)
        .bind(server_url)
        .bind(&record.issuer)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn get_connection(
        &self,
        owner: &str,
        server: &str,
    ) -> Result<Option<ConnectionRecord>, String> {
        const SQL: &str = concat!(
            "SELECT ",
            connection_columns!(),
            " FROM egress_connections WHERE owner = $1 AND server_path = $2"
        );
        let row = sqlx::query(SQL)
            .bind(owner)
            .bind(server)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        row.as_ref().map(|row| self.connection(row)).transpose()
    }

    async fn connections_of(&self, owner: &str) -> Result<Vec<ConnectionRecord>, String> {
        const SQL: &str = concat!(
            "SELECT ",
            connection_columns!(),
            " FROM egress_connections WHERE owner = $1 ORDER BY server_path"
        );
        let rows = sqlx::query(SQL)
            .bind(owner)
            .fetch_all(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        self.connections(&rows)
    }

    async fn delete_connection(
        &self,
        owner: &str,
        server: &str,
    ) -> Result<Option<ConnectionRecord>, String> {
        const SQL: &str = concat!(
            "DELETE FROM egress_connections WHERE owner = $1 AND server_path = $2 RETURNING ",
            connection_columns!()
        );
        let row = sqlx::query(SQL)
            .bind(owner)
            .bind(server)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        row.as_ref().map(|row| self.connection(row)).transpose()
    }

    async fn connections_due(
        &self,
        now: i64,
        buffer: i64,
        limit: i64,
    ) -> Result<Vec<ConnectionRecord>, String> {
        // Due within the buffer, or within half the token's lifetime when that is shorter
        // (an hour's buffer must not renew one-hour tokens every minute).
        const SQL: &str = concat!(
            "SELECT ",
            connection_columns!(),
            " FROM egress_connections WHERE refresh_token IS NOT NULL \
             AND expires_at IS NOT NULL AND refresh_lease_until <= $1 \
             AND expires_at - $1 < CASE WHEN (expires_at - refreshed_at) / 2 < $2 \
             THEN (expires_at - refreshed_at) / 2 ELSE $2 END \
             ORDER BY expires_at LIMIT $3"
        );
        let rows = sqlx::query(SQL)
            .bind(now)
            .bind(buffer)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        self.connections(&rows)
    }

    async fn claim_refresh(
        &self,
        owner: &str,
        server: &str,
        seen: i64,
        now: i64,
        until: i64,
    ) -> Result<bool, String> {
        let claimed = sqlx::query(
            "UPDATE egress_connections SET refresh_lease_until = $1 WHERE owner = $2 \
             AND server_path = $3 AND refresh_lease_until <= $4 AND refreshed_at = $5",
        )
        .bind(until)
        .bind(owner)
        .bind(server)
        .bind(now)
        .bind(seen)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn update_tokens(&self, record: &ConnectionRecord, seen: i64) -> Result<bool, String> {
        let (access, refresh) = self.sealed_tokens(record)?;
        let updated = sqlx::query(
            "UPDATE egress_connections SET access_token = $1, refresh_token = $2, \
             expires_at = $3, scope = $4, refreshed_at = $5, refresh_lease_until = 0 \
             WHERE owner = $6 AND server_path = $7 AND refreshed_at = $8",
        )
        .bind(access)
        .bind(refresh)
        .bind(record.expires_at)
        .bind(&record.scope)
        .bind(record.refreshed_at)
        .bind(&record.owner)
        .bind(&record.server)
        .bind(seen)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(updated.rows_affected() == 1)
    }

    async fn delete_connection_if(
        &self,
        owner: &str,
        server: &str,
        seen: i64,
    ) -> Result<bool, String> {
        let deleted = sqlx::query(
            "DELETE FROM egress_connections WHERE owner = $1 AND server_path = $2 \
             AND refreshed_at = $3",
        )
        .bind(owner)
        .bind(server)
        .bind(seen)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(deleted.rows_affected() == 1)
    }

    async fn get_registration(
        &self,
        provider: &str,
        issuer: &str,
        redirect_uri: &str,
    ) -> Result<Option<Registration>, String> {
        let row = sqlx::query(
            "SELECT client_id, client_secret, auth_method FROM egress_registrations \
             WHERE provider = $1 AND issuer = $2 AND redirect_uri = $3",
        )
        .bind(provider)
        .bind(issuer)
        .bind(redirect_uri)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        let Some(row) = row else {
            return Ok(None);
        };
        let optional = |column: &str| {
            row.try_get::<Option<String>, _>(column)
                .map_err(|e| e.to_string())
        };
        let client_secret = optional("client_secret")?
            .map(|sealed| {
                self.secrets()
                    .open(
                        &connection_context("client_secret", provider, issuer),
                        &sealed,
                    )
                    .map_err(|e| e.to_string())
            })
            .transpose()?;
        Ok(Some(Registration {
            provider: provider.to_owned(),
            issuer: issuer.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            client_id: row
                .try_get::<String, _>("client_id")
                .map_err(|e| e.to_string())?,
            client_secret,
            auth_method: optional("auth_method")?,
        }))
    }

    async fn put_registration(&self, registration: &Registration) -> Result<Registration, String> {
        let secret = registration
            .client_secret
            .as_deref()
            .map(|secret| {
                self.secrets().seal(
                    &connection_context(
                        "client_secret",
                        &registration.provider,
                        &registration.issuer,
                    ),
                    secret,
                )
            })
            .transpose()
            .map_err(|e| e.to_string())?;
        sqlx::query(
            "INSERT INTO egress_registrations (provider, issuer, client_id, client_secret, \
             auth_method, created_at, redirect_uri) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (provider, issuer, redirect_uri) DO NOTHING",
        )
        .bind(&registration.provider)
        .bind(&registration.issuer)
        .bind(&registration.client_id)
        .bind(secret)
        .bind(&registration.auth_method)
        .bind(chrono::Utc::now().timestamp())
        .bind(&registration.redirect_uri)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        // Another replica may have registered first: its registration is the one kept.
        self.get_registration(
            &registration.provider,
            &registration.issuer,
            &registration.redirect_uri,
        )
        .await?
        .ok_or_else(|| "the registration was not kept".to_owned())
    }

    async fn prune_connect_flows(&self, now: i64) -> Result<u64, String> {
        let pruned = sqlx::query("DELETE FROM egress_connect_flows WHERE expires_at < $1")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        Ok(pruned.rows_affected())
    }
}
