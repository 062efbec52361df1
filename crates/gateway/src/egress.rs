//! Egress tokens for upstreams (issue 11): the `oauth-client` mode's implementation of
//! [`UpstreamAuth`], and how the data plane puts its `Authorization` on a request.
//!
//! On first use for a server (and again after its definition changed), the gateway finds
//! out how the upstream wants to be authorised — its RFC 9728 metadata at the well-known
//! URL, or the `resource_metadata` of its 401 challenge — and its authorization server's
//! token endpoint (RFC 8414, or OpenID discovery). Tokens for that resource are then
//! requested with the server's client credentials and kept until a minute before they
//! expire; a 401 from the upstream drops the kept token.
//!
//! The `oauth-user` mode sends the calling user's own token
//! ([`mcpgw_auth::egress::user::UserConnections`]), or answers with where to connect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use http::HeaderValue;
use http::header::AUTHORIZATION;
use mcpgw_auth::egress::client_credentials::{ClientCredentials, TokenCache};
use mcpgw_auth::egress::discovery;
use mcpgw_auth::egress::token_exchange::{Exchange, Exchanges};
use mcpgw_auth::egress::user::endpoints::canonical_resource;
use mcpgw_auth::egress::user::{Access, UserConnections};
use mcpgw_auth::{AuthMethod, Principal};
use mcpgw_registry::{Egress, EgressCaller, EgressFailure, EgressTarget, Granted, UpstreamAuth};
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
    /// Users' own connections (`oauth-user`), when providers are configured.
    users: Option<Arc<UserConnections>>,
    /// Tokens exchanged on callers' behalf (`token-exchange`).
    exchanges: Exchanges,
}

impl OAuthClients {
    /// Egress tokens over `http` (which must not follow redirects: a token request is not
    /// replayed elsewhere).
    pub fn new(http: reqwest::Client) -> Self {
        OAuthClients {
            http,
            sources: Mutex::new(HashMap::new()),
            users: None,
            exchanges: Exchanges::default(),
        }
    }

    /// Also sends users' own tokens from `users` (the `oauth-user` mode).
    pub fn with_users(mut self, users: Arc<UserConnections>) -> Self {
        self.users = Some(users);
        self
    }

    /// A token exchanged for the caller's own (`token-exchange`).
    async fn exchanged(
        &self,
        target: &EgressTarget<'_>,
        configured: &str,
        credentials: &ClientCredentials,
        audience: Option<&str>,
    ) -> Result<Granted, EgressFailure> {
        let (issuer, token) = match target.caller {
            // The client secret is for the configured identity provider only.
            Some(EgressCaller {
                issuer: Some(issuer),
                token: Some(token),
                ..
            }) if issuer.trim_end_matches('/') == configured.trim_end_matches('/') => {
                (configured, token)
            }
            Some(EgressCaller {
                issuer: Some(other),
                ..
            }) => {
                return Err(EgressFailure::Forbidden(format!(
                    "server '{}' exchanges tokens from {configured} only, not from {other}",
                    target.path
                )));
            }
            _ => {
                return Err(EgressFailure::Forbidden(format!(
                    "server '{}' exchanges your identity provider's token for its own \
                     (RFC 8693): call it with a JWT from a trusted issuer, not a gateway token",
                    target.path
                )));
            }
        };
        let exchange = Exchange {
            issuer,
            subject_token: token,
            resource: &canonical_resource(target.url),
            audience,
            server: (target.path, target.revision),
        };
        let token = self
            .exchanges
            .token(&self.http, credentials, exchange)
            .await
            .map_err(|error| EgressFailure::Failed(format!("token exchange: {error}")))?;
        Ok(Granted {
            authorization: format!("Bearer {token}"),
            headers: Vec::new(),
        })
    }

    /// The calling user's token for an `oauth-user` server.
    async fn user_token(
        &self,
        target: &EgressTarget<'_>,
        provider: &str,
    ) -> Result<Granted, EgressFailure> {
        let users = self.users.as_ref().ok_or_else(|| {
            EgressFailure::Failed("this gateway has no egress providers configured".into())
        })?;
        let owner = target.caller.map(|caller| caller.owner).ok_or_else(|| {
            EgressFailure::Failed("the server acts with each user's own account".into())
        })?;
        let now = chrono::Utc::now().timestamp();
        let connection = mcpgw_auth::egress::user::ConnectTarget {
            server: target.path,
            url: target.url,
            provider,
            scope: None,
        };
        match users.access(owner, connection, now).await {
            Ok(Access::Granted {
                authorization,
                headers,
            }) => Ok(Granted {
                authorization,
                headers: headers
                    .into_iter()
                    .filter_map(|(name, value)| {
                        Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                    })
                    .collect(),
            }),
            Ok(Access::NotConnected { provider, url }) => {
                Err(EgressFailure::Connect { provider, url })
            }
            Err(error) => Err(EgressFailure::Failed(error.to_string())),
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
        // The MCP authorization spec's order: the 401's challenge first, then the
        // well-known URLs.
        let hint = discovery::challenge(&self.http, target.url)
            .await
            .and_then(|challenge| challenge.resource_metadata);
        let resource = discovery::protected_resource(&self.http, target.url, hint.as_deref())
            .await
            .map_err(|error| format!("the upstream's protected resource metadata: {error}"))?;
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
}

#[async_trait]
impl UpstreamAuth for OAuthClients {
    async fn authorization(&self, target: EgressTarget<'_>) -> Result<Granted, EgressFailure> {
        let (client_id, client_secret, scope) = match target.egress {
            Egress::OauthClient {
                client_id,
                client_secret,
                scope,
            } => (client_id, client_secret, scope),
            Egress::OauthUser { provider, .. } => return self.user_token(&target, provider).await,
            Egress::TokenExchange {
                issuer,
                client_id,
                client_secret,
                scope,
                audience,
            } => {
                let credentials = ClientCredentials {
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    scope: scope.clone(),
                };
                return self
                    .exchanged(&target, issuer, &credentials, audience.as_deref())
                    .await;
            }
            Egress::None | Egress::Passthrough => {
                return Err(EgressFailure::Failed(
                    "the server has no egress mode".into(),
                ));
            }
        };
        let credentials = ClientCredentials {
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            scope: scope.clone(),
        };
        let source = self.source(&target);
        let cache = source
            .get_or_try_init(|| self.discover(&target, credentials))
            .await
            .map_err(EgressFailure::Failed)?;
        let token = cache
            .token(&self.http)
            .await
            .map_err(|error| EgressFailure::Failed(error.to_string()))?;
        Ok(Granted {
            authorization: format!("Bearer {token}"),
            headers: Vec::new(),
        })
    }

    async fn refused(&self, target: EgressTarget<'_>) {
        match (target.egress, &self.users, target.caller) {
            (Egress::OauthUser { .. }, Some(users), Some(caller)) => {
                users
                    .refused(caller.owner, target.path, chrono::Utc::now().timestamp())
                    .await;
                return;
            }
            (Egress::TokenExchange { .. }, _, _) => {
                self.exchanges.forget(target.path);
                return;
            }
            _ => {}
        }
        if let Some(cache) = self.source(&target).get() {
            cache.forget().await;
        }
    }

    async fn step_up(&self, target: EgressTarget<'_>, scope: &str) -> bool {
        if !matches!(target.egress, Egress::OauthClient { .. }) {
            return false;
        }
        match self.source(&target).get() {
            Some(cache) => cache.step_up(scope).await,
            None => false,
        }
    }
}

/// The scopes to step up to when a request to an `oauth-client` upstream was answered
/// `response`: a 403 with an `insufficient_scope` challenge (the MCP spec's step-up).
pub(crate) fn step_up_scope(
    target: &Target,
    response: &http::Response<axum::body::Body>,
) -> Option<String> {
    if !matches!(target.egress, Egress::OauthClient { .. })
        || response.status() != http::StatusCode::FORBIDDEN
    {
        return None;
    }
    insufficient_scope(response.headers())
}

/// Whether the token source of `target` now asks for `scope` (once: not when it asked
/// already, so that a request is sent again at most once).
pub(crate) async fn stepped_up(
    auth: Option<&mcpgw_registry::SharedUpstreamAuth>,
    target: &Target,
    scope: &str,
) -> bool {
    let Some(auth) = auth else {
        return false;
    };
    let stepped = auth.step_up(target_of(target, None), scope).await;
    if stepped {
        tracing::info!(server = %target.path, %scope, "step-up: asking for a token with more scopes");
    }
    stepped
}

/// The scopes an `insufficient_scope` challenge (RFC 6750 §3.1, the MCP spec's step-up)
/// asks for, if `headers` carry one.
fn insufficient_scope(headers: &http::HeaderMap) -> Option<String> {
    let challenge = headers.get(http::header::WWW_AUTHENTICATE)?.to_str().ok()?;
    (discovery::challenge_parameter(challenge, "error").as_deref() == Some("insufficient_scope"))
        .then(|| discovery::challenge_parameter(challenge, "scope"))
        .flatten()
}

/// What the egress modes acting on a caller's behalf need to know of it: who it is (its
/// [`Principal::owner`] key), and the identity-provider token it brought (for
/// `token-exchange`). Worked out only for servers in such a mode.
pub(crate) struct CallerCredential {
    owner: String,
    issuer: Option<String>,
    token: Option<String>,
}

impl CallerCredential {
    /// The credential of `principal`, who sent `headers`, if `target`'s mode acts on the
    /// caller's behalf.
    pub(crate) fn of(
        target: &Target,
        principal: &Principal,
        headers: &http::HeaderMap,
    ) -> Option<CallerCredential> {
        match target.egress {
            Egress::OauthUser { .. } => Some(CallerCredential {
                owner: principal.owner(),
                issuer: None,
                token: None,
            }),
            Egress::TokenExchange { .. } => {
                let AuthMethod::Jwt { issuer } = &principal.auth_method else {
                    return Some(CallerCredential {
                        owner: principal.owner(),
                        issuer: None,
                        token: None,
                    });
                };
                // The gateway's credential: in X-Authorization under the dual-token rule.
                let presented = headers
                    .get(crate::forward::X_AUTHORIZATION)
                    .or_else(|| headers.get(AUTHORIZATION))
                    .and_then(|value| mcpgw_auth::bearer_token(value.as_bytes()).ok());
                Some(CallerCredential {
                    owner: principal.owner(),
                    issuer: Some(issuer.clone()),
                    token: presented.map(str::to_owned),
                })
            }
            _ => None,
        }
    }

    /// As the egress modes take it.
    pub(crate) fn as_caller(&self) -> EgressCaller<'_> {
        EgressCaller {
            owner: &self.owner,
            issuer: self.issuer.as_deref(),
            token: self.token.as_deref(),
        }
    }
}

/// The egress target of a routing entry, on behalf of `caller`.
///
/// [`Principal::owner`]: mcpgw_auth::Principal::owner
pub(crate) fn target_of<'a>(
    target: &'a Target,
    caller: Option<EgressCaller<'a>>,
) -> EgressTarget<'a> {
    EgressTarget {
        path: &target.path,
        revision: target.revision,
        url: &target.url,
        egress: &target.egress,
        caller,
    }
}

/// Headers a request carries under its server's egress mode (`Authorization` first).
pub(crate) type EgressHeaders = Vec<(http::HeaderName, HeaderValue)>;

/// The headers a request of `caller` to `target`'s upstream carries under its egress mode
/// (`None`: the mode adds none). A token that cannot be had fails the request, naming
/// why; a user who has not connected is told where to.
pub(crate) async fn authorization(
    auth: Option<&mcpgw_registry::SharedUpstreamAuth>,
    target: &Target,
    caller: Option<EgressCaller<'_>>,
) -> Result<Option<EgressHeaders>, GatewayError> {
    if matches!(target.egress, Egress::None | Egress::Passthrough) {
        return Ok(None);
    }
    let failed = |reason: String| GatewayError::Upstream {
        server: target.path.clone(),
        reason: format!("cannot obtain a token for it: {reason}"),
    };
    let auth = auth.ok_or_else(|| failed("this gateway obtains no egress tokens".into()))?;
    let granted = match auth.authorization(target_of(target, caller)).await {
        Ok(granted) => granted,
        Err(EgressFailure::Connect { provider, url }) => {
            return Err(GatewayError::ConnectionRequired {
                server: target.path.clone(),
                provider,
                url,
                reply: crate::error::ConnectReply::Elicitation,
            });
        }
        Err(EgressFailure::Forbidden(reason)) => return Err(GatewayError::Forbidden(reason)),
        Err(EgressFailure::Failed(reason)) => return Err(failed(reason)),
    };
    let mut headers = Vec::with_capacity(1 + granted.headers.len());
    let value = HeaderValue::from_str(&granted.authorization)
        .map_err(|_| failed("the token is not a valid header value".into()))?;
    headers.push((AUTHORIZATION, value));
    for (name, value) in granted.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.push((name, value));
        }
    }
    Ok(Some(headers))
}

/// Puts `headers` (from [`authorization`]) on `request_headers`, replacing any others of
/// the same names.
pub(crate) fn apply(request_headers: &mut http::HeaderMap, headers: Option<EgressHeaders>) {
    for (name, value) in headers.into_iter().flatten() {
        request_headers.insert(name, value);
    }
}
