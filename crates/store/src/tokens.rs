//! The token vending service's records (`mcpgw_auth::vending::TokenStore`) in the same
//! database as the registry.

use async_trait::async_trait;
use mcpgw_auth::vending::{TokenRecord, TokenStore};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;

/// The selected columns (a macro, so that every query is a literal: sqlx refuses SQL
/// built at run time).
macro_rules! columns {
    () => {
        "id, owner, subject, description, scopes_json, groups_json, admin, created_at, expires_at, revoked_at"
    };
}

fn record(row: &AnyRow) -> Result<TokenRecord, String> {
    let text = |column: &str| row.try_get::<String, _>(column).map_err(|e| e.to_string());
    let list = |column: &str| -> Result<Vec<String>, String> {
        serde_json::from_str(&text(column)?).map_err(|e| format!("{column}: {e}"))
    };
    let number = |column: &str| row.try_get::<i64, _>(column).map_err(|e| e.to_string());
    Ok(TokenRecord {
        id: text("id")?,
        owner: text("owner")?,
        subject: text("subject")?,
        description: text("description")?,
        scopes: list("scopes_json")?,
        groups: list("groups_json")?,
        admin: number("admin")? != 0,
        created_at: number("created_at")?,
        expires_at: number("expires_at")?,
        revoked_at: row
            .try_get::<Option<i64>, _>("revoked_at")
            .map_err(|e| e.to_string())?,
    })
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), String> {
        let json = |items: &[String]| serde_json::to_string(items).map_err(|e| e.to_string());
        sqlx::query(
            "INSERT INTO gateway_tokens (id, owner, subject, description, scopes_json, \
             groups_json, admin, created_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)",
        )
        .bind(&token.id)
        .bind(&token.owner)
        .bind(&token.subject)
        .bind(&token.description)
        .bind(json(&token.scopes)?)
        .bind(json(&token.groups)?)
        .bind(i64::from(token.admin))
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn list_tokens(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, String> {
        let rows = match owner {
            Some(owner) => {
                sqlx::query(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM gateway_tokens WHERE owner = $1 ORDER BY created_at DESC, id"
                ))
                .bind(owner)
                .fetch_all(self.pool())
                .await
            }
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM gateway_tokens ORDER BY created_at DESC, id"
                ))
                .fetch_all(self.pool())
                .await
            }
        }
        .map_err(|e| e.to_string())?;
        rows.iter().map(record).collect()
    }

    async fn get_token(&self, id: &str) -> Result<Option<TokenRecord>, String> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM gateway_tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        row.as_ref().map(record).transpose()
    }

    async fn revoke_token(&self, id: &str, at: i64) -> Result<(), String> {
        sqlx::query(
            "UPDATE gateway_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn revoked_tokens(&self, now: i64) -> Result<Vec<String>, String> {
        let rows = sqlx::query(
            "SELECT id FROM gateway_tokens WHERE revoked_at IS NOT NULL AND expires_at > $1",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        rows.iter()
            .map(|row| row.try_get::<String, _>("id").map_err(|e| e.to_string()))
            .collect()
    }
}
