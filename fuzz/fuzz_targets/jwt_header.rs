//! Fuzz target: arbitrary `Authorization` header values, around real credentials.
//!
//! Every request's credential goes through `mcpgw_auth::bearer_token`, then the
//! authenticator's pre-parsing: admin token or JWT shape (`looks_like_jwt`), and the
//! unverified `iss` of the payload, which picks the gateway's own token service or an
//! OIDC issuer before any signature is checked; `is_gateway_credential` uses the same
//! pre-parsing to keep the gateway's credentials from ever reaching an upstream. Inputs
//! are text with placeholders for the admin token, a live and a revoked gateway token and
//! base64url-encoded JSON (see `mcpgw_fuzz::jwt`). Beyond never panicking:
//! - `bearer_token` gives a non-empty token without surrounding white space, found in the
//!   value, that `Bearer <token>` gives back; its only error is `MalformedHeader`;
//! - `Authorization` and `X-Authorization` authenticate the same value alike;
//! - the admin token and the live gateway token authenticate, with any spacing;
//! - only the admin token authenticates as the admin, only the live gateway token as its
//!   holder (not a revoked one, not any variation: other spacing inside it, other parts,
//!   padding, a re-encoded header or payload), and nothing as an OIDC user (the issuer's
//!   keys cannot be fetched);
//! - every credential the gateway accepts as its own is one `is_gateway_credential`
//!   recognises, and it recognises exactly the admin token and the JWT-shaped tokens
//!   whose payload `jsonwebtoken` reads with the gateway's `iss`.

#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use mcpgw_auth::jwt::JwtVerifier;
use mcpgw_auth::{AuthError, AuthMethod, Principal, bearer_token};
use mcpgw_fuzz::jwt::{ADMIN, GATEWAY_ISSUER, Setup, expand, setup};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let setup = setup();
    let value = match std::str::from_utf8(data) {
        Ok(text) => expand(text, setup).into_bytes(),
        Err(_) => data.to_vec(),
    };
    let token = check_bearer(&value);
    let Ok(header) = HeaderValue::from_bytes(&value) else {
        return;
    };
    let by_authorization = authenticate(setup, http::header::AUTHORIZATION, &header);
    let by_x_authorization =
        authenticate(setup, HeaderName::from_static("x-authorization"), &header);
    assert_eq!(
        by_authorization, by_x_authorization,
        "the two headers differ"
    );
    let own = setup.authenticator.is_gateway_credential(&value);
    if token == Some(ADMIN) || token == Some(&setup.minted) {
        assert!(by_authorization.is_ok(), "a valid credential was refused");
    }
    if let Ok(principal) = &by_authorization {
        let token = token.unwrap_or_default();
        match &principal.auth_method {
            AuthMethod::AdminToken => assert_eq!(token, ADMIN, "admin by another token"),
            AuthMethod::GatewayToken { .. } => {
                assert_eq!(token, setup.minted, "a gateway token that was never minted");
            }
            other => panic!("authenticated as {other:?} without a key to verify with"),
        }
        assert!(
            own,
            "an accepted gateway credential is not recognised as one"
        );
    }
    let Some(token) = token else {
        assert!(!own, "no bearer token, yet a gateway credential");
        return;
    };
    let gateway_iss = JwtVerifier::looks_like_jwt(token)
        && jsonwebtoken::dangerous::insecure_decode_claims::<Value>(token)
            .ok()
            .is_some_and(|claims| claims.get("iss") == Some(&Value::from(GATEWAY_ISSUER)));
    assert_eq!(
        own,
        token == ADMIN || gateway_iss,
        "is_gateway_credential disagrees with jsonwebtoken about {token:?}"
    );
});

/// Checks `bearer_token` on `value`; gives the token.
fn check_bearer(value: &[u8]) -> Option<&str> {
    let token = match bearer_token(value) {
        Ok(token) => token,
        Err(error) => {
            assert_eq!(error, AuthError::MalformedHeader);
            return None;
        }
    };
    assert!(!token.is_empty());
    assert_eq!(token, token.trim(), "white space around the token");
    let text = std::str::from_utf8(value).expect("a token from a value that is not UTF-8");
    assert!(text.contains(token));
    let (scheme, _) = text.trim().split_once(' ').unwrap_or_default();
    assert!(scheme.eq_ignore_ascii_case("bearer"), "scheme {scheme:?}");
    let again = format!("Bearer {token}");
    assert_eq!(bearer_token(again.as_bytes()), Ok(token), "Bearer <token>");
    Some(token)
}

fn authenticate(
    setup: &Setup,
    name: HeaderName,
    value: &HeaderValue,
) -> Result<Principal, AuthError> {
    let mut headers = HeaderMap::new();
    headers.insert(name, value.clone());
    setup
        .runtime
        .block_on(setup.authenticator.authenticate(&headers))
}
