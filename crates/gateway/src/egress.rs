//! Egress tokens for upstreams (issue 11): the `oauth-client` mode's implementation of
//! [`UpstreamAuth`], and how the data plane puts its `Authorization` on a request.
//!
//! On first use for a server (and again after its definition changed), the gateway finds
//! out how the upstream wants to be authorised — its RFC 9728 metadata at the well-known
//! URL, or the `resource_metadata` of its 401 challenge — and its authorization server's
//! token endpoint (RFC 8414, or OpenID discovery). Tokens for that resource are then
//! requested with the server's client credentials and kept until a minute before they
//! expire; a 401 from the upstream drops the kept token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use http::HeaderValue;
use http::header::AUTHORIZATION;
use mcpgw_auth::egress::client_credentials::{ClientCredentials, TokenCache};
use mcpgw_auth::egress::discovery;
use mcpgw_registry::{Egress, EgressTarget, UpstreamAuth};
use tokio::sync::OnceCell;

use crate::error::GatewayError;
use crate::table::Target;

/// One server's token source, found out once per definition.
type Source = Arc<OnceCell<Arc<TokenCache>>>;

/// `oauth-client` egress: discovery, then client-credentials tokens, per server.
pub struct OAuthClients {
    http: reqwest::Client,
    /// (path, revision) → its token source.
    sources: Mutex<HashMap<(String, i64), Source>>,
}

impl OAuthClients {
    /// Egress tokens over `http` (which must not follow redirects: a token request is not
    /// replayed elsewhere).
    pub fn new(http: reqwest::Client) -> Self {
        OAuthClients {
            http,
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// `target`'s token source. A new definition's source replaces the older ones of the
    /// server (only then is the map walked: not on every request).
    fn source(&self, target: &EgressTarget<'_>) -> Source {
        let mut sources = self
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (target.path.to_owned(), target.revision);
        if let Some(source) = sources.get(&key) {
            return Arc::clone(source);
        }
        sources.retain(|(path, _), _| path != target.path);
        Arc::clone(sources.entry(key).or_default())
    }

    /// Finds out the upstream's authorization server and token endpoint.
    async fn discover(
        &self,
        target: &EgressTarget<'_>,
        credentials: ClientCredentials,
    ) -> Result<Arc<TokenCache>, String> {
        let resource = match discovery::protected_resource(&self.http, target.url, None).await {
            Ok(resource) => resource,
            Err(well_known) => {
                // The MCP authorization spec's first way: the 401's challenge.
                let hint = self.challenge(target.url).await.ok_or_else(|| {
                    format!("the upstream publishes no protected resource metadata ({well_known})")
                })?;
                discovery::protected_resource(&self.http, target.url, Some(&hint))
                    .await
                    .map_err(|error| error.to_string())?
            }
        };
        let issuer = resource
            .authorization_servers
            .first()
            .ok_or("the upstream names no authorization server")?;
        let server = discovery::authorization_server(&self.http, issuer)
            .await
            .map_err(|error| error.to_string())?;
        Ok(Arc::new(TokenCache::new(
            server.token_endpoint,
            resource.resource,
            credentials,
        )))
    }

    /// The `resource_metadata` of the upstream's challenge to an unauthenticated request.
    async fn challenge(&self, url: &str) -> Option<String> {
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#)
            .send()
            .await
            .ok()?;
        let challenge = response.headers().get("www-authenticate")?.to_str().ok()?;
        discovery::resource_metadata_hint(challenge)
    }
}

#[async_trait]
impl UpstreamAuth for OAuthClients {
    async fn authorization(&self, target: EgressTarget<'_>) -> Result<String, String> {
        let Egress::OauthClient {
            client_id,
            client_secret,
            scope,
        } = target.egress
        else {
            return Err("the server has no egress mode".into());
        };
        let credentials = ClientCredentials {
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            scope: scope.clone(),
        };
        let source = self.source(&target);
        let cache = source
            .get_or_try_init(|| self.discover(&target, credentials))
            .await?;
        let token = cache
            .token(&self.http)
            .await
            .map_err(|error| error.to_string())?;
        Ok(format!("Bearer {token}"))
    }

    async fn refused(&self, target: EgressTarget<'_>) {
        if let Some(cache) = self.source(&target).get() {
            cache.forget().await;
        }
    }

    async fn step_up(&self, target: EgressTarget<'_>, scope: &str) -> bool {
        match self.source(&target).get() {
            Some(cache) => cache.step_up(scope).await,
            None => false,
        }
    }
}

/// The scopes an `insufficient_scope` challenge (RFC 6750 §3.1, the MCP spec's step-up)
/// asks for, if `headers` carry one.
pub(crate) fn insufficient_scope(headers: &http::HeaderMap) -> Option<String> {
    let challenge = headers.get(http::header::WWW_AUTHENTICATE)?.to_str().ok()?;
    (discovery::challenge_parameter(challenge, "error").as_deref() == Some("insufficient_scope"))
        .then(|| discovery::challenge_parameter(challenge, "scope"))
        .flatten()
}

/// The egress target of a routing entry.
pub(crate) fn target_of(target: &Target) -> EgressTarget<'_> {
    EgressTarget {
        path: &target.path,
        revision: target.revision,
        url: &target.url,
        egress: &target.egress,
    }
}

/// The `Authorization` a request to `target`'s upstream carries under its egress mode
/// (`None`: the mode adds none). A token that cannot be had fails the request, naming why.
pub(crate) async fn authorization(
    auth: Option<&mcpgw_registry::SharedUpstreamAuth>,
    target: &Target,
) -> Result<Option<HeaderValue>, GatewayError> {
    if !matches!(target.egress, Egress::OauthClient { .. }) {
        return Ok(None);
    }
    let failed = |reason: String| GatewayError::Upstream {
        server: target.path.clone(),
        reason: format!("cannot obtain a token for it: {reason}"),
    };
    let auth = auth.ok_or_else(|| failed("this gateway obtains no egress tokens".into()))?;
    let value = auth
        .authorization(target_of(target))
        .await
        .map_err(failed)?;
    HeaderValue::from_str(&value)
        .map(Some)
        .map_err(|_| failed("the token is not a valid header value".into()))
}

/// Puts `value` (from [`authorization`]) on `headers`, replacing any other.
pub(crate) fn apply(headers: &mut http::HeaderMap, value: Option<HeaderValue>) {
    if let Some(value) = value {
        headers.insert(AUTHORIZATION, value);
    }
}
