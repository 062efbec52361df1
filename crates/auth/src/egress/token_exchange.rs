//! RFC 8693 token exchange, on behalf of the caller: the JWT a caller brought from a
//! trusted identity provider is exchanged at that provider's token endpoint (found by
//! RFC 8414 / OpenID discovery from its issuer) for a token for one upstream (RFC 8707
//! `resource`), with the gateway's client credentials. The upstream then sees the caller
//! as the subject and, where the provider says so, the gateway as the actor (`act`).
//!
//! Exchanged tokens are kept per caller token per server definition until shortly before
//! they expire, so that a busy caller costs one exchange per token lifetime.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::EgressError;
use super::client_credentials::{AccessToken, ClientCredentials, post_token_form};
use super::discovery;
use crate::session::digest;

/// RFC 8693's grant type.
const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The type of the caller's token and of the one asked for.
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Beyond this many kept tokens, expired ones are dropped on the next insert.
const MAX_KEPT: usize = 10_000;

/// One exchange to make.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    /// The issuer of the caller's token (where it is exchanged).
    pub issuer: &'a str,
    /// The caller's token.
    pub subject_token: &'a str,
    /// The upstream (the `resource` asked for).
    pub resource: &'a str,
    /// An `audience` to ask for too, if configured.
    pub audience: Option<&'a str>,
    /// The server's path and definition revision (tokens of an older one are not reused).
    pub server: (&'a str, i64),
}

/// Exchanged tokens, and the token endpoints of the issuers they came from.
#[derive(Default)]
pub struct Exchanges {
    endpoints: tokio::sync::Mutex<HashMap<String, String>>,
    kept: Mutex<HashMap<(String, String, i64), AccessToken>>,
}

impl Exchanges {
    /// A token for `exchange.resource` on behalf of the caller, exchanged with
    /// `credentials` (their `scope`, if any, is asked for).
    pub async fn token(
        &self,
        http: &reqwest::Client,
        credentials: &ClientCredentials,
        exchange: Exchange<'_>,
    ) -> Result<String, EgressError> {
        // Kept under a digest of the caller's token, not the token itself.
        let key = (
            digest(exchange.subject_token),
            exchange.server.0.to_owned(),
            exchange.server.1,
        );
        if let Some(kept) = self.locked().get(&key)
            && Instant::now() < kept.renew_at
        {
            return Ok(kept.token.clone());
        }
        let endpoint = self.endpoint(http, exchange.issuer).await?;
        let mut form = vec![
            ("grant_type", GRANT),
            ("subject_token", exchange.subject_token),
            ("subject_token_type", ACCESS_TOKEN),
            ("requested_token_type", ACCESS_TOKEN),
            ("resource", exchange.resource),
        ];
        if let Some(audience) = exchange.audience {
            form.push(("audience", audience));
        }
        if let Some(scope) = credentials.scope.as_deref() {
            form.push(("scope", scope));
        }
        let fresh = post_token_form(http, &endpoint, credentials, &form).await?;
        let token = fresh.token.clone();
        let mut kept = self.locked();
        if kept.len() >= MAX_KEPT {
            let now = Instant::now();
            kept.retain(|_, token| now < token.renew_at);
        }
        kept.insert(key, fresh);
        Ok(token)
    }

    /// Forgets what was exchanged for a server (its upstream refused a token).
    pub fn forget(&self, server: &str) {
        self.locked().retain(|(_, path, _), _| path != server);
    }

    /// The token endpoint of `issuer`, discovered once.
    async fn endpoint(&self, http: &reqwest::Client, issuer: &str) -> Result<String, EgressError> {
        let mut endpoints = self.endpoints.lock().await;
        if let Some(endpoint) = endpoints.get(issuer) {
            return Ok(endpoint.clone());
        }
        let metadata = discovery::authorization_server(http, issuer).await?;
        endpoints.insert(issuer.to_owned(), metadata.token_endpoint.clone());
        Ok(metadata.token_endpoint)
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String, i64), AccessToken>> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
