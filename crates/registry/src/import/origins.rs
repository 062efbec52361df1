//! Where imported servers came from, and the peer registries synchronised on an interval:
//! the records and their storage contract.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;

/// The origin of an imported server.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// The local server's path.
    pub path: String,
    /// Where it came from: a registry's base URL, or `file`.
    pub source: String,
    /// Its name there (`io.github.example/weather`).
    pub name: String,
    /// The version imported.
    pub version: String,
    /// The `server.json` as imported.
    pub document: Value,
    /// Digest of the local definition as the import left it ([`super::definition_digest`]):
    /// a server whose definition no longer has it was edited locally.
    pub applied_digest: String,
    /// When it was first imported.
    pub imported_at: DateTime<Utc>,
    /// When an import last changed it.
    pub updated_at: DateTime<Utc>,
}

/// A peer registry, re-synchronised on an interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Its local name (`[a-z0-9][a-z0-9._-]*`).
    pub name: String,
    /// Its base URL (the registry API is under `{url}/v0.1`).
    pub url: String,
    /// Only servers matching this search, if set.
    pub search: Option<String>,
    /// The bearer credential the peer wants, if any; never shown again once stored.
    #[serde(skip_serializing)]
    pub token: Option<String>,
    /// Seconds between synchronisations.
    pub interval_secs: u64,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it was last synchronised.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// The report of the last synchronisation.
    pub last_result: Option<Value>,
}

/// Durable storage of origins and sources.
#[async_trait]
pub trait OriginStore: Send + Sync + 'static {
    /// Every origin, ordered by path.
    async fn list_origins(&self) -> Result<Vec<Origin>, StoreError>;

    /// Stores `origin`, replacing the one of the same path.
    async fn put_origin(&self, origin: &Origin) -> Result<(), StoreError>;

    /// Forgets the origin of `path`; `false` if there was none.
    async fn delete_origin(&self, path: &str) -> Result<bool, StoreError>;

    /// Every source, ordered by name.
    async fn list_sources(&self) -> Result<Vec<Source>, StoreError>;

    /// Adds a source; `false` (and nothing stored) if the name is taken.
    async fn insert_source(&self, source: &Source) -> Result<bool, StoreError>;

    /// Records a synchronisation of `name`; `false` if there is no such source.
    async fn record_sync(
        &self,
        name: &str,
        at: DateTime<Utc>,
        result: &Value,
    ) -> Result<bool, StoreError>;

    /// Claims the synchronisation of `name` due since `seen` (its `last_sync_at` as read):
    /// sets `last_sync_at` to `at` only if it is still `seen`. Of several gateways sharing
    /// the database, exactly one wins each round.
    async fn claim_sync(
        &self,
        name: &str,
        seen: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Removes a source; `false` if there was none.
    async fn delete_source(&self, name: &str) -> Result<bool, StoreError>;
}
