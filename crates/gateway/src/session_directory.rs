//! [`SessionDirectory`]: the MCP sessions every replica can find, so that a stateful
//! client's requests may land on any replica behind a load balancer.
//!
//! Each replica keeps the sessions it has seen in memory ([`crate::session_owners`]); the
//! directory (the shared database) is asked only about a session this replica has not
//! seen yet, so the request path of a known session never waits for it. What it holds per
//! session: the owner (a session id is usable by its owner alone) and, for the gateway's
//! own sessions on `/mcp`, the client's `initialize` parameters, from which another
//! replica restores the session without the client noticing. Sessions of per-server
//! routes need nothing more: their state is at the server, reached from any replica.

use std::sync::Arc;

use async_trait::async_trait;
use rmcp::transport::streamable_http_server::session::store::{
    SessionState, SessionStore, SessionStoreError,
};

/// A session as the directory knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSession {
    /// Who opened it ([`mcpgw_auth::Principal::owner`]).
    pub owner: String,
    /// For the gateway's own sessions: `{"initialize_params": …}` as the client sent them.
    pub state: Option<String>,
}

/// Sessions shared by the replicas; implemented over the gateway's database by the binary.
/// A scope is `/mcp`, `mcpgw` or a server's path: ids are unique only within one.
#[async_trait]
pub trait SessionDirectory: Send + Sync + 'static {
    /// Records that `owner` opened session `id` of `scope`.
    async fn remember(
        &self,
        scope: &str,
        id: &str,
        owner: &str,
        state: Option<&str>,
    ) -> Result<(), String>;

    /// Session `id` of `scope`, if it is known and not expired.
    async fn find(&self, scope: &str, id: &str) -> Result<Option<KnownSession>, String>;

    /// Keeps session `id` of `scope` known for longer (it is in use).
    async fn touch(&self, scope: &str, id: &str) -> Result<(), String>;

    /// Forgets session `id` of `scope` (its client ended it).
    async fn forget(&self, scope: &str, id: &str) -> Result<(), String>;
}

/// The directory as rmcp's session store for one surface of the aggregated endpoint:
/// rmcp restores an unknown session from what [`SessionStore::load`] returns. Storing is
/// done by the endpoint itself, which also records the owner, so `store` does nothing.
pub(crate) struct RestorableSessions {
    pub(crate) directory: Arc<dyn SessionDirectory>,
    pub(crate) scope: &'static str,
}

#[async_trait]
impl SessionStore for RestorableSessions {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let Some(known) = self.directory.find(self.scope, session_id).await? else {
            return Ok(None);
        };
        let Some(state) = known.state else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_str(&state)?))
    }

    async fn store(&self, _: &str, _: &SessionState) -> Result<(), SessionStoreError> {
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        Ok(self.directory.forget(self.scope, session_id).await?)
    }
}
