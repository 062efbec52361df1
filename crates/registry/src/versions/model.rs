//! A published version and its storage contract.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::StoreError;

/// Where a version is in the official registry's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionStatus {
    /// Listed by default.
    Active,
    /// Still listed, with a status message saying why it should not be used.
    Deprecated,
    /// Listed only to callers who ask for deleted versions (and to incremental syncs, so
    /// that deletions propagate).
    Deleted,
}

impl VersionStatus {
    /// The API's and the database's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Active => "active",
            VersionStatus::Deprecated => "deprecated",
            VersionStatus::Deleted => "deleted",
        }
    }

    /// The status a spelling names, if any.
    pub fn parse(text: &str) -> Option<VersionStatus> {
        match text {
            "active" => Some(VersionStatus::Active),
            "deprecated" => Some(VersionStatus::Deprecated),
            "deleted" => Some(VersionStatus::Deleted),
            _ => None,
        }
    }
}

/// One published version of one server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerVersion {
    /// The server's path (its name in the registry API is `{namespace}/{path}`).
    pub path: String,
    /// The version string, unique per server.
    pub version: String,
    /// Order of publication among the server's versions, from 1: the highest is latest.
    pub seq: i64,
    /// What the server published at this version (name, description, version, tags,
    /// licence, transport, package), as JSON.
    pub metadata: Value,
    /// SHA-256 of `metadata`, to tell whether a definition change published anything new.
    pub digest: String,
    /// Its lifecycle status.
    pub status: VersionStatus,
    /// Why it has that status (a deprecation's reason), if an admin said.
    pub status_message: Option<String>,
    /// When the status last changed.
    pub status_changed_at: DateTime<Utc>,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// When the entry last changed (publication or status).
    pub updated_at: DateTime<Utc>,
}

/// Durable storage of published versions.
#[async_trait]
pub trait VersionStore: Send + Sync + 'static {
    /// Stores a new version; `false` (and nothing stored) when the server already has that
    /// version string or that `seq` (another replica published first).
    async fn publish_version(&self, version: &ServerVersion) -> Result<bool, StoreError>;

    /// Every version of every server, ordered by path, then by `seq`.
    async fn list_versions(&self) -> Result<Vec<ServerVersion>, StoreError>;

    /// The versions of one server, ordered by `seq`.
    async fn versions_of(&self, path: &str) -> Result<Vec<ServerVersion>, StoreError>;

    /// Sets the status of one version of `path` (`version`), or of all of them (`None`),
    /// with `message`, at `at`; returns how many versions changed.
    async fn set_version_status(
        &self,
        path: &str,
        version: Option<&str>,
        status: VersionStatus,
        message: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}
