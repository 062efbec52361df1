//! The `oauth-user` egress mode (issue 11): each user connects their own account at the
//! service a server calls (Atlassian, GitHub, Google, Microsoft, or any OAuth 2
//! authorization server), and the gateway sends that user's token with that user's
//! requests to that server only.
//!
//! Connecting is the authorization code flow with PKCE (S256), `state` bound both to the
//! browser (a cookie) and to the signed-in user, and the RFC 9207 `iss` check. Tokens are
//! kept per user per server in the database (sealed at rest by the store), refreshed in
//! the background before they expire, and revoked at the provider when the user
//! disconnects. Decrypted tokens are kept in memory for a few seconds so that a call does
//! not read the database.

pub mod endpoints;
mod flow;
pub mod providers;
mod refresh;
pub mod store;
pub mod token_endpoint;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use endpoints::Endpoints;
use providers::{Provider, ProviderConfig, ProviderConfigError};
use store::{ConnectionRecord, ConnectionStore};

/// How long a connect flow may take, from the redirect to the provider to its callback.
pub const CONNECT_FLOW_TTL_SECS: i64 = 600;
/// How long a token read from the database is used without reading it again (another
/// replica may have refreshed or removed it).
const CACHE_SECS: i64 = 30;
/// A token this close to expiring is refreshed before it is used.
const USE_MARGIN_SECS: i64 = 60;
/// Timeout of each request to a provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

/// Why connecting or using a connection failed. Each says what the user can do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No provider by that name is configured.
    #[error("no egress provider '{0}' is configured")]
    UnknownProvider(String),
    /// The callback does not belong to a connect flow this browser and user started.
    #[error(
        "this connection attempt expired or was not started by you in this browser; start again"
    )]
    BadState,
    /// The provider refused (the user declined, the grant was revoked …).
    #[error("the provider refused: {0}")]
    Refused(String),
    /// The provider could not be reached or answered nonsense.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// The database failed.
    #[error("connection store: {0}")]
    Store(String),
}

/// Where to send the browser, and the connect cookie's value (the `state`).
#[derive(Debug, Clone)]
pub struct Started {
    /// The provider's authorization URL with every parameter.
    pub location: String,
    /// The cookie value binding the flow to the browser.
    pub state: String,
}

/// What starting a connection needs to know of the server.
#[derive(Debug, Clone, Copy)]
pub struct ConnectTarget<'a> {
    /// The server's path.
    pub server: &'a str,
    /// Its upstream URL (the RFC 8707 resource).
    pub url: &'a str,
    /// The provider its egress names.
    pub provider: &'a str,
    /// Scopes the server needs beyond the provider's.
    pub scope: Option<&'a str>,
}

/// A user's connection as shown to them (never the tokens).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectionInfo {
    /// The server's path.
    pub server: String,
    /// The provider's name.
    pub provider: String,
    /// The granted scopes.
    pub scope: Option<String>,
    /// When the access token expires.
    pub expires_at: Option<i64>,
    /// Whether it can be renewed without the user.
    pub refreshable: bool,
    /// When the user connected.
    pub connected_at: i64,
    /// When tokens were last obtained.
    pub refreshed_at: i64,
}

/// What a request to a server needs from the user's connection.
#[derive(Clone)]
pub enum Access {
    /// Send this `Authorization` and these headers.
    Granted {
        /// `Bearer …`.
        authorization: String,
        /// The provider's extra headers.
        headers: Vec<(http::HeaderName, http::HeaderValue)>,
    },
    /// The user has not connected (or must connect again).
    NotConnected {
        /// The provider's display name.
        provider: String,
        /// Where the user connects.
        url: String,
    },
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Access::Granted { .. } => f.write_str("Access::Granted(<redacted>)"),
            Access::NotConnected { provider, url } => f
                .debug_struct("Access::NotConnected")
                .field("provider", provider)
                .field("url", url)
                .finish(),
        }
    }
}

/// What a background refresh round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RefreshReport {
    /// Connections given new tokens.
    pub refreshed: usize,
    /// Connections the provider no longer honours (removed: the user connects again).
    pub dropped: usize,
    /// Connections that could not be refreshed this time (tried again later).
    pub failed: usize,
}

/// One server's endpoints, found out once.
type Discovered = Arc<tokio::sync::OnceCell<Arc<Endpoints>>>;

/// A token read from the database, kept briefly.
struct Cached {
    access: Access,
    /// The server URL it is for.
    url: String,
    usable_until: Option<i64>,
    read_at: i64,
}

/// When a connection's access token stops being used (it is renewed first): a minute
/// before it expires, or a quarter of its lifetime for short-lived ones.
fn usable_until(record: &ConnectionRecord) -> Option<i64> {
    record.expires_at.map(|expires| {
        let lifetime = (expires - record.refreshed_at).max(0);
        expires - USE_MARGIN_SECS.min(lifetime / 4)
    })
}

/// The client that talks to providers: bounded in time, never following a redirect (a
/// token request is not replayed elsewhere).
fn provider_client(
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::Client, ProviderConfigError> {
    builder
        .timeout(PROVIDER_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| ProviderConfigError::Endpoint("(client)".into(), error.to_string()))
}

/// Users' connections: the flows, the tokens, their refresh and revocation.
pub struct UserConnections {
    providers: Vec<Provider>,
    http: reqwest::Client,
    store: Arc<dyn ConnectionStore>,
    base_url: String,
    refresh_buffer: i64,
    cache: Mutex<HashMap<(String, String), Cached>>,
    /// (provider, server URL) → its endpoints, for `mcp` providers (found out once per
    /// process; a configured provider's are at hand).
    discovered: Mutex<HashMap<(String, String), Discovered>>,
    /// Told after a connection ended or was refused here, so that other replicas drop the
    /// token they keep in memory for it.
    announce: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl UserConnections {
    /// Connections at `configs`' providers, in `store`; the gateway is reached at
    /// `base_url` (its public URL: the callback and connect URLs are built on it); tokens
    /// are refreshed `refresh_buffer` before they expire.
    pub fn new(
        configs: Vec<ProviderConfig>,
        store: Arc<dyn ConnectionStore>,
        base_url: &str,
        refresh_buffer: Duration,
    ) -> Result<Self, ProviderConfigError> {
        let mut providers: Vec<Provider> = Vec::with_capacity(configs.len());
        for config in configs {
            let provider = config.resolve(|name| providers.iter().any(|p| p.name == name))?;
            providers.push(provider);
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = provider_client(reqwest::Client::builder())?;
        Ok(UserConnections {
            providers,
            http,
            store,
            base_url: base_url.trim_end_matches('/').to_owned(),
            refresh_buffer: i64::try_from(refresh_buffer.as_secs()).unwrap_or(i64::MAX),
            cache: Mutex::new(HashMap::new()),
            discovered: Mutex::new(HashMap::new()),
            announce: None,
        })
    }

    /// The same connections, reaching providers and servers only where `network` allows
    /// (the SSRF guard: a server's metadata names the endpoints of `mcp` providers).
    pub fn with_network(
        mut self,
        network: Arc<mcpgw_netguard::NetworkPolicy>,
    ) -> Result<Self, ProviderConfigError> {
        self.http = provider_client(mcpgw_netguard::guarded_client(network))?;
        Ok(self)
    }

    /// The same connections, calling `hook` after a connection ended or was refused.
    pub fn with_change_hook(mut self, hook: Arc<dyn Fn() + Send + Sync>) -> Self {
        self.announce = Some(hook);
        self
    }

    fn announce(&self) {
        if let Some(announce) = &self.announce {
            announce();
        }
    }

    /// Forgets every token kept in memory (another replica ended or renewed connections):
    /// the next use reads the database.
    pub fn forget_all(&self) {
        self.locked_cache().clear();
    }

    /// The URL of the gateway's Client ID Metadata Document (its client id at
    /// authorization servers that take one, for `mcp` providers without a client id).
    pub fn client_metadata_url(&self) -> String {
        format!("{}/oauth/client-metadata.json", self.base_url)
    }

    /// The gateway's Client ID Metadata Document: a public client that signs users in
    /// with the authorization code flow and PKCE, coming back to its callback.
    pub fn client_metadata(&self) -> serde_json::Value {
        serde_json::json!({
            "client_id": self.client_metadata_url(),
            "client_name": "mcpgw",
            "client_uri": self.base_url,
            "redirect_uris": [self.redirect_uri()],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        })
    }

    /// Where connections to the server at `url` through `provider` are made and renewed
    /// (found out once per server URL for an `mcp` provider; concurrent callers wait for
    /// the one discovery rather than all waiting on one lock).
    pub(super) async fn endpoints(
        &self,
        provider: &Provider,
        url: &str,
    ) -> Result<Arc<Endpoints>, ConnectError> {
        if !provider.discovered {
            return Ok(Arc::new(Endpoints::configured(provider, url)?));
        }
        let cell = Arc::clone(
            self.discovered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry((provider.name.clone(), url.to_owned()))
                .or_default(),
        );
        let found = cell
            .get_or_try_init(|| async {
                let metadata_url = self.client_metadata_url();
                let redirect_uri = self.redirect_uri();
                let identity = endpoints::ClientIdentity {
                    metadata_url: &metadata_url,
                    redirect_uri: &redirect_uri,
                };
                endpoints::discover(&self.http, provider, url, identity, self.store.as_ref())
                    .await
                    .map(Arc::new)
            })
            .await?;
        Ok(Arc::clone(found))
    }

    /// The configured providers.
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// The provider named `name`.
    pub fn provider(&self, name: &str) -> Result<&Provider, ConnectError> {
        self.providers
            .iter()
            .find(|provider| provider.name == name)
            .ok_or_else(|| ConnectError::UnknownProvider(name.to_owned()))
    }

    /// Where a user connects their account for `server` (a page of the gateway, which
    /// asks them to sign in first: never a pre-authenticated URL).
    pub fn connect_url(&self, server: &str) -> String {
        format!("{}/oauth/connect/{server}", self.base_url)
    }

    fn redirect_uri(&self) -> String {
        format!("{}/oauth/callback", self.base_url)
    }

    /// What `owner`'s request to `server` at `url` (whose egress names `provider`)
    /// carries. A connection made for another URL (the server was repointed since) is
    /// dropped, never used: its tokens were for that upstream alone.
    pub async fn access(
        &self,
        owner: &str,
        target: ConnectTarget<'_>,
        now: i64,
    ) -> Result<Access, ConnectError> {
        let key = (owner.to_owned(), target.server.to_owned());
        if let Some(cached) = self.locked_cache().get(&key)
            && cached.url == target.url
            && now < cached.read_at + CACHE_SECS
            && cached.usable_until.is_none_or(|until| now < until)
        {
            return Ok(cached.access.clone());
        }
        let provider = self.provider(target.provider)?;
        let not_connected = Access::NotConnected {
            provider: provider.display_name.clone(),
            url: self.connect_url(target.server),
        };
        let stored = self
            .store
            .get_connection(owner, target.server)
            .await
            .map_err(ConnectError::Store)?;
        let record = match stored {
            Some(record) if record.provider == provider.name && record.server_url == target.url => {
                record
            }
            Some(stale) => {
                tracing::info!(%owner, server = %target.server, "the server's definition changed since the user connected; connection dropped");
                self.store
                    .delete_connection_if(owner, target.server, stale.refreshed_at)
                    .await
                    .map_err(ConnectError::Store)?;
                return Ok(not_connected);
            }
            None => return Ok(not_connected),
        };
        let record = if usable_until(&record).is_some_and(|until| until <= now) {
            match self.refresh_one(record, now).await? {
                Some(record) => record,
                None => return Ok(not_connected),
            }
        } else {
            record
        };
        let access = Access::Granted {
            authorization: format!("Bearer {}", record.access_token),
            headers: provider.extra_headers.clone(),
        };
        self.locked_cache().insert(
            key,
            Cached {
                access: access.clone(),
                url: record.server_url.clone(),
                usable_until: usable_until(&record),
                read_at: now,
            },
        );
        Ok(access)
    }

    /// The user's connections.
    pub async fn list(&self, owner: &str) -> Result<Vec<ConnectionInfo>, ConnectError> {
        let records = self
            .store
            .connections_of(owner)
            .await
            .map_err(ConnectError::Store)?;
        Ok(records
            .into_iter()
            .map(|record| ConnectionInfo {
                refreshable: record.refresh_token.is_some(),
                server: record.server,
                provider: record.provider,
                scope: record.scope,
                expires_at: record.expires_at,
                connected_at: record.created_at,
                refreshed_at: record.refreshed_at,
            })
            .collect())
    }

    /// Ends the user's connection to `server`: the tokens are forgotten here and revoked
    /// at the provider (when it has a revocation endpoint). `false` when there was none.
    pub async fn disconnect(&self, owner: &str, server: &str) -> Result<bool, ConnectError> {
        let removed = self
            .store
            .delete_connection(owner, server)
            .await
            .map_err(ConnectError::Store)?;
        self.forget(owner, server);
        let Some(record) = removed else {
            return Ok(false);
        };
        self.announce();
        // Revoked only where they were issued.
        let endpoints = match self.provider(&record.provider) {
            Ok(provider) => self
                .endpoints(provider, &record.server_url)
                .await
                .ok()
                .filter(|endpoints| endpoints.issuer == record.issuer || !provider.discovered),
            Err(_) => None,
        };
        if let Some(endpoints) = endpoints {
            let tokens = [
                (record.refresh_token.as_deref(), "refresh_token"),
                (Some(record.access_token.as_str()), "access_token"),
            ];
            for (token, hint) in tokens {
                if let Some(token) = token
                    && let Err(error) =
                        token_endpoint::revoke(&self.http, &endpoints, token, hint).await
                {
                    tracing::warn!(%server, provider = %record.provider, %error, "cannot revoke a disconnected user's token at the provider");
                }
            }
        }
        tracing::info!(%owner, %server, "user disconnected an account");
        Ok(true)
    }

    /// The upstream refused the user's token (401): it counts as expired, so that the
    /// next request renews it (or, if the provider no longer honours the connection,
    /// asks the user to connect again).
    pub async fn refused(&self, owner: &str, server: &str, now: i64) {
        self.forget(owner, server);
        let expired = match self.store.get_connection(owner, server).await {
            Ok(Some(record)) => ConnectionRecord {
                expires_at: Some(now.min(record.expires_at.unwrap_or(now))),
                ..record
            },
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot mark a refused connection as expired");
                return;
            }
        };
        if let Err(error) = self
            .store
            .update_tokens(&expired, expired.refreshed_at)
            .await
        {
            tracing::warn!(%error, "cannot mark a refused connection as expired");
            return;
        }
        self.announce();
    }

    /// Forgets the token kept in memory for the user's connection to `server`.
    pub fn forget(&self, owner: &str, server: &str) {
        self.locked_cache()
            .remove(&(owner.to_owned(), server.to_owned()));
    }

    fn locked_cache(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Cached>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn refused_or_unavailable(error: crate::egress::EgressError) -> ConnectError {
    match error {
        crate::egress::EgressError::Refused { .. } => ConnectError::Refused(error.to_string()),
        other => ConnectError::Unavailable(other.to_string()),
    }
}
