//! Browser sessions and OIDC sign-ins in progress (`mcpgw_auth::session::SessionStore`)
//! in the gateway's database, so that every replica sees them.

use async_trait::async_trait;
use mcpgw_auth::session::{LoginFlow, SessionRecord, SessionStore};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;

fn session(row: &AnyRow) -> Result<SessionRecord, String> {
    let text = |column: &str| row.try_get::<String, _>(column).map_err(|e| e.to_string());
    let number = |column: &str| row.try_get::<i64, _>(column).map_err(|e| e.to_string());
    Ok(SessionRecord {
        id_hash: text("id_hash")?,
        owner: text("owner")?,
        principal: serde_json::from_str(&text("principal_json")?)
            .map_err(|e| format!("principal_json: {e}"))?,
        csrf_token: text("csrf_token")?,
        created_at: number("created_at")?,
        expires_at: number("expires_at")?,
    })
}

fn flow(row: &AnyRow) -> Result<LoginFlow, String> {
    let text = |column: &str| row.try_get::<String, _>(column).map_err(|e| e.to_string());
    Ok(LoginFlow {
        state_hash: text("state_hash")?,
        provider: text("provider")?,
        verifier: text("verifier")?,
        nonce: text("nonce")?,
        redirect_uri: text("redirect_uri")?,
        next: text("next_path")?,
        expires_at: row
            .try_get::<i64, _>("expires_at")
            .map_err(|e| e.to_string())?,
    })
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, record: &SessionRecord) -> Result<(), String> {
        let principal = serde_json::to_string(&record.principal).map_err(|e| e.to_string())?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, owner, principal_json, csrf_token, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&record.id_hash)
        .bind(&record.owner)
        .bind(principal)
        .bind(&record.csrf_token)
        .bind(record.created_at)
        .bind(record.expires_at)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn get_session(&self, id_hash: &str) -> Result<Option<SessionRecord>, String> {
        let row = sqlx::query(
            "SELECT id_hash, owner, principal_json, csrf_token, created_at, expires_at \
             FROM sessions WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        row.as_ref().map(session).transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), String> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn delete_sessions_of(&self, owner: &str) -> Result<u64, String> {
        let done = sqlx::query("DELETE FROM sessions WHERE owner = $1")
            .bind(owner)
            .execute(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        Ok(done.rows_affected())
    }

    async fn prune_sessions(&self, now: i64) -> Result<u64, String> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        let flows = sqlx::query("DELETE FROM login_flows WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        Ok(sessions.rows_affected() + flows.rows_affected())
    }

    async fn insert_login_flow(&self, record: &LoginFlow) -> Result<(), String> {
        sqlx::query(
            "INSERT INTO login_flows (state_hash, provider, verifier, nonce, redirect_uri, \
             next_path, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&record.state_hash)
        .bind(&record.provider)
        .bind(&record.verifier)
        .bind(&record.nonce)
        .bind(&record.redirect_uri)
        .bind(&record.next)
        .bind(record.expires_at)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn take_login_flow(&self, state_hash: &str) -> Result<Option<LoginFlow>, String> {
        // One statement, so that two callbacks racing with one state cannot both get it.
        let row = sqlx::query(
            "DELETE FROM login_flows WHERE state_hash = $1 RETURNING state_hash, provider, \
             verifier, nonce, redirect_uri, next_path, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        row.as_ref().map(flow).transpose()
    }
}
