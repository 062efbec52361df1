//! Leases (`mcpgw_registry::LeaseStore`) in the shared database: one conditional upsert
//! takes, renews or fails to take a lease, atomically on both backends.

use async_trait::async_trait;
use mcpgw_registry::{LeaseStore, StoreError};

use crate::SqlStore;
use crate::rows::unavailable;

#[async_trait]
impl LeaseStore for SqlStore {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        // The update happens only for the holder itself or over an expired lease; either
        // way one row is affected exactly when `holder` holds the lease afterwards.
        let taken = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= $4",
        )
        .bind(name)
        .bind(holder)
        .bind(until_ms)
        .bind(now_ms)
        .execute(self.pool())
        .await
        .map_err(unavailable)?;
        Ok(taken.rows_affected() == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str, now_ms: i64) -> Result<(), StoreError> {
        // Not deleted but left with no holder, expired as of the release: an attempt made
        // before it (its `now` earlier) finds neither its holder nor an expired lease and
        // takes nothing, where it would have inserted the lease anew over a deleted row.
        sqlx::query(
            "UPDATE leases SET holder = '', expires_at = $3 WHERE name = $1 AND holder = $2",
        )
        .bind(name)
        .bind(holder)
        .bind(now_ms)
        .execute(self.pool())
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}
