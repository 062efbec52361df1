//! [`SqlStore`]: the registry's `Store` on SQLite or PostgreSQL.

use async_trait::async_trait;
use chrono::Utc;
use mcpgw_registry::{Health, HealthEvent, HealthState, Server, Store, StoreError, Tool};
use sqlx::AnyPool;
use sqlx::Row;

use crate::connect::Backend;
use crate::health_events;
use crate::rows::{json_text, millis, server_columns, server_from_row, unavailable};
use crate::secrets::{ENV, HEADERS, Secrets};

/// A registry store on a pooled SQL connection.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// Seals the secret columns.
    secrets: Secrets,
}

impl SqlStore {
    pub(crate) fn new(pool: AnyPool, backend: Backend) -> Self {
        SqlStore {
            pool,
            backend,
            secrets: Secrets::default(),
        }
    }

    /// The store sealing secrets with `keyring` (see [`crate::secrets`]).
    pub fn with_keyring(mut self, keyring: std::sync::Arc<mcpgw_auth::sealing::Keyring>) -> Self {
        self.secrets = Secrets::with(keyring);
        self
    }

    /// The connection pool, for tests that read what is stored as it is.
    #[doc(hidden)]
    pub fn pool_for_tests(&self) -> &AnyPool {
        &self.pool
    }

    /// What the store seals secrets with.
    pub(crate) fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The connection pool, for the other stores sharing this database.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), waiting out the busy timeout for another writer: a deferred
    /// transaction that reads first and writes later fails at once with `SQLITE_BUSY`
    /// when another connection wrote in between (its snapshot is stale, and no wait can
    /// help), which a caller would see as a spurious 503. On PostgreSQL a transaction
    /// that must not race another writer locks the rows it depends on
    /// ([`SqlStore::lock_server`]).
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Inside `transaction`, whether server `path` is registered, holding it so until the
    /// transaction ends: on PostgreSQL its row is locked (`FOR UPDATE`), so a removal of
    /// the server waits and then removes what the transaction stored about it, and two
    /// such transactions about one server run one after the other; on SQLite the
    /// transaction's write lock (see [`SqlStore::begin_write`]) already does both.
    pub(crate) async fn lock_server(
        &self,
        transaction: &mut sqlx::Transaction<'static, sqlx::Any>,
        path: &str,
    ) -> Result<bool, sqlx::Error> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT path FROM servers WHERE path = $1",
            Backend::Postgres => "SELECT path FROM servers WHERE path = $1 FOR UPDATE",
        };
        let found: Option<String> = sqlx::query_scalar(sql)
            .bind(path)
            .fetch_optional(&mut **transaction)
            .await?;
        Ok(found.is_some())
    }

    /// Which database this store uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every pooled connection (at shutdown), waiting for queries in flight.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn corrupt(error: sqlx::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

#[async_trait]
impl Store for SqlStore {
    fn kind(&self) -> &'static str {
        self.backend.name()
    }

    async fn insert_server(&self, server: &Server) -> Result<bool, StoreError> {
        const SQL: &str = concat!(
            "INSERT INTO servers (",
            server_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22, $23, $24, $25, $26) ON CONFLICT (path) DO NOTHING"
        );
        let result = sqlx::query(SQL)
            .bind(&server.path)
            .bind(&server.name)
            .bind(&server.description)
            .bind(server.transport.as_str())
            .bind(self.secrets.seal_url(server.url.as_deref())?)
            .bind(&server.command)
            .bind(json_text(&server.args)?)
            .bind(json_text(&self.secrets.seal_map(ENV, &server.env)?)?)
            .bind(json_text(
                &self.secrets.seal_map(HEADERS, &server.headers)?,
            )?)
            .bind(json_text(&server.tags)?)
            .bind(&server.license)
            .bind(&server.version)
            .bind(i64::from(server.enabled))
            .bind(millis(server.created_at))
            .bind(millis(server.updated_at))
            .bind(server.health.status.as_str())
            .bind(&server.health.reason)
            .bind(server.health.last_checked.map(millis))
            .bind(&server.health.era)
            .bind(&server.health.protocol_version)
            .bind(server.server_info.as_ref().map(json_text).transpose()?)
            .bind(json_text(&server.tools)?)
            .bind(server.tools_updated_at.map(millis))
            .bind(server.revision)
            .bind(i64::from(server.eager))
            .bind(json_text(&self.secrets.seal_egress(&server.egress)?)?)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn update_definition(&self, server: &Server) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE servers SET name = $1, description = $2, transport = $3, url = $4, \
             command = $5, args_json = $6, env_json = $7, headers_json = $8, tags_json = $9, \
             license = $10, version = $11, enabled = $12, updated_at = $13, eager = $14, \
             egress_json = $17, revision = revision + 1 WHERE path = $15 AND revision = $16",
        )
        .bind(&server.name)
        .bind(&server.description)
        .bind(server.transport.as_str())
        .bind(self.secrets.seal_url(server.url.as_deref())?)
        .bind(&server.command)
        .bind(json_text(&server.args)?)
        .bind(json_text(&self.secrets.seal_map(ENV, &server.env)?)?)
        .bind(json_text(
            &self.secrets.seal_map(HEADERS, &server.headers)?,
        )?)
        .bind(json_text(&server.tags)?)
        .bind(&server.license)
        .bind(&server.version)
        .bind(i64::from(server.enabled))
        .bind(millis(server.updated_at))
        .bind(i64::from(server.eager))
        .bind(&server.path)
        .bind(server.revision)
        .bind(json_text(&self.secrets.seal_egress(&server.egress)?)?)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn record_check(
        &self,
        path: &str,
        revision: i64,
        health: &Health,
        server_info: Option<&serde_json::Value>,
        tools: Option<&[Tool]>,
    ) -> Result<bool, StoreError> {
        let tools_json = tools.map(json_text).transpose()?;
        let tools_changed_at = tools.map(|_| millis(Utc::now()));
        let result = sqlx::query(
            "UPDATE servers SET health_status = $1, health_reason = $2, health_checked_at = $3, \
             protocol_era = $4, protocol_version = $5, \
             server_info_json = COALESCE($6, server_info_json), \
             tools_json = COALESCE($7, tools_json), \
             tools_updated_at = COALESCE($8, tools_updated_at) \
             WHERE path = $9 AND revision = $10",
        )
        .bind(health.status.as_str())
        .bind(&health.reason)
        .bind(health.last_checked.map(millis))
        .bind(&health.era)
        .bind(&health.protocol_version)
        .bind(server_info.map(json_text).transpose()?)
        .bind(tools_json)
        .bind(tools_changed_at)
        .bind(path)
        .bind(revision)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn get_server(&self, path: &str) -> Result<Option<Server>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            server_columns!(),
            " FROM servers WHERE path = $1"
        );
        let row = sqlx::query(SQL)
            .bind(path)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.as_ref()
            .map(|row| server_from_row(row, &self.secrets))
            .transpose()
    }

    async fn list_servers(&self) -> Result<Vec<Server>, StoreError> {
        const SQL: &str = concat!("SELECT ", server_columns!(), " FROM servers ORDER BY path");
        let rows = sqlx::query(SQL)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|row| server_from_row(row, &self.secrets))
            .collect()
    }

    async fn delete_server(&self, path: &str) -> Result<bool, StoreError> {
        health_events::delete_server(self, path).await
    }

    async fn record_health_event(
        &self,
        path: &str,
        event: &HealthEvent,
        keep: usize,
    ) -> Result<(), StoreError> {
        health_events::record(self, path, event, keep).await
    }

    async fn health_events(
        &self,
        path: &str,
        limit: usize,
    ) -> Result<Vec<HealthEvent>, StoreError> {
        health_events::newest(&self.pool, path, limit).await
    }

    async fn count_by_health(&self) -> Result<Vec<(bool, HealthState, usize)>, StoreError> {
        let rows = sqlx::query(
            "SELECT enabled, health_status, COUNT(*) AS servers FROM servers \
             GROUP BY enabled, health_status",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                let enabled: i64 = row.try_get("enabled").map_err(corrupt)?;
                let status: String = row.try_get("health_status").map_err(corrupt)?;
                let count: i64 = row.try_get("servers").map_err(corrupt)?;
                let state = HealthState::parse(&status).ok_or_else(|| {
                    StoreError::Corrupt(format!("unknown health status '{status}'"))
                })?;
                Ok((enabled != 0, state, usize::try_from(count).unwrap_or(0)))
            })
            .collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
