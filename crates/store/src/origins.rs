//! Origins of imported servers and peer registries
//! (`mcpgw_registry::import::OriginStore`); JSON as text, times Unix milliseconds.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mcpgw_registry::StoreError;
use mcpgw_registry::import::{Origin, OriginStore, Source};
use serde_json::Value;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::rows::{from_json, get, json_text, millis, time, unavailable};
use crate::secrets::{SOURCE_TOKEN, Secrets};

/// Decodes one `server_origins` row.
fn origin_from_row(row: &AnyRow) -> Result<Origin, StoreError> {
    let document: String = get(row, "document")?;
    Ok(Origin {
        path: get(row, "path")?,
        source: get(row, "source")?,
        name: get(row, "name")?,
        version: get(row, "version")?,
        document: from_json(&document, "server_origins.document")?,
        applied_digest: get(row, "applied_digest")?,
        imported_at: time(get(row, "imported_at")?, "imported_at")?,
        updated_at: time(get(row, "updated_at")?, "updated_at")?,
    })
}

/// Decodes one `registry_sources` row.
fn source_from_row(row: &AnyRow, secrets: &Secrets) -> Result<Source, StoreError> {
    let interval: i64 = get(row, "interval_secs")?;
    let last_sync: Option<i64> = get(row, "last_sync_at")?;
    let last_result: Option<String> = get(row, "last_result")?;
    Ok(Source {
        name: get(row, "name")?,
        url: get(row, "url")?,
        search: get(row, "search")?,
        token: get::<Option<String>>(row, "token")?
            .map(|token| secrets.open(SOURCE_TOKEN, &token))
            .transpose()?,
        interval_secs: u64::try_from(interval)
            .map_err(|_| StoreError::Corrupt(format!("interval_secs = {interval}")))?,
        created_at: time(get(row, "created_at")?, "created_at")?,
        last_sync_at: last_sync.map(|ms| time(ms, "last_sync_at")).transpose()?,
        last_result: last_result
            .map(|text| from_json::<Value>(&text, "registry_sources.last_result"))
            .transpose()?,
    })
}

#[async_trait]
impl OriginStore for SqlStore {
    async fn list_origins(&self) -> Result<Vec<Origin>, StoreError> {
        let rows = sqlx::query(
            "SELECT path, source, name, version, document, applied_digest, imported_at, \
             updated_at FROM server_origins ORDER BY path",
        )
        .fetch_all(self.pool())
        .await
        .map_err(unavailable)?;
        rows.iter().map(origin_from_row).collect()
    }

    async fn put_origin(&self, origin: &Origin) -> Result<(), StoreError> {
        // In one transaction: the entry's origin at another path (a server removed here
        // and imported again under a new path) gives way, and a concurrent reader sees
        // the old or the new origin, never none.
        let mut transaction = self.begin_write().await.map_err(unavailable)?;
        sqlx::query("DELETE FROM server_origins WHERE source = $1 AND name = $2 AND path <> $3")
            .bind(&origin.source)
            .bind(&origin.name)
            .bind(&origin.path)
            .execute(&mut *transaction)
            .await
            .map_err(unavailable)?;
        sqlx::query(
            "INSERT INTO server_origins (path, source, name, version, document, \
             applied_digest, imported_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (path) DO UPDATE SET source = excluded.source, name = excluded.name, \
             version = excluded.version, document = excluded.document, \
             applied_digest = excluded.applied_digest, updated_at = excluded.updated_at",
        )
        .bind(&origin.path)
        .bind(&origin.source)
        .bind(&origin.name)
        .bind(&origin.version)
        .bind(json_text(&origin.document)?)
        .bind(&origin.applied_digest)
        .bind(millis(origin.imported_at))
        .bind(millis(origin.updated_at))
        .execute(&mut *transaction)
        .await
        .map_err(unavailable)?;
        transaction.commit().await.map_err(unavailable)
    }

    async fn delete_origin(&self, path: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM server_origins WHERE path = $1")
            .bind(path)
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn list_sources(&self) -> Result<Vec<Source>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, url, search, token, interval_secs, created_at, last_sync_at, \
             last_result FROM registry_sources ORDER BY name",
        )
        .fetch_all(self.pool())
        .await
        .map_err(unavailable)?;
        rows.iter()
            .map(|row| source_from_row(row, self.secrets()))
            .collect()
    }

    async fn insert_source(&self, source: &Source) -> Result<bool, StoreError> {
        let interval = i64::try_from(source.interval_secs)
            .map_err(|_| StoreError::Corrupt("interval_secs too large".into()))?;
        let result = sqlx::query(
            "INSERT INTO registry_sources (name, url, search, token, interval_secs, created_at, \
             last_sync_at, last_result) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&source.name)
        .bind(&source.url)
        .bind(&source.search)
        .bind(
            source
                .token
                .as_deref()
                .map(|token| self.secrets().seal(SOURCE_TOKEN, token))
                .transpose()?,
        )
        .bind(interval)
        .bind(millis(source.created_at))
        .execute(self.pool())
        .await
        .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn record_sync(
        &self,
        name: &str,
        at: DateTime<Utc>,
        result: &Value,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE registry_sources SET last_sync_at = $1, last_result = $2 WHERE name = $3",
        )
        .bind(millis(at))
        .bind(json_text(result)?)
        .bind(name)
        .execute(self.pool())
        .await
        .map_err(unavailable)?;
        Ok(updated.rows_affected() == 1)
    }

    async fn claim_sync(
        &self,
        name: &str,
        seen: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE registry_sources SET last_sync_at = $1 WHERE name = $2 \
             AND ((last_sync_at IS NULL AND $3 IS NULL) OR last_sync_at = $3)",
        )
        .bind(millis(at))
        .bind(name)
        .bind(seen.map(millis))
        .execute(self.pool())
        .await
        .map_err(unavailable)?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn delete_source(&self, name: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM registry_sources WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }
}
