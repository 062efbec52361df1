//! Tokens for an upstream with the gateway's own client credentials (RFC 6749 §4.4), for
//! one resource (RFC 8707 `resource`), kept until shortly before they expire. Callers at
//! the same moment share one request.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::EgressError;
use super::token_response::form_encoded;

/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);
/// Lifetime assumed when the server does not say (`expires_in` is optional).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// The gateway's credentials at one authorization server.
#[derive(Clone)]
pub struct ClientCredentials {
    /// Its client id.
    pub client_id: String,
    /// Its client secret (sent with HTTP Basic authentication, RFC 6749 §2.3.1).
    pub client_secret: String,
    /// Scopes to ask for (space-separated), if any.
    pub scope: Option<String>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .finish()
    }
}

/// An access token and when to stop using it.
#[derive(Clone)]
pub struct AccessToken {
    /// The token.
    pub token: String,
    /// When it must be renewed ([`RENEW_BEFORE`] before it expires).
    pub renew_at: Instant,
}

/// Asks `token_endpoint` for a token for `resource` with `credentials`.
pub async fn request_token(
    http: &reqwest::Client,
    token_endpoint: &str,
    credentials: &ClientCredentials,
    resource: &str,
) -> Result<AccessToken, EgressError> {
    let mut form = vec![("grant_type", "client_credentials"), ("resource", resource)];
    if let Some(scope) = credentials.scope.as_deref() {
        form.push(("scope", scope));
    }
    post_token_form(http, token_endpoint, credentials, &form).await
}

/// POSTs a token request `form` (any grant) to `token_endpoint`, authenticated with
/// `credentials`, and reads the answer.
pub(super) async fn post_token_form(
    http: &reqwest::Client,
    token_endpoint: &str,
    credentials: &ClientCredentials,
    form: &[(&str, &str)],
) -> Result<AccessToken, EgressError> {
    let failed = |message: String| EgressError::Fetch {
        url: token_endpoint.to_owned(),
        message,
    };
    let started = Instant::now();
    let response = http
        .post(token_endpoint)
        .basic_auth(
            form_encoded(&credentials.client_id),
            Some(form_encoded(&credentials.client_secret)),
        )
        .form(form)
        .send()
        .await
        .map_err(|error| failed(error.to_string()))?;
    let issued = super::token_response::read(response, token_endpoint).await?;
    let lifetime = issued.expires_in.map_or(DEFAULT_LIFETIME, |seconds| {
        Duration::from_secs(seconds.unsigned_abs())
    });
    Ok(AccessToken {
        token: issued.access_token,
        renew_at: started + lifetime.saturating_sub(RENEW_BEFORE),
    })
}

/// One upstream's token, obtained when first needed and renewed before it expires.
pub struct TokenCache {
    token_endpoint: String,
    resource: String,
    credentials: ClientCredentials,
    state: Mutex<CacheState>,
}

/// The kept token and the scopes tokens are asked for (the configured ones, plus those
/// the upstream asked for since: step-up).
struct CacheState {
    token: Option<AccessToken>,
    scope: Option<String>,
}

impl TokenCache {
    /// A cache of tokens for `resource` from `token_endpoint`.
    pub fn new(token_endpoint: String, resource: String, credentials: ClientCredentials) -> Self {
        let scope = credentials.scope.clone();
        TokenCache {
            token_endpoint,
            resource,
            credentials,
            state: Mutex::new(CacheState { token: None, scope }),
        }
    }

    /// A token that is not about to expire: the kept one, or a new one. Callers arriving
    /// while a token is being requested wait for it rather than request their own.
    pub async fn token(&self, http: &reqwest::Client) -> Result<String, EgressError> {
        let mut state = self.state.lock().await;
        if let Some(token) = state.token.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.token.clone());
        }
        let credentials = ClientCredentials {
            scope: state.scope.clone(),
            ..self.credentials.clone()
        };
        let fresh = request_token(http, &self.token_endpoint, &credentials, &self.resource).await?;
        let token = fresh.token.clone();
        state.token = Some(fresh);
        Ok(token)
    }

    /// Forgets the kept token (the upstream refused it: revoked, or scopes changed).
    pub async fn forget(&self) {
        self.state.lock().await.token = None;
    }

    /// Step-up (the upstream answered `insufficient_scope` naming `required`): later
    /// tokens are asked for with those scopes too. `false` when they were asked for
    /// already, so that a caller does not retry in vain.
    pub async fn step_up(&self, required: &str) -> bool {
        let mut state = self.state.lock().await;
        let mut scopes: Vec<String> = state
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let before = scopes.len();
        for scope in required.split_whitespace() {
            if !scopes.iter().any(|held| held == scope) {
                scopes.push(scope.to_owned());
            }
        }
        if scopes.len() == before {
            return false;
        }
        state.scope = Some(scopes.join(" "));
        state.token = None;
        true
    }
}
