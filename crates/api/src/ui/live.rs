//! Following the servers' live health for open pages (`/ui/events`) and the Python
//! registry's WebSocket (`/ws/health_status`).
//!
//! However many pages are open, the registry is read at most once per
//! [`SNAPSHOT_MAX_AGE`] (and once per change): every follower shares one snapshot
//! ([`LiveServers`]) and filters it for its own caller under the policy in force. A
//! follower ends as soon as its credential does: the browser session is signed out or
//! expires, or the bearer token expires or is revoked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use mcpgw_auth::Principal;
use mcpgw_registry::{RegistryError, RegistryService, Server};
use tokio::sync::Mutex;

use crate::AppState;
use crate::access::Access;
use crate::ui::rows::LiveHealth;

/// How often a follower re-reads when nothing announced a change (check times move on
/// without a change being announced).
const POLL: Duration = Duration::from_secs(5);
/// How old a shared snapshot may be before a follower reads the registry again.
const SNAPSHOT_MAX_AGE: Duration = Duration::from_secs(2);

/// The registry's servers as last read, shared by every follower.
#[derive(Clone, Default)]
pub struct LiveServers {
    cached: Arc<Mutex<Option<Snapshot>>>,
}

struct Snapshot {
    read_at: Instant,
    generation: u64,
    servers: Arc<Vec<Server>>,
}

impl LiveServers {
    /// The servers, read again only if the shared snapshot is older than
    /// [`SNAPSHOT_MAX_AGE`] or the registry changed since. Followers asking at once wait
    /// for one read.
    pub async fn servers(
        &self,
        registry: &RegistryService,
    ) -> Result<Arc<Vec<Server>>, RegistryError> {
        let generation = registry.generation();
        let mut cached = self.cached.lock().await;
        if let Some(snapshot) = cached.as_ref()
            && snapshot.generation == generation
            && snapshot.read_at.elapsed() < SNAPSHOT_MAX_AGE
        {
            return Ok(Arc::clone(&snapshot.servers));
        }
        let servers = Arc::new(registry.list().await?);
        *cached = Some(Snapshot {
            read_at: Instant::now(),
            generation,
            servers: Arc::clone(&servers),
        });
        Ok(servers)
    }
}

/// What keeps a follower going.
pub enum Credential {
    /// A browser's session cookie value.
    Session(String),
    /// The request's bearer credential headers, authenticated again before each update.
    Bearer(HeaderMap),
}

impl Credential {
    /// The credential of a request: its session cookie if it authenticated with one,
    /// else its `Authorization` (or `X-Authorization`) header.
    pub fn of(headers: &HeaderMap, session_cookie: Option<&str>) -> Credential {
        match session_cookie {
            Some(value) => Credential::Session(value.to_owned()),
            None => {
                let mut kept = HeaderMap::new();
                for name in ["authorization", "x-authorization"] {
                    if let Some(value) = headers.get(name) {
                        kept.insert(name, value.clone());
                    }
                }
                Credential::Bearer(kept)
            }
        }
    }
}

/// Follows the live health of the servers one caller may see: the first call returns
/// them at once, each later one when they changed.
pub struct Follow {
    state: AppState,
    principal: Principal,
    credential: Credential,
    changes: tokio::sync::watch::Receiver<u64>,
    last: Option<Vec<LiveHealth>>,
    first: bool,
}

impl Follow {
    /// Follows what `principal` may see, for as long as `credential` holds.
    pub fn new(state: AppState, principal: Principal, credential: Credential) -> Follow {
        Follow {
            changes: state.registry.subscribe(),
            state,
            principal,
            credential,
            last: None,
            first: true,
        }
    }

    /// The servers' live health, now the first time, then when it changed; `None` when
    /// following must end (the credential ended, the gateway is stopping).
    pub async fn next(&mut self) -> Option<Vec<LiveHealth>> {
        loop {
            if !self.first {
                // A closed channel (shutdown) ends the stream; a timeout re-reads.
                if let Ok(Err(_)) = tokio::time::timeout(POLL, self.changes.changed()).await {
                    return None;
                }
                if !self.credential_holds().await {
                    return None;
                }
            }
            self.first = false;
            let Some(current) = self.snapshot().await else {
                continue;
            };
            if self.last.as_ref() != Some(&current) {
                self.last = Some(current.clone());
                return Some(current);
            }
        }
    }

    /// Whether the credential the follower was opened with still authenticates.
    async fn credential_holds(&self) -> bool {
        match &self.credential {
            Credential::Session(value) => matches!(
                self.state.sessions.find(value, mcpgw_auth::now()).await,
                Ok(Some(_))
            ),
            Credential::Bearer(headers) => self.state.auth.authenticate(headers).await.is_ok(),
        }
    }

    /// The live fields of every server the caller may see now (the policy may have been
    /// reloaded since the page opened); `None` if the registry cannot be read.
    async fn snapshot(&self) -> Option<Vec<LiveHealth>> {
        let servers = match self.state.live.servers(&self.state.registry).await {
            Ok(servers) => servers,
            Err(error) => {
                tracing::warn!(%error, "live health: cannot read the registry");
                return None;
            }
        };
        let access = Access::of(&self.state, &self.principal);
        Some(
            servers
                .iter()
                .filter(|server| access.can_list(server))
                .map(|server| LiveHealth::seen_by(server, &access))
                .collect(),
        )
    }
}
