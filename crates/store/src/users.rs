//! Local users (`mcpgw_auth::users::UserStore`) in the gateway's database.

use async_trait::async_trait;
use mcpgw_auth::users::{UserRecord, UserStore};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;

/// The selected columns (a macro, so that every query is a literal).
macro_rules! columns {
    () => {
        "username, password_hash, groups_json, admin, created_at, updated_at"
    };
}

fn record(row: &AnyRow) -> Result<UserRecord, String> {
    let text = |column: &str| row.try_get::<String, _>(column).map_err(|e| e.to_string());
    let number = |column: &str| row.try_get::<i64, _>(column).map_err(|e| e.to_string());
    Ok(UserRecord {
        username: text("username")?,
        password_hash: text("password_hash")?,
        groups: serde_json::from_str(&text("groups_json")?)
            .map_err(|e| format!("groups_json: {e}"))?,
        admin: number("admin")? != 0,
        created_at: number("created_at")?,
        updated_at: number("updated_at")?,
    })
}

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, user: &UserRecord) -> Result<bool, String> {
        let groups = serde_json::to_string(&user.groups).map_err(|e| e.to_string())?;
        let done = sqlx::query(
            "INSERT INTO users (username, password_hash, groups_json, admin, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING",
        )
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(groups)
        .bind(i64::from(user.admin))
        .bind(user.created_at)
        .bind(user.updated_at)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_user(&self, username: &str) -> Result<Option<UserRecord>, String> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        row.as_ref().map(record).transpose()
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, String> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM users ORDER BY username"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        rows.iter().map(record).collect()
    }

    async fn set_password(&self, username: &str, hash: &str, at: i64) -> Result<bool, String> {
        let done =
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE username = $3")
                .bind(hash)
                .bind(at)
                .bind(username)
                .execute(self.pool())
                .await
                .map_err(|e| e.to_string())?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_user(&self, username: &str) -> Result<bool, String> {
        let done = sqlx::query("DELETE FROM users WHERE username = $1")
            .bind(username)
            .execute(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        Ok(done.rows_affected() == 1)
    }
}
