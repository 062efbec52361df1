//! Ingress authentication: who is calling the gateway.
//!
//! [`Authenticator::authenticate`] turns request headers into a [`Principal`] or an
//! [`AuthError`]. It knows the admin token created on first start ([`AdminToken`]) and
//! JWTs from trusted OIDC issuers ([`jwt::JwtVerifier`]) and the gateway's own tokens
//! ([`vending`]). Browser sign-in lives beside it: local users ([`users`]), OIDC sign-in
//! ([`login`]) and the sessions both open ([`session`]), which the API resolves from the
//! session cookie (the data plane takes bearer credentials only). No HTTP
//! framework and no authorisation decisions live here: handlers ask for a principal,
//! policy decides what it may do.

mod admin_token;
pub mod discovery;
pub mod egress;
mod error;
mod http_json;
pub mod jwt;
pub mod login;
mod principal;
pub mod sealing;
pub mod session;
pub mod users;
pub mod vending;
mod verified;

use std::sync::Arc;

use arc_swap::ArcSwapOption;

pub use admin_token::{AdminToken, AdminTokenError, TokenSource};
pub use error::AuthError;
pub use principal::{AuthMethod, Principal};

use http::HeaderMap;
use http::HeaderName;
use http::header::AUTHORIZATION;

/// The header carrying the gateway's own token when `Authorization` is the upstream's.
const X_AUTHORIZATION: HeaderName = HeaderName::from_static("x-authorization");

/// Authenticates requests against the configured credentials.
pub struct Authenticator {
    admin: AdminToken,
    /// Swapped as a whole when the configuration is reloaded ([`Authenticator::reconfigure`]).
    jwt: ArcSwapOption<jwt::JwtVerifier>,
    tokens: Option<Arc<vending::TokenService>>,
    anonymous_group: ArcSwapOption<String>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("jwt", &self.jwt.load().is_some())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator that accepts the admin token.
    pub fn new(admin: AdminToken) -> Self {
        Authenticator {
            admin,
            jwt: ArcSwapOption::empty(),
            tokens: None,
            anonymous_group: ArcSwapOption::empty(),
        }
    }

    /// Also accepts the gateway's own tokens, minted by `tokens`.
    pub fn with_tokens(mut self, tokens: Arc<vending::TokenService>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Lets requests without any credentials in, as `anonymous` in `group`. Requests with
    /// invalid credentials are still refused.
    pub fn with_anonymous_group(self, group: String) -> Self {
        self.anonymous_group.store(Some(Arc::new(group)));
        self
    }

    /// Also accepts JWTs that `verifier` verifies.
    pub fn with_jwt(self, verifier: jwt::JwtVerifier) -> Self {
        self.jwt.store(Some(Arc::new(verifier)));
        self
    }

    /// Replaces the trusted issuers and the anonymous group (the configuration was
    /// reloaded). Requests already being authenticated finish with the old ones.
    pub fn reconfigure(&self, verifier: Option<jwt::JwtVerifier>, anonymous_group: Option<String>) {
        self.jwt.store(verifier.map(Arc::new));
        self.anonymous_group.store(anonymous_group.map(Arc::new));
    }

    /// The issuers whose JWTs are accepted now (named in the protected-resource metadata).
    pub fn issuers(&self) -> Vec<String> {
        self.jwt
            .load()
            .as_ref()
            .map(|verifier| verifier.issuers())
            .unwrap_or_default()
    }

    /// Whether an `Authorization` value carries one of the gateway's own credentials (the
    /// admin token or a gateway-minted token), which must never reach an upstream, even
    /// under the dual-token rule.
    pub fn is_gateway_credential(&self, value: &[u8]) -> bool {
        let Ok(token) = bearer_token(value) else {
            return false;
        };
        self.admin.matches(token)
            || self.tokens.as_ref().is_some_and(|tokens| {
                jwt::JwtVerifier::looks_like_jwt(token)
                    && jwt::unverified_issuer(token).as_deref() == Some(tokens.issuer())
            })
    }

    /// Who a request without credentials is: `anonymous` in the configured group, or,
    /// when anonymous requests are refused, an `anonymous` principal in no group (which
    /// the access policy grants nothing unless it says so), for public pages that show
    /// what an anonymous client may know.
    pub fn anonymous(&self) -> Principal {
        match self.anonymous_group.load().as_deref() {
            Some(group) => Principal::anonymous(group),
            None => Principal {
                groups: Vec::new(),
                ..Principal::anonymous("")
            },
        }
    }

    /// Reads the bearer credential from `headers` and identifies its holder.
    ///
    /// `X-Authorization` (the Python gateway's header for the gateway's own token) wins
    /// over `Authorization`, so that `Authorization` can carry an upstream's credential.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let Some(header) = headers
            .get(X_AUTHORIZATION)
            .or_else(|| headers.get(AUTHORIZATION))
        else {
            return match self.anonymous_group.load().as_deref() {
                Some(group) => Ok(Principal::anonymous(group)),
                None => Err(AuthError::MissingCredentials),
            };
        };
        let token = bearer_token(header.as_bytes())?;
        if self.admin.matches(token) {
            return Ok(Principal::admin());
        }
        if !jwt::JwtVerifier::looks_like_jwt(token) {
            return Err(AuthError::InvalidToken);
        }
        if let Some(tokens) = &self.tokens
            && jwt::unverified_issuer(token).as_deref() == Some(tokens.issuer())
        {
            return tokens.verify_fresh(token, now()).await;
        }
        // Held for this request: a reload meanwhile does not pull it away.
        let verifier = self.jwt.load_full();
        match verifier {
            Some(verifier) => verifier.verify(token).await,
            None => Err(AuthError::InvalidToken),
        }
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Extracts the token from `Bearer <token>` (scheme case-insensitive, as RFC 9110 says).
pub fn bearer_token(value: &[u8]) -> Result<&str, AuthError> {
    let text = std::str::from_utf8(value).map_err(|_| AuthError::MalformedHeader)?;
    let (scheme, token) = text
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MalformedHeader)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MalformedHeader);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::MalformedHeader);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_str(value).unwrap());
        map
    }

    #[tokio::test]
    async fn accepts_the_admin_token_only() {
        let auth =
            Authenticator::new(AdminToken::from_secret("s3cret-token-value".into()).unwrap());
        let ok = auth
            .authenticate(&headers("authorization", "Bearer s3cret-token-value"))
            .await;
        assert_eq!(ok.unwrap(), Principal::admin());
        let lower = auth
            .authenticate(&headers("authorization", "bearer s3cret-token-value"))
            .await;
        assert!(lower.is_ok());
        let dual = auth
            .authenticate(&headers("x-authorization", "Bearer s3cret-token-value"))
            .await;
        assert!(dual.is_ok());
        assert_eq!(
            auth.authenticate(&headers("authorization", "Bearer wrong"))
                .await,
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            auth.authenticate(&headers("authorization", "Basic abc"))
                .await,
            Err(AuthError::MalformedHeader)
        );
        assert_eq!(
            auth.authenticate(&HeaderMap::new()).await,
            Err(AuthError::MissingCredentials)
        );
    }
}
