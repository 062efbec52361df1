//! Signing in to the web UI at an OIDC provider: the authorization code flow with PKCE
//! (RFC 7636, S256), `state` bound to the browser by a cookie, a `nonce` in the ID token,
//! and the RFC 9207 `iss` check on the way back.
//!
//! [`OidcLogin::start`] records the sign-in ([`crate::session::LoginFlow`]) and gives the
//! URL to send the browser to; [`OidcLogin::finish`] takes the provider's answer,
//! exchanges the code, verifies the ID token ([`id_token`]) and describes the user as a
//! [`Principal`] with the provider's claims preset. Opening the session is the caller's.

mod config;
mod id_token;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::egress::token_response::form_encoded;
use crate::jwt::issuer::ClaimMap;
use crate::jwt::keys::{Endpoints, IssuerKeys};
use crate::principal::Principal;
use crate::session::{LOGIN_FLOW_TTL_SECS, LoginFlow, SessionError, SessionService, random_token};

pub use config::{LoginConfigError, OidcLoginConfig};

/// Timeout of each request to a provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a sign-in failed. Each says what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No provider by that name is configured.
    #[error("no sign-in provider '{0}'")]
    UnknownProvider(String),
    /// The provider could not be reached or answered nonsense.
    #[error("the sign-in provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the sign-in (the user cancelled, or is not allowed).
    #[error("the sign-in provider refused: {0}")]
    Refused(String),
    /// The callback does not belong to a sign-in this browser started (missing, forged,
    /// expired or replayed `state`).
    #[error("this sign-in expired or was not started in this browser; sign in again")]
    BadState,
    /// The ID token failed verification.
    #[error("the sign-in provider's ID token was refused: {0}")]
    BadIdToken(String),
    /// The session store failed.
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// A provider's answer, as query parameters of the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` the gateway sent.
    pub state: Option<String>,
    /// The issuer (RFC 9207), when the provider sends it.
    pub iss: Option<String>,
    /// An error code instead of a code.
    pub error: Option<String>,
    /// Its human-readable description.
    pub error_description: Option<String>,
}

/// Where to send the browser, and the value of the login cookie that binds the sign-in
/// to it.
#[derive(Debug, Clone)]
pub struct Started {
    /// The provider's authorization URL with every parameter.
    pub location: String,
    /// The login cookie's value (the `state`).
    pub state: String,
}

struct Provider {
    config: OidcLoginConfig,
    secret: Option<String>,
    claims: ClaimMap,
    keys: Arc<IssuerKeys>,
}

/// The configured sign-in providers.
pub struct OidcLogin {
    providers: Vec<Provider>,
    http: reqwest::Client,
    sessions: SessionService,
    leeway: Duration,
}

impl OidcLogin {
    /// Sign-in with `configs`, recording flows in `sessions`; ID tokens get `leeway` of
    /// clock skew and keys are fetched at most once per `min_key_refresh`.
    pub fn new(
        configs: Vec<OidcLoginConfig>,
        sessions: SessionService,
        leeway: Duration,
        min_key_refresh: Duration,
    ) -> Result<Self, LoginConfigError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| LoginConfigError::Client(error.to_string()))?;
        let mut providers: Vec<Provider> = Vec::with_capacity(configs.len());
        for config in configs {
            let secret = config.validate(|name| providers.iter().any(|p| p.config.name == name))?;
            providers.push(Provider {
                claims: ClaimMap::of(&config.issuer_config()),
                keys: Arc::new(IssuerKeys::new(
                    &config.issuer,
                    http.clone(),
                    min_key_refresh,
                )),
                secret,
                config,
            });
        }
        Ok(OidcLogin {
            providers,
            http,
            sessions,
            leeway,
        })
    }

    /// `(name, display name)` of each provider, in configuration order.
    pub fn providers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.providers.iter().map(|provider| {
            (
                provider.config.name.as_str(),
                provider.config.display_name(),
            )
        })
    }

    fn provider(&self, name: &str) -> Result<&Provider, LoginError> {
        self.providers
            .iter()
            .find(|provider| provider.config.name == name)
            .ok_or_else(|| LoginError::UnknownProvider(name.to_owned()))
    }

    /// Starts a sign-in at provider `name`; the provider sends the browser back to
    /// `redirect_uri`, and the sign-in then continues to `next` (a local path).
    pub async fn start(
        &self,
        name: &str,
        redirect_uri: String,
        next: String,
        now: i64,
    ) -> Result<Started, LoginError> {
        let provider = self.provider(name)?;
        let endpoints = endpoints(provider).await?;
        let verifier = random_token();
        let nonce = random_token();
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        let flow = LoginFlow {
            state_hash: String::new(),
            provider: name.to_owned(),
            verifier,
            nonce: nonce.clone(),
            redirect_uri: redirect_uri.clone(),
            next,
            expires_at: now + LOGIN_FLOW_TTL_SECS,
        };
        let state = self.sessions.begin_login(flow).await?;
        let mut location = reqwest::Url::parse(&endpoints.authorization)
            .map_err(|error| LoginError::Unavailable(format!("authorization_endpoint: {error}")))?;
        location
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &provider.config.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", &provider.config.scope())
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(Started {
            location: location.into(),
            state,
        })
    }

    /// Finishes a sign-in at provider `name` from its `callback`; `cookie_state` is the
    /// login cookie's value, which must be the callback's `state`. Returns who signed in
    /// and where the browser goes next.
    pub async fn finish(
        &self,
        name: &str,
        callback: Callback,
        cookie_state: Option<&str>,
        now: i64,
    ) -> Result<(Principal, String), LoginError> {
        let provider = self.provider(name)?;
        let state = callback.state.as_deref().ok_or(LoginError::BadState)?;
        if cookie_state != Some(state) {
            return Err(LoginError::BadState);
        }
        let flow = self
            .sessions
            .take_login(state, now)
            .await?
            .filter(|flow| flow.provider == name)
            .ok_or(LoginError::BadState)?;
        // RFC 9207: a response naming another issuer is a mix-up attack.
        if let Some(iss) = &callback.iss
            && iss != &provider.config.issuer
        {
            return Err(LoginError::Refused(format!(
                "the response names issuer '{iss}', not '{}'",
                provider.config.issuer
            )));
        }
        if let Some(error) = callback.error {
            let description = callback.error_description.unwrap_or_default();
            return Err(LoginError::Refused(
                format!("{error} {description}").trim().to_owned(),
            ));
        }
        let code = callback
            .code
            .ok_or_else(|| LoginError::Refused("the response has no code".into()))?;
        let id_token = self.exchange(provider, &code, &flow).await?;
        let principal = id_token::verify(
            &id_token,
            &provider.config,
            &provider.claims,
            &provider.keys,
            &flow.nonce,
            self.leeway,
        )
        .await?;
        Ok((principal, flow.next))
    }

    /// Exchanges the code for tokens and returns the ID token.
    async fn exchange(
        &self,
        provider: &Provider,
        code: &str,
        flow: &LoginFlow,
    ) -> Result<String, LoginError> {
        let endpoints = endpoints(provider).await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", flow.redirect_uri.as_str()),
            ("code_verifier", flow.verifier.as_str()),
        ];
        let mut request = self.http.post(&endpoints.token);
        match &provider.secret {
            Some(secret) if uses_post_auth(&endpoints) => {
                form.push(("client_id", &provider.config.client_id));
                form.push(("client_secret", secret));
            }
            Some(secret) => {
                // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
                request = request.basic_auth(
                    form_encoded(&provider.config.client_id),
                    Some(form_encoded(secret)),
                );
            }
            None => form.push(("client_id", &provider.config.client_id)),
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|error| LoginError::Unavailable(format!("token endpoint: {error}")))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|error| LoginError::Unavailable(format!("token endpoint: {error}")))?;
        if !status.is_success() {
            let error = body["error"].as_str().unwrap_or("error");
            let description = body["error_description"].as_str().unwrap_or_default();
            return Err(LoginError::Refused(
                format!("{error} {description}").trim().to_owned(),
            ));
        }
        body["id_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| LoginError::Unavailable("the token response has no id_token".into()))
    }
}

async fn endpoints(provider: &Provider) -> Result<Endpoints, LoginError> {
    let endpoints = provider
        .keys
        .endpoints()
        .await
        .map_err(|error| LoginError::Unavailable(error.to_string()))?;
    // The code, the verifier and the client secret travel to the token endpoint.
    if !crate::jwt::secure_or_loopback(&endpoints.token)
        || !crate::jwt::secure_or_loopback(&endpoints.authorization)
    {
        return Err(LoginError::Unavailable(
            "the provider's endpoints must be https (http only on loopback)".into(),
        ));
    }
    Ok(endpoints)
}

/// Whether the token endpoint takes the client secret in the body rather than in Basic.
fn uses_post_auth(endpoints: &Endpoints) -> bool {
    endpoints
        .token_auth_methods
        .as_ref()
        .is_some_and(|methods| {
            !methods.iter().any(|m| m == "client_secret_basic")
                && methods.iter().any(|m| m == "client_secret_post")
        })
}
