//! Sealing what is not yet sealed with the active key, at start: secrets written before
//! sealing existed (plaintext), and secrets sealed with a key since rotated out of the
//! sealing role. Each row is rewritten only if it still holds what was read (another
//! replica may have written it meanwhile), and only its secret columns: no revision is
//! bumped, no check is started.

use std::collections::BTreeMap;

use mcpgw_registry::{Egress, StoreError};

use crate::SqlStore;
use crate::rows::{from_json, get, json_text, unavailable};
use crate::secrets::{ENV, HEADERS, SOURCE_TOKEN};

impl SqlStore {
    /// Seals every secret not sealed with the active key; returns how many rows changed.
    /// Without a keyring, nothing to do.
    ///
    /// On SQLite the rewritten pages are then copied into the database file at once (a
    /// WAL checkpoint), so that no plaintext stays on disk there; PostgreSQL keeps old
    /// row versions until they are vacuumed (the README says so).
    pub async fn seal_stored_secrets(&self) -> Result<u64, StoreError> {
        let changed = self.reseal_servers().await?
            + self.reseal_sources().await?
            + self.reseal_connections().await?
            + self.reseal_signing_keys().await?;
        if changed > 0 && self.backend() == crate::Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(self.pool())
                .await
                .map_err(unavailable)?;
        }
        Ok(changed)
    }

    async fn reseal_servers(&self) -> Result<u64, StoreError> {
        let rows =
            sqlx::query("SELECT path, url, env_json, headers_json, egress_json FROM servers")
                .fetch_all(self.pool())
                .await
                .map_err(unavailable)?;
        let secrets = self.secrets();
        let mut changed = 0;
        for row in &rows {
            let path: String = get(row, "path")?;
            let url: Option<String> = get(row, "url")?;
            let env_text: String = get(row, "env_json")?;
            let headers_text: String = get(row, "headers_json")?;
            let egress_text: String = get(row, "egress_json")?;
            let egress: Egress = from_json(&egress_text, "egress_json")?;
            let egress_needs = egress
                .client_secret()
                .is_some_and(|secret| secrets.needs_sealing(secret));
            let env: BTreeMap<String, String> = from_json(&env_text, "env_json")?;
            let headers: BTreeMap<String, String> = from_json(&headers_text, "headers_json")?;
            let plain_url = secrets.open_url(url.clone())?;
            let url_needs = match (&url, &plain_url) {
                (Some(stored), Some(plain)) => {
                    secrets.seal_url(Some(plain))?.as_deref() != Some(stored.as_str())
                        && secrets.needs_sealing(stored)
                }
                _ => false,
            };
            let stale = |map: &BTreeMap<String, String>| {
                map.values().any(|value| secrets.needs_sealing(value))
            };
            if !url_needs && !egress_needs && !stale(&env) && !stale(&headers) {
                continue;
            }
            let env = secrets.seal_map(ENV, &secrets.open_map(ENV, env)?)?;
            let headers = secrets.seal_map(HEADERS, &secrets.open_map(HEADERS, headers)?)?;
            let egress = secrets.seal_egress(&secrets.open_egress(egress)?)?;
            let result = sqlx::query(
                "UPDATE servers SET url = $1, env_json = $2, headers_json = $3, egress_json = $8 \
                 WHERE path = $4 AND env_json = $5 AND headers_json = $6 \
                 AND COALESCE(url, '') = $7 AND egress_json = $9",
            )
            .bind(secrets.seal_url(plain_url.as_deref())?)
            .bind(json_text(&env)?)
            .bind(json_text(&headers)?)
            .bind(&path)
            .bind(&env_text)
            .bind(&headers_text)
            .bind(url.unwrap_or_default())
            .bind(json_text(&egress)?)
            .bind(&egress_text)
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
            changed += result.rows_affected();
        }
        Ok(changed)
    }

    async fn reseal_sources(&self) -> Result<u64, StoreError> {
        self.reseal_column(SealedColumn {
            table: "registry_sources",
            keys: &["name"],
            column: "token",
            context: &|_| SOURCE_TOKEN.to_owned(),
        })
        .await
    }

    /// Seals again, row by row, the values of one sealed column not sealed with the active
    /// key; a row whose value changed since it was read is left alone. Returns how many
    /// rows changed.
    pub(crate) async fn reseal_column(&self, sealed: SealedColumn<'_>) -> Result<u64, StoreError> {
        let SealedColumn {
            table,
            keys,
            column,
            context,
        } = sealed;
        let select = format!(
            "SELECT {}, {column} FROM {table} WHERE {column} IS NOT NULL",
            keys.join(", ")
        );
        let matches: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(index, key)| format!("{key} = ${}", index + 2))
            .collect();
        let update = format!(
            "UPDATE {table} SET {column} = $1 WHERE {} AND {column} = ${}",
            matches.join(" AND "),
            keys.len() + 2
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(select))
            .fetch_all(self.pool())
            .await
            .map_err(unavailable)?;
        let secrets = self.secrets();
        let mut changed = 0;
        for row in &rows {
            let stored: String = get(row, column)?;
            if !secrets.needs_sealing(&stored) {
                continue;
            }
            let key_values = keys
                .iter()
                .map(|key| get::<String>(row, key))
                .collect::<Result<Vec<_>, _>>()?;
            let mut query = sqlx::query(sqlx::AssertSqlSafe(update.as_str()))
                .bind(secrets.reseal(&context(&key_values), &stored)?);
            for value in &key_values {
                query = query.bind(value);
            }
            changed += query
                .bind(&stored)
                .execute(self.pool())
                .await
                .map_err(unavailable)?
                .rows_affected();
        }
        Ok(changed)
    }
}

/// A sealed text column: its table, the columns that name a row, and the context each
/// row's value is sealed for (given those columns' values, in order). Names are this
/// crate's constants, never input.
pub(crate) struct SealedColumn<'a> {
    /// The table.
    pub(crate) table: &'static str,
    /// The columns that identify a row (text).
    pub(crate) keys: &'static [&'static str],
    /// The sealed column (text, nullable).
    pub(crate) column: &'static str,
    /// The sealing context of a row, from its key values.
    pub(crate) context: &'a dyn Fn(&[String]) -> String,
}
