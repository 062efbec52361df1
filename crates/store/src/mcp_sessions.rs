//! MCP sessions every replica can find (`mcp_sessions`): who owns each, and what the
//! gateway needs to restore its own sessions. Ids are stored as digests only: a session id
//! is a bearer secret for its owner.

use mcpgw_registry::StoreError;
use sqlx::Row;

use crate::SqlStore;
use crate::rows::unavailable;

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMcpSession {
    /// Who opened it (`Principal::owner`).
    pub owner: String,
    /// What restores it elsewhere (the client's `initialize`, as JSON), for the gateway's
    /// own sessions.
    pub state: Option<String>,
    /// When it is forgotten unless used (seconds since the epoch).
    pub expires_at: i64,
}

/// The digest a session is stored under: scope and id together, so that equal ids of two
/// servers are two sessions.
fn key(scope: &str, id: &str) -> String {
    mcpgw_auth::session::digest(&format!("{scope}\n{id}"))
}

impl SqlStore {
    /// Remembers session `id` of `scope` as `owner`'s until `expires_at`.
    pub async fn remember_mcp_session(
        &self,
        scope: &str,
        id: &str,
        owner: &str,
        state: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        // An id is issued once; if it was somehow stored already, its first owner keeps it.
        sqlx::query(
            "INSERT INTO mcp_sessions (id_hash, scope, owner, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id_hash) DO NOTHING",
        )
        .bind(key(scope, id))
        .bind(scope)
        .bind(owner)
        .bind(state)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    /// Session `id` of `scope`, unless it expired by `now` or is unknown.
    pub async fn mcp_session(
        &self,
        scope: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<StoredMcpSession>, StoreError> {
        let row = sqlx::query(
            "SELECT owner, state, expires_at FROM mcp_sessions \
             WHERE id_hash = $1 AND scope = $2 AND expires_at > $3",
        )
        .bind(key(scope, id))
        .bind(scope)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(unavailable)?;
        row.map(|row| {
            Ok(StoredMcpSession {
                owner: row.try_get("owner").map_err(unavailable)?,
                state: row.try_get("state").map_err(unavailable)?,
                expires_at: row.try_get("expires_at").map_err(unavailable)?,
            })
        })
        .transpose()
    }

    /// Keeps session `id` of `scope` until `expires_at` (it is in use).
    pub async fn touch_mcp_session(
        &self,
        scope: &str,
        id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mcp_sessions SET expires_at = $1 WHERE id_hash = $2 AND expires_at < $1",
        )
        .bind(expires_at)
        .bind(key(scope, id))
        .execute(self.pool())
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    /// Forgets session `id` of `scope` (its client ended it).
    pub async fn forget_mcp_session(&self, scope: &str, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mcp_sessions WHERE id_hash = $1")
            .bind(key(scope, id))
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Deletes the sessions that expired by `now`; returns how many.
    pub async fn prune_mcp_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM mcp_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
        Ok(deleted.rows_affected())
    }
}
