//! Bearer JWTs from trusted OIDC issuers ([`JwtVerifier`]).
//!
//! A token is accepted only if all of this holds: it is a JWS with an asymmetric algorithm
//! (RS*, PS*, ES256/384, EdDSA; never `none`, never HMAC, whose "secret" would be a public
//! key); its `typ`, if present, is `JWT` or `at+jwt`; its `iss` is a configured issuer, whose
//! published key (by `kid`) verifies the signature; it is not expired nor used before `nbf`
//! (within the leeway); its audience is one the issuer is configured for; and what its
//! preset requires (Cognito: `token_use: access`).

mod claims;
pub mod issuer;
pub(crate) mod keys;

use std::time::Duration;

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

use crate::error::AuthError;
use crate::principal::Principal;
use issuer::{ClaimMap, IssuerConfig};
use keys::{IssuerKeys, KeyError};

/// Algorithms accepted: asymmetric ones only.
pub(crate) const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Settings shared by every issuer.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// Least time between two fetches of one issuer's keys.
    pub min_key_refresh: Duration,
    /// Timeout of each discovery or key-set request.
    pub fetch_timeout: Duration,
}

impl Default for JwtSettings {
    fn default() -> Self {
        JwtSettings {
            leeway: Duration::from_secs(60),
            min_key_refresh: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

/// Why the issuer configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum JwtConfigError {
    /// Two entries for one issuer.
    #[error("issuer '{0}' is configured twice")]
    Duplicate(String),
    /// Not an https URL (plain http is accepted for loopback only).
    #[error(
        "issuer '{0}' must be an https URL (http only on 127.0.0.1, [::1] or localhost): its keys decide who gets in"
    )]
    NotAUrl(String),
    /// No audiences: every token of the issuer, for any application, would be accepted.
    #[error(
        "issuer '{0}' needs `audiences`: without them a token it issued for any other application would be accepted"
    )]
    NoAudience(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client for key discovery: {0}")]
    Client(String),
}

struct Issuer {
    config: IssuerConfig,
    claims: ClaimMap,
    keys: std::sync::Arc<IssuerKeys>,
}

/// Verifies bearer JWTs against the configured issuers.
pub struct JwtVerifier {
    issuers: Vec<Issuer>,
    leeway: Duration,
    /// Tokens verified recently, tagged with their issuer and its key set's generation.
    verified: crate::verified::VerifiedTokens,
}

impl JwtVerifier {
    /// The issuers it trusts, as configured.
    pub fn issuers(&self) -> Vec<String> {
        self.issuers
            .iter()
            .map(|issuer| issuer.config.issuer.clone())
            .collect()
    }

    /// A verifier for `configs`; keys are fetched on first use.
    pub fn new(configs: Vec<IssuerConfig>, settings: &JwtSettings) -> Result<Self, JwtConfigError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(settings.fetch_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| JwtConfigError::Client(error.to_string()))?;
        let mut issuers: Vec<Issuer> = Vec::with_capacity(configs.len());
        for config in configs {
            if !secure_or_loopback(&config.issuer) {
                return Err(JwtConfigError::NotAUrl(config.issuer));
            }
            if config.audiences.is_empty() {
                return Err(JwtConfigError::NoAudience(config.issuer));
            }
            if issuers
                .iter()
                .any(|known| known.config.issuer == config.issuer)
            {
                return Err(JwtConfigError::Duplicate(config.issuer));
            }
            issuers.push(Issuer {
                claims: ClaimMap::of(&config),
                keys: std::sync::Arc::new(IssuerKeys::new(
                    &config.issuer,
                    http.clone(),
                    settings.min_key_refresh,
                )),
                config,
            });
        }
        Ok(JwtVerifier {
            issuers,
            verified: crate::verified::VerifiedTokens::default(),
            leeway: settings.leeway,
        })
    }

    /// Whether `token` has the shape of a JWS (three base64url parts), so that it is
    /// worth verifying as a JWT.
    pub fn looks_like_jwt(token: &str) -> bool {
        token.split('.').count() == 3 && token.starts_with("ey")
    }

    /// Verifies `token` and describes its holder. A token verified in the last minute,
    /// under the key set its issuer still has, is not verified again.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let now = crate::now();
        if let Some((principal, tag)) = self.verified.get(token, now)
            && self.current_tag(tag_issuer(tag)) == Some(tag)
        {
            return Ok(principal);
        }
        let (tag, principal) = self.verify_signed(token).await?;
        self.verified.put(token, &principal, now, tag);
        Ok(principal)
    }

    /// The tag of tokens verified now by issuer `index`: the index in the high half, its
    /// key set's generation in the low half.
    fn current_tag(&self, index: usize) -> Option<u64> {
        let issuer = self.issuers.get(index)?;
        let index = u64::try_from(index).ok()?;
        Some((index << 32) | (issuer.keys.generation() & 0xffff_ffff))
    }

    /// [`JwtVerifier::verify`] without the cache; also gives the tag to remember it under,
    /// taken before the key is looked up: a key set replaced while the token was being
    /// verified makes the tag stale, never a withdrawn key's token current.
    async fn verify_signed(&self, token: &str) -> Result<(u64, Principal), AuthError> {
        let reject = |reason: &str| AuthError::Rejected(reason.to_owned());
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| reject("not a valid JWT (or an algorithm the gateway refuses)"))?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(reject(
                "the token's algorithm is not accepted (asymmetric only)",
            ));
        }
        if let Some(typ) = header.typ.as_deref() {
            let typ = typ.to_ascii_lowercase();
            if !["jwt", "at+jwt", "application/at+jwt"].contains(&typ.as_str()) {
                return Err(reject("the token's typ is not JWT or at+jwt"));
            }
        }
        let issuer_name = unverified_issuer(token).ok_or_else(|| reject("the token has no iss"))?;
        let (index, issuer) = self
            .issuers
            .iter()
            .enumerate()
            .find(|(_, issuer)| issuer.config.issuer == issuer_name)
            .ok_or_else(|| reject("the token's issuer is not trusted"))?;
        let tag = self
            .current_tag(index)
            .ok_or_else(|| reject("the token's issuer is not trusted"))?;
        let (jwk, key) =
            issuer
                .keys
                .key(header.kid.as_deref())
                .await
                .map_err(|error| match error {
                    KeyError::Unavailable(_) => {
                        reject("the issuer's keys are unavailable; try again shortly")
                    }
                    KeyError::UnknownKey => reject("no key of the issuer matches the token"),
                })?;
        if jwk
            .common
            .key_algorithm
            .is_some_and(|alg| alg.to_string() != format!("{:?}", header.alg))
        {
            return Err(reject("the token's algorithm does not match its key"));
        }

        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&issuer.config.issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        // Checked below, where `…/*` entries can match a prefix (every MCP resource of a
        // gateway: RFC 8707 audiences are resource URLs).
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|error| reject(describe(error.kind())))?
            .claims;
        let presented: Vec<String> = if issuer.claims.audience_is_client_id() {
            issuer.claims.client_id(&claims).into_iter().collect()
        } else {
            claims.get("aud").map(claims::strings).unwrap_or_default()
        };
        if !presented
            .iter()
            .any(|audience| audience_matches(&issuer.config.audiences, audience))
        {
            return Err(reject("the token is for another audience"));
        }
        if is_id_token(header.typ.as_deref(), &claims) {
            return Err(reject("an ID token is not an access token"));
        }
        issuer
            .claims
            .check(&claims)
            .map_err(|reason| reject(&reason))?;
        Ok((tag, issuer.claims.principal(&issuer.config.issuer, &claims)))
    }
}

/// The issuer index of a tag made by [`JwtVerifier::current_tag`].
fn tag_issuer(tag: u64) -> usize {
    usize::try_from(tag >> 32).unwrap_or(usize::MAX)
}

/// Whether `presented` is one of `accepted`; an accepted entry ending in `/*` matches every
/// audience under that prefix.
fn audience_matches(accepted: &[String], presented: &str) -> bool {
    accepted
        .iter()
        .any(|accepted| match accepted.strip_suffix('*') {
            Some(prefix) if prefix.ends_with('/') => presented.starts_with(prefix),
            _ => accepted == presented,
        })
}

/// An OpenID ID token (it proves a sign-in to a client; it is not a credential for APIs):
/// Keycloak marks it `typ: ID`; any token with a `nonce` that is not typed `at+jwt` is one.
fn is_id_token(header_typ: Option<&str>, claims: &Value) -> bool {
    let typed_access = header_typ.is_some_and(|typ| typ.to_ascii_lowercase().ends_with("at+jwt"));
    let claim_typ = claims.get("typ").and_then(Value::as_str);
    claim_typ.is_some_and(|typ| typ.eq_ignore_ascii_case("id"))
        || (!typed_access && claims.get("nonce").is_some())
}

/// https, or http on a loopback host (development, tests).
pub(crate) fn secure_or_loopback(issuer: &str) -> bool {
    if issuer.starts_with("https://") {
        return true;
    }
    let Some(rest) = issuer.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(host, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            host
        } else {
            rest
        }
    });
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// The `iss` of a token before verification, only to pick the issuer whose keys verify it.
pub(crate) fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// A client-facing reason for a failed verification.
pub(crate) fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)",
        ErrorKind::InvalidAudience => "the token is for another audience",
        ErrorKind::InvalidIssuer => "the token's issuer is not trusted",
        ErrorKind::InvalidSignature => "the token's signature is invalid",
        ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim (exp, iss)",
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not match its key",
        _ => "the token is invalid",
    }
}
