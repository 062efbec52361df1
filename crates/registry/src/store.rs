//! The persistence contract the registry needs; implemented by `mcpgw-store`.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::model::{Health, HealthEvent, HealthState, Server, Tool};

/// Durable storage of servers. Implementations must make each call atomic and durable
/// before returning `Ok`: an acknowledged write survives a crash.
///
/// Definition writes ([`Store::insert_server`], [`Store::update_definition`]) and check
/// results ([`Store::record_check`]) touch disjoint columns, so a health check finishing
/// during an edit cannot undo the edit.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`, for `/health` and logs.
    fn kind(&self) -> &'static str;

    /// Inserts a new server; returns `false` (and changes nothing) if the path exists.
    async fn insert_server(&self, server: &Server) -> Result<bool, StoreError>;

    /// Replaces a server's definition (everything the caller may set, plus `updated_at`)
    /// if its stored revision is still `server.revision`, and bumps the revision. Returns
    /// `false` if there is no such server or it changed meanwhile.
    async fn update_definition(&self, server: &Server) -> Result<bool, StoreError>;

    /// Stores the outcome of a check of the definition at `revision`; `tools` replaces the
    /// tool list when `Some`. Returns `false` (and stores nothing) if the server no longer
    /// exists or its definition changed since: that check probed a stale endpoint.
    async fn record_check(
        &self,
        path: &str,
        revision: i64,
        health: &Health,
        server_info: Option<&serde_json::Value>,
        tools: Option<&[Tool]>,
    ) -> Result<bool, StoreError>;

    /// One server by path.
    async fn get_server(&self, path: &str) -> Result<Option<Server>, StoreError>;

    /// Every server, ordered by path.
    async fn list_servers(&self) -> Result<Vec<Server>, StoreError>;

    /// Deletes a server; returns `false` if there was none.
    async fn delete_server(&self, path: &str) -> Result<bool, StoreError>;

    /// Number of servers per (enabled, health state), for `/health`.
    async fn count_by_health(&self) -> Result<Vec<(bool, HealthState, usize)>, StoreError>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Appends a change of `path`'s health, keeping its newest `keep` changes; nothing if
    /// `path` is not registered or its newest change already has this status.
    async fn record_health_event(
        &self,
        path: &str,
        event: &HealthEvent,
        keep: usize,
    ) -> Result<(), StoreError>;

    /// `path`'s newest `limit` health changes, newest first.
    async fn health_events(&self, path: &str, limit: usize)
    -> Result<Vec<HealthEvent>, StoreError>;
}

/// Embeddings of searchable texts (a tool's or a server's), kept by model and by a hash of
/// the text, so that a restart, or a server registered again unchanged, embeds nothing.
#[async_trait]
pub trait EmbeddingStore: Send + Sync + 'static {
    /// Every stored embedding of `model`, as (text hash, vector).
    async fn load_embeddings(&self, model: &str) -> Result<Vec<(String, Vec<f32>)>, StoreError>;

    /// Stores embeddings of `model`, atomically; a (model, hash) already stored is kept.
    async fn save_embeddings(
        &self,
        model: &str,
        entries: &[(String, Vec<f32>)],
    ) -> Result<(), StoreError>;

    /// Deletes the embeddings of `model` with these hashes (texts no longer indexed), and
    /// no other: what another gateway sharing the database just stored stays; returns how
    /// many were deleted.
    async fn forget_embeddings(&self, model: &str, hashes: &[String]) -> Result<u64, StoreError>;
}
