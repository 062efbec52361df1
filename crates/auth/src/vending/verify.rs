//! Verifying the gateway's own tokens: signature, claims, revocation; a token signed with
//! a key this replica has not loaded yet (another replica just rotated, or started first)
//! makes it read the keys again, at most every [`KEY_RELOAD_PAUSE_SECS`].

use std::sync::atomic::Ordering;

use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

use super::{AUDIENCE, TokenService};
use crate::error::AuthError;
use crate::principal::{AuthMethod, Principal};

/// Least time between two reloads of the keys caused by unknown key ids (a client
/// sending tokens with made-up key ids must not make every request read the database).
pub(super) const KEY_RELOAD_PAUSE_SECS: i64 = 2;

impl TokenService {
    /// [`TokenService::verify`], reading the keys again first when the token names a key
    /// this replica does not know (and they were not read in the last two seconds).
    pub async fn verify_fresh(&self, token: &str, now: i64) -> Result<Principal, AuthError> {
        let verified = self.verify(token, now);
        if verified.is_ok() || !self.names_unknown_key(token, now) {
            return verified;
        }
        let last = self.keys_reloaded_at.load(Ordering::Acquire);
        if now - last < KEY_RELOAD_PAUSE_SECS
            || self
                .keys_reloaded_at
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return verified;
        }
        if let Err(error) = self.reload_keys().await {
            tracing::warn!(%error, "signing keys not reloaded for a token with an unknown key");
            return verified;
        }
        self.verify(token, now)
    }

    /// Whether `token`'s header names a key id this replica does not accept now.
    fn names_unknown_key(&self, token: &str, now: i64) -> bool {
        jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|header| header.kid)
            .is_some_and(|kid| self.keys.verifying(&kid, now).is_none())
    }

    /// Verifies one of the gateway's tokens (its `iss` is the gateway's).
    pub fn verify(&self, token: &str, now: i64) -> Result<Principal, AuthError> {
        let reject = |reason: &str| AuthError::Rejected(reason.to_owned());
        if let Some((principal, _)) = self.verified.get(token, now) {
            if let AuthMethod::GatewayToken { token_id, .. } = &principal.auth_method
                && self.is_revoked(token_id)
            {
                return Err(reject("the token has been revoked"));
            }
            return Ok(principal);
        }
        let principal = self.verify_signed(token, now)?;
        // Rotation clears the cache, so entries need no tag.
        self.verified.put(token, &principal, now, 0);
        Ok(principal)
    }

    /// Whether the token with id `id` is revoked (a poisoned list counts as yes).
    fn is_revoked(&self, id: &str) -> bool {
        self.revoked
            .read()
            .map(|revoked| revoked.contains(id))
            .unwrap_or(true)
    }

    /// [`TokenService::verify`] without the cache: signature, claims, revocation.
    fn verify_signed(&self, token: &str, now: i64) -> Result<Principal, AuthError> {
        let reject = |reason: &str| AuthError::Rejected(reason.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| reject("not a valid JWT"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(reject("the token's algorithm is not the gateway's"));
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.verifying(kid, now))
            .ok_or_else(|| {
                reject("the gateway no longer accepts the key that signed this token")
            })?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 0;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "jti", "sub"]);
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    reject("the token has expired")
                }
                _ => reject("the token is invalid"),
            })?
            .claims;
        let id = claims["jti"].as_str().unwrap_or_default().to_owned();
        if self.is_revoked(&id) {
            return Err(reject("the token has been revoked"));
        }
        let strings = |name: &str| -> Vec<String> {
            claims[name]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Principal {
            subject: claims["sub"].as_str().unwrap_or_default().to_owned(),
            is_admin: claims["mcpgw_admin"].as_bool() == Some(true),
            groups: strings("groups"),
            client_id: None,
            username: None,
            scopes: claims["scope"]
                .as_str()
                .map(|scope| scope.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            auth_method: AuthMethod::GatewayToken {
                token_id: id,
                owner: claims["mcpgw_owner"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            },
            expires_at: claims["exp"].as_i64(),
        })
    }
}
