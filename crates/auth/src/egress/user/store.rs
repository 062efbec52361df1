//! Where users' connections and connect flows in progress live (the gateway's database,
//! so that every replica sees them). Tokens are sealed at rest by the implementation.

use async_trait::async_trait;

/// One user's connection to one server's provider.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionRecord {
    /// [`crate::Principal::owner`] of the user.
    pub owner: String,
    /// The server's path.
    pub server: String,
    /// The provider's name.
    pub provider: String,
    /// The server's URL when the user connected: the tokens are for it alone.
    pub server_url: String,
    /// The authorization server that issued the tokens, when known.
    pub issuer: Option<String>,
    /// The RFC 8707 resource the tokens are for, when one was sent.
    pub resource: Option<String>,
    /// The access token.
    pub access_token: String,
    /// The refresh token, if the provider issued one.
    pub refresh_token: Option<String>,
    /// When the access token expires (seconds since the epoch), if the provider said.
    pub expires_at: Option<i64>,
    /// The scopes granted, as the provider said.
    pub scope: Option<String>,
    /// When the user connected.
    pub created_at: i64,
    /// When the tokens were last obtained (connect or refresh).
    pub refreshed_at: i64,
}

/// A connect flow between the redirect to the provider and its callback.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectFlow {
    /// SHA-256 (hex) of `state` (also the connect cookie's value).
    pub state_hash: String,
    /// Who is connecting.
    pub owner: String,
    /// For which server.
    pub server: String,
    /// At which provider.
    pub provider: String,
    /// The server's URL when the flow started.
    pub server_url: String,
    /// The authorization server the user was sent to, when known.
    pub issuer: Option<String>,
    /// The PKCE code verifier.
    pub verifier: String,
    /// The redirect URI sent, sent again with the code.
    pub redirect_uri: String,
    /// The `resource` sent, if any (sent again with the code).
    pub resource: Option<String>,
    /// Where the browser goes afterwards (a local path).
    pub next: String,
    /// When the flow expires.
    pub expires_at: i64,
}

/// The gateway's registration at an authorization server (RFC 7591), kept so that the
/// same client (and the refresh tokens issued to it) lives on across restarts.
#[derive(Clone, PartialEq, Eq)]
pub struct Registration {
    /// The provider's name.
    pub provider: String,
    /// The authorization server's issuer.
    pub issuer: String,
    /// The redirect URI registered (the gateway's callback).
    pub redirect_uri: String,
    /// The client id it issued.
    pub client_id: String,
    /// The client secret, if it issued one.
    pub client_secret: Option<String>,
    /// How to authenticate at its token endpoint, as it said.
    pub auth_method: Option<String>,
}

/// Storage of connections and connect flows.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Stores a connect flow.
    async fn insert_connect_flow(&self, flow: &ConnectFlow) -> Result<(), String>;
    /// Removes and returns a connect flow (each can be finished once).
    async fn take_connect_flow(&self, state_hash: &str) -> Result<Option<ConnectFlow>, String>;
    /// Stores a connection, replacing the user's earlier one to the same server.
    async fn put_connection(&self, record: &ConnectionRecord) -> Result<(), String>;
    /// The user's connection to `server`.
    async fn get_connection(
        &self,
        owner: &str,
        server: &str,
    ) -> Result<Option<ConnectionRecord>, String>;
    /// Every connection of the user.
    async fn connections_of(&self, owner: &str) -> Result<Vec<ConnectionRecord>, String>;
    /// Removes the user's connection to `server`; returns it if there was one.
    async fn delete_connection(
        &self,
        owner: &str,
        server: &str,
    ) -> Result<Option<ConnectionRecord>, String>;
    /// Connections with a refresh token that are due at `now`: their access token expires
    /// within `buffer` seconds or within half its lifetime, whichever is sooner, and no
    /// replica holds (or, after a failure, keeps) the right to refresh them; at most
    /// `limit`, soonest first.
    async fn connections_due(
        &self,
        now: i64,
        buffer: i64,
        limit: i64,
    ) -> Result<Vec<ConnectionRecord>, String>;
    /// Claims the right to refresh the connection until `until`, if it is still the one
    /// last obtained at `seen` (its `refreshed_at`) and no replica holds the right: one
    /// replica at a time, so that a rotating refresh token is used once. `false` otherwise.
    async fn claim_refresh(
        &self,
        owner: &str,
        server: &str,
        seen: i64,
        now: i64,
        until: i64,
    ) -> Result<bool, String>;
    /// Stores refreshed tokens, if the connection is still the one last obtained at
    /// `seen` (not disconnected, reconnected or refreshed elsewhere meanwhile); releases
    /// the claim. `false` when it was not.
    async fn update_tokens(&self, record: &ConnectionRecord, seen: i64) -> Result<bool, String>;
    /// Removes the connection if it is still the one last obtained at `seen`.
    async fn delete_connection_if(
        &self,
        owner: &str,
        server: &str,
        seen: i64,
    ) -> Result<bool, String>;
    /// The registration of `provider` at `issuer` for `redirect_uri`, if made.
    async fn get_registration(
        &self,
        provider: &str,
        issuer: &str,
        redirect_uri: &str,
    ) -> Result<Option<Registration>, String>;
    /// Keeps a registration (the first one stored wins; it is returned).
    async fn put_registration(&self, registration: &Registration) -> Result<Registration, String>;
    /// Deletes connect flows that expired before `now`; returns how many.
    async fn prune_connect_flows(&self, now: i64) -> Result<u64, String>;
}

/// Tokens are never shown in debug output.
macro_rules! redacted_debug {
    ($type:ty, $name:literal, [$($field:ident),*]) => {
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct($name)
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

redacted_debug!(
    ConnectionRecord,
    "ConnectionRecord",
    [owner, server, provider, issuer, expires_at, refreshed_at]
);
redacted_debug!(
    ConnectFlow,
    "ConnectFlow",
    [owner, server, provider, issuer, expires_at]
);
redacted_debug!(
    Registration,
    "Registration",
    [provider, issuer, client_id, auth_method]
);
