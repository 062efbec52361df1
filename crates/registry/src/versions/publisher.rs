//! [`Publisher`]: keeps the published versions in step with the servers' definitions.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::model::{ServerVersion, VersionStatus, VersionStore};
use super::publish::{digest, next_version, published_metadata};
use crate::error::StoreError;
use crate::model::{Server, now};
use crate::store::Store;

/// How often a publication is retried when another replica published first.
const PUBLISH_ATTEMPTS: usize = 5;

/// The status message of the versions of a server that was removed.
pub const REMOVED_MESSAGE: &str = "removed from the registry";

/// Publishes a version when a server's published metadata changes, and withdraws a
/// removed server's versions. Several gateways sharing a database may do this at once:
/// the store refuses a second publication of a version or `seq`, and the loser re-reads.
#[derive(Clone)]
pub struct Publisher {
    versions: Arc<dyn VersionStore>,
}

impl Publisher {
    /// A publisher over `versions`.
    pub fn new(versions: Arc<dyn VersionStore>) -> Self {
        Publisher { versions }
    }

    /// Publishes `server`'s metadata as a new version unless its latest version already
    /// says the same. A server registered again after its removal is published again even
    /// so; a version an admin deleted while the server stayed registered stays deleted
    /// until the server publishes something new. Returns the new version, if any.
    pub async fn publish(&self, server: &Server) -> Result<Option<ServerVersion>, StoreError> {
        let metadata = published_metadata(server);
        let digest = digest(&metadata);
        for _ in 0..PUBLISH_ATTEMPTS {
            let existing = self.versions.versions_of(&server.path).await?;
            if let Some(latest) = existing.iter().max_by_key(|version| version.seq)
                && latest.digest == digest
                && !registered_again(server, latest)
            {
                return Ok(None);
            }
            let (version, seq) = next_version(&existing, server.version.as_deref());
            let at = now();
            let candidate = ServerVersion {
                path: server.path.clone(),
                version,
                seq,
                metadata: metadata.clone(),
                digest: digest.clone(),
                status: VersionStatus::Active,
                status_message: None,
                status_changed_at: at,
                published_at: at,
                updated_at: at,
            };
            if self.versions.publish_version(&candidate).await? {
                tracing::info!(path = %server.path, version = %candidate.version, "version published");
                return Ok(Some(candidate));
            }
        }
        Err(StoreError::Unavailable(format!(
            "could not publish a version of {}: others kept publishing first",
            server.path
        )))
    }

    /// Marks every version of a removed server deleted.
    pub async fn withdraw(&self, path: &str) -> Result<u64, StoreError> {
        self.versions
            .set_version_status(
                path,
                None,
                VersionStatus::Deleted,
                Some(REMOVED_MESSAGE),
                now(),
            )
            .await
    }

    /// Brings the versions in step with the servers of `store` (at start): publishes what
    /// was never published (servers registered before versions existed, or whose
    /// publication failed) and withdraws the versions of servers that are gone. Returns
    /// how many versions were published and withdrawn.
    pub async fn sync(&self, store: &dyn Store) -> Result<(usize, u64), StoreError> {
        let servers = store.list_servers().await?;
        let mut published = 0;
        for server in &servers {
            if self.publish(server).await?.is_some() {
                published += 1;
            }
        }
        let present: BTreeSet<&str> = servers.iter().map(|server| server.path.as_str()).collect();
        let mut orphaned = BTreeSet::new();
        for version in self.versions.list_versions().await? {
            if version.status != VersionStatus::Deleted && !present.contains(version.path.as_str())
            {
                orphaned.insert(version.path);
            }
        }
        let mut withdrawn = 0;
        for path in orphaned {
            // Another gateway sharing the database may have registered it since `servers`
            // was read: only a server that is still absent is withdrawn.
            if store.get_server(&path).await?.is_none() {
                withdrawn += self.withdraw(&path).await?;
            }
        }
        Ok((published, withdrawn))
    }

    /// Every version of every server, ordered by path, then `seq`.
    pub async fn all(&self) -> Result<Vec<ServerVersion>, StoreError> {
        self.versions.list_versions().await
    }

    /// The versions of `path`, ordered by `seq`.
    pub async fn of(&self, path: &str) -> Result<Vec<ServerVersion>, StoreError> {
        self.versions.versions_of(path).await
    }

    /// Sets the status of one version of `path` or (`version` = `None`) of all of them;
    /// returns how many changed.
    pub async fn set_status(
        &self,
        path: &str,
        version: Option<&str>,
        status: VersionStatus,
        message: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.versions
            .set_version_status(path, version, status, message, at)
            .await
    }
}

/// True when `server` was registered (again) after `latest` was deleted: its removal
/// deleted the versions, and registering it again publishes it again.
fn registered_again(server: &Server, latest: &ServerVersion) -> bool {
    latest.status == VersionStatus::Deleted && server.created_at > latest.status_changed_at
}
