//! Published server versions (`mcpgw_registry::versions::VersionStore`), one row per
//! (path, version); the metadata is JSON text, times Unix milliseconds.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mcpgw_registry::StoreError;
use mcpgw_registry::versions::{ServerVersion, VersionStatus, VersionStore};
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::rows::{from_json, get, json_text, millis, time, unavailable};

/// Decodes one `server_versions` row.
fn version_from_row(row: &AnyRow) -> Result<ServerVersion, StoreError> {
    let status: String = get(row, "status")?;
    let metadata: String = get(row, "metadata")?;
    Ok(ServerVersion {
        path: get(row, "path")?,
        version: get(row, "version")?,
        seq: get(row, "seq")?,
        metadata: from_json(&metadata, "server_versions.metadata")?,
        digest: get(row, "digest")?,
        status: VersionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("server_versions.status = {status:?}")))?,
        status_message: get(row, "status_message")?,
        status_changed_at: time(get(row, "status_changed_at")?, "status_changed_at")?,
        published_at: time(get(row, "published_at")?, "published_at")?,
        updated_at: time(get(row, "updated_at")?, "updated_at")?,
    })
}

#[async_trait]
impl VersionStore for SqlStore {
    async fn publish_version(&self, version: &ServerVersion) -> Result<bool, StoreError> {
        // Both unique keys (the version string, the seq) refuse a second publication;
        // neither is an error, both mean "someone published first".
        let result = sqlx::query(
            "INSERT INTO server_versions (path, version, seq, metadata, digest, status, \
             status_message, status_changed_at, published_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        )
        .bind(&version.path)
        .bind(&version.version)
        .bind(version.seq)
        .bind(json_text(&version.metadata)?)
        .bind(&version.digest)
        .bind(version.status.as_str())
        .bind(&version.status_message)
        .bind(millis(version.status_changed_at))
        .bind(millis(version.published_at))
        .bind(millis(version.updated_at))
        .execute(self.pool())
        .await
        .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn list_versions(&self) -> Result<Vec<ServerVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT path, version, seq, metadata, digest, status, status_message, \
             status_changed_at, published_at, updated_at FROM server_versions \
             ORDER BY path, seq",
        )
        .fetch_all(self.pool())
        .await
        .map_err(unavailable)?;
        rows.iter().map(version_from_row).collect()
    }

    async fn versions_of(&self, path: &str) -> Result<Vec<ServerVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT path, version, seq, metadata, digest, status, status_message, \
             status_changed_at, published_at, updated_at FROM server_versions \
             WHERE path = $1 ORDER BY seq",
        )
        .bind(path)
        .fetch_all(self.pool())
        .await
        .map_err(unavailable)?;
        rows.iter().map(version_from_row).collect()
    }

    async fn set_version_status(
        &self,
        path: &str,
        version: Option<&str>,
        status: VersionStatus,
        message: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        // Only versions whose status or message really changes: a repeated request moves
        // no `updated_at`, so incremental syncs do not see phantom changes.
        let result = sqlx::query(
            "UPDATE server_versions SET status = $1, status_message = $2, \
             status_changed_at = $3, updated_at = $3 \
             WHERE path = $4 AND ($5 IS NULL OR version = $5) \
             AND (status <> $1 OR COALESCE(status_message, '') <> COALESCE($2, ''))",
        )
        .bind(status.as_str())
        .bind(message)
        .bind(millis(at))
        .bind(path)
        .bind(version)
        .execute(self.pool())
        .await
        .map_err(unavailable)?;
        Ok(result.rows_affected())
    }
}
