//! Cached embeddings (`mcpgw_registry::EmbeddingStore`): one row per (model, text hash),
//! the vector as base64 of its little-endian `f32` bytes.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mcpgw_registry::{EmbeddingStore, StoreError};
use sqlx::Row;

use crate::SqlStore;
use crate::rows::unavailable;

/// The stored form of a vector.
fn encode(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect();
    STANDARD.encode(bytes)
}

/// A vector back from its stored form, checked against its recorded length.
fn decode(text: &str, dimensions: i64) -> Result<Vec<f32>, StoreError> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|error| StoreError::Corrupt(format!("embeddings.vector: {error}")))?;
    if bytes.len() % 4 != 0 || (bytes.len() / 4) as i64 != dimensions {
        return Err(StoreError::Corrupt(format!(
            "embeddings.vector: {} bytes for {dimensions} dimensions",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
        .collect())
}

#[async_trait]
impl EmbeddingStore for SqlStore {
    async fn load_embeddings(&self, model: &str) -> Result<Vec<(String, Vec<f32>)>, StoreError> {
        let rows =
            sqlx::query("SELECT text_hash, dimensions, vector FROM embeddings WHERE model = $1")
                .bind(model)
                .fetch_all(self.pool())
                .await
                .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                let corrupt = |error: sqlx::Error| StoreError::Corrupt(error.to_string());
                let hash: String = row.try_get("text_hash").map_err(corrupt)?;
                let dimensions: i64 = row.try_get("dimensions").map_err(corrupt)?;
                let vector: String = row.try_get("vector").map_err(corrupt)?;
                Ok((hash, decode(&vector, dimensions)?))
            })
            .collect()
    }

    async fn save_embeddings(
        &self,
        model: &str,
        entries: &[(String, Vec<f32>)],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut transaction = self.begin_write().await.map_err(unavailable)?;
        for (hash, vector) in entries {
            sqlx::query(
                "INSERT INTO embeddings (model, text_hash, dimensions, vector) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (model, text_hash) DO NOTHING",
            )
            .bind(model)
            .bind(hash)
            .bind(vector.len() as i64)
            .bind(encode(vector))
            .execute(&mut *transaction)
            .await
            .map_err(unavailable)?;
        }
        transaction.commit().await.map_err(unavailable)
    }

    async fn forget_embeddings(&self, model: &str, hashes: &[String]) -> Result<u64, StoreError> {
        let mut transaction = self.begin_write().await.map_err(unavailable)?;
        let mut removed = 0;
        for hash in hashes {
            removed += sqlx::query("DELETE FROM embeddings WHERE model = $1 AND text_hash = $2")
                .bind(model)
                .bind(hash)
                .execute(&mut *transaction)
                .await
                .map_err(unavailable)?
                .rows_affected();
        }
        transaction.commit().await.map_err(unavailable)?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_survive_their_stored_form_exactly() {
        let vector = vec![0.0, -1.5, f32::MIN_POSITIVE, 0.123_456_79, f32::MAX];
        let stored = encode(&vector);
        assert_eq!(decode(&stored, 5).unwrap(), vector);
        assert!(matches!(decode(&stored, 4), Err(StoreError::Corrupt(_))));
        assert!(matches!(
            decode("not base64!", 1),
            Err(StoreError::Corrupt(_))
        ));
    }
}
