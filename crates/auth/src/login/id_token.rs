//! Verifying the ID token of an OIDC sign-in (OpenID Connect Core §3.1.3.7): signed by
//! the provider with an asymmetric algorithm, issued by it, for this client (and, with
//! several audiences, authorised for it: `azp`), not expired, and carrying the nonce of
//! this sign-in.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Validation;
use serde_json::Value;

use super::{LoginError, OidcLoginConfig};
use crate::jwt::issuer::ClaimMap;
use crate::jwt::keys::IssuerKeys;
use crate::jwt::{ACCEPTED, describe};
use crate::principal::{AuthMethod, Principal};

/// Verifies `token` and describes who signed in.
pub(super) async fn verify(
    token: &str,
    config: &OidcLoginConfig,
    claims_map: &ClaimMap,
    keys: &Arc<IssuerKeys>,
    nonce: &str,
    leeway: Duration,
) -> Result<Principal, LoginError> {
    let refuse = |reason: &str| LoginError::BadIdToken(reason.to_owned());
    let header = jsonwebtoken::decode_header(token).map_err(|_| refuse("not a valid JWT"))?;
    if !ACCEPTED.contains(&header.alg) {
        return Err(refuse("its algorithm is not accepted (asymmetric only)"));
    }
    let (_, key) = keys
        .key(header.kid.as_deref())
        .await
        .map_err(|error| LoginError::Unavailable(error.to_string()))?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = leeway.as_secs();
    validation.validate_nbf = true;
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map_err(|error| refuse(describe(error.kind())))?
        .claims;
    if let Some(Value::Array(audiences)) = claims.get("aud")
        && audiences.len() > 1
        && claims.get("azp").and_then(Value::as_str) != Some(config.client_id.as_str())
    {
        return Err(refuse(
            "it has several audiences and is not authorised for this client (azp)",
        ));
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
        return Err(refuse("its nonce is not this sign-in's"));
    }
    claims_map
        .check_tenant(&claims)
        .map_err(|reason| refuse(&reason))?;
    let mut principal = claims_map.principal(&config.issuer, &claims);
    principal.auth_method = AuthMethod::OidcLogin {
        issuer: config.issuer.clone(),
    };
    principal.expires_at = None;
    // An ID token carries no API scopes; what the user may do comes from their groups.
    principal.scopes.clear();
    Ok(principal)
}
