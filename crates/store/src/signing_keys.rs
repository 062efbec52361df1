//! The gateway's token signing keys (`mcpgw_auth::vending::keys::KeyStore`), shared by
//! every replica; each seed is sealed for its own key id, so that a seed copied to another
//! row does not open.

use async_trait::async_trait;
use mcpgw_auth::vending::keys::{KeyStore, StoredKey};
use mcpgw_registry::StoreError;

use crate::SqlStore;
use crate::reseal::SealedColumn;
use crate::rows::get;

/// The context a key's seed is sealed for.
fn seed_context(kid: &str) -> String {
    format!("signing_keys.seed\n{kid}")
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, String> {
        let rows = sqlx::query("SELECT kid, seed, created_at, retired_at FROM signing_keys")
            .fetch_all(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        rows.iter()
            .map(|row| {
                let kid: String = get(row, "kid")?;
                let sealed: String = get(row, "seed")?;
                Ok(StoredKey {
                    seed: self.secrets().open(&seed_context(&kid), &sealed)?,
                    created_at: get(row, "created_at")?,
                    retired_at: get(row, "retired_at")?,
                    kid,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map_err(|e| e.to_string())
    }

    async fn add_signing_key(&self, key: &StoredKey) -> Result<(), String> {
        let seed = self
            .secrets()
            .seal(&seed_context(&key.kid), &key.seed)
            .map_err(|e| e.to_string())?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, seed, created_at, retired_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kid) DO NOTHING",
        )
        .bind(&key.kid)
        .bind(seed)
        .bind(key.created_at)
        .bind(key.retired_at)
        .execute(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn rotate_signing_key(
        &self,
        key: &StoredKey,
        at: i64,
        dropped_before: i64,
    ) -> Result<(), String> {
        let seed = self
            .secrets()
            .seal(&seed_context(&key.kid), &key.seed)
            .map_err(|e| e.to_string())?;
        let mut transaction = self.begin_write().await.map_err(|e| e.to_string())?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, seed, created_at, retired_at) VALUES ($1, $2, $3, NULL)",
        )
        .bind(&key.kid)
        .bind(seed)
        .bind(key.created_at)
        .execute(&mut *transaction)
        .await
        .map_err(|e| e.to_string())?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND kid <> $2",
        )
        .bind(at)
        .bind(&key.kid)
        .execute(&mut *transaction)
        .await
        .map_err(|e| e.to_string())?;
        sqlx::query("DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1")
            .bind(dropped_before)
            .execute(&mut *transaction)
            .await
            .map_err(|e| e.to_string())?;
        transaction.commit().await.map_err(|e| e.to_string())
    }
}

impl SqlStore {
    /// Seals again, with the active key, the seeds sealed with an older one.
    pub(crate) async fn reseal_signing_keys(&self) -> Result<u64, StoreError> {
        self.reseal_column(SealedColumn {
            table: "signing_keys",
            keys: &["kid"],
            column: "seed",
            context: &|keys| seed_context(keys.first().map_or("", String::as_str)),
        })
        .await
    }
}
