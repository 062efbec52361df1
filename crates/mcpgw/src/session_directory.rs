//! The MCP sessions every replica can find (`mcpgw_gateway::session_directory`), kept in
//! the gateway's database: on PostgreSQL shared by the replicas, on SQLite surviving a
//! restart.

use async_trait::async_trait;
use mcpgw_gateway::session_directory::{KnownSession, SessionDirectory};
use mcpgw_store::SqlStore;

/// How long a session is remembered after it was opened or last seen in use: a client
/// that comes back later starts a new session (the 404 the MCP spec prescribes).
pub const SESSION_TTL_SECS: i64 = 24 * 3600;

/// Sessions in the database.
pub struct DatabaseSessions(pub SqlStore);

#[async_trait]
impl SessionDirectory for DatabaseSessions {
    async fn remember(
        &self,
        scope: &str,
        id: &str,
        owner: &str,
        state: Option<&str>,
    ) -> Result<(), String> {
        let now = mcpgw_auth::now();
        self.0
            .remember_mcp_session(scope, id, owner, state, now, now + SESSION_TTL_SECS)
            .await
            .map_err(|error| error.to_string())
    }

    async fn find(&self, scope: &str, id: &str) -> Result<Option<KnownSession>, String> {
        let found = self
            .0
            .mcp_session(scope, id, mcpgw_auth::now())
            .await
            .map_err(|error| error.to_string())?;
        Ok(found.map(|session| KnownSession {
            owner: session.owner,
            state: session.state,
        }))
    }

    async fn touch(&self, scope: &str, id: &str) -> Result<(), String> {
        self.0
            .touch_mcp_session(scope, id, mcpgw_auth::now() + SESSION_TTL_SECS)
            .await
            .map_err(|error| error.to_string())
    }

    async fn forget(&self, scope: &str, id: &str) -> Result<(), String> {
        self.0
            .forget_mcp_session(scope, id)
            .await
            .map_err(|error| error.to_string())
    }
}
