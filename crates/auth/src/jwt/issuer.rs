//! One trusted OIDC issuer: where its keys are, which audiences it may address, and how
//! its claims name the things a [`Principal`] needs.
//!
//! Providers differ only by claim names, so each is a *preset* of claim paths; `generic`
//! lets an operator name the paths of any other provider.

use serde::Deserialize;
use serde_json::Value;

use super::claims::{path, strings};
use crate::principal::{AuthMethod, Principal};

/// A claims preset: which claims carry the groups, the client id and the user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Keycloak: `groups` and `realm_access.roles`; client `azp`.
    Keycloak,
    /// Amazon Cognito: `cognito:groups`; client `client_id`; access tokens carry no `aud`
    /// (the client id is checked against the audiences instead) and `token_use: access`.
    Cognito,
    /// Microsoft Entra ID: `groups` and `roles`; client `azp` or `appid`; tenant `tid`.
    Entra,
    /// Any provider, with the claim paths given in the configuration.
    #[default]
    Generic,
}

/// `[[auth.issuers]]`: one trusted issuer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` its tokens carry; discovery is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// Accepted audiences (`aud`; for Cognito the `client_id`); required. An entry ending
    /// in `/*` accepts every audience under it (`https://mcp.example.com/*`: the resource
    /// URLs of every MCP server of the gateway).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The claims preset.
    #[serde(default)]
    pub preset: Preset,
    /// `generic`: claims holding groups (dotted paths, e.g. `realm_access.roles`).
    #[serde(default)]
    pub groups_claims: Vec<String>,
    /// `generic`: claim holding the client id.
    pub client_id_claim: Option<String>,
    /// `generic`: claim holding the user name.
    pub username_claim: Option<String>,
    /// Accepted tenants (the `tid` claim, Entra ID): when given, a token of any other
    /// tenant, or without `tid`, is refused. For multi-tenant applications, whose tokens
    /// from every tenant would otherwise pass.
    #[serde(default)]
    pub tenants: Vec<String>,
}

/// How an issuer's claims map onto a principal, resolved from its preset.
#[derive(Debug, Clone)]
pub struct ClaimMap {
    groups: Vec<String>,
    client_id: Vec<String>,
    username: Vec<String>,
    /// Cognito: the audience is the `client_id` claim, and `token_use` must be `access`.
    cognito: bool,
    /// Accepted `tid` values; empty: any.
    tenants: Vec<String>,
}

impl ClaimMap {
    /// The claim paths of `config`'s preset (or its own for `generic`).
    pub fn of(config: &IssuerConfig) -> ClaimMap {
        let owned = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect();
        let tenants = config.tenants.clone();
        match config.preset {
            Preset::Keycloak => ClaimMap {
                groups: owned(&["groups", "realm_access.roles"]),
                client_id: owned(&["azp", "client_id"]),
                username: owned(&["preferred_username"]),
                cognito: false,
                tenants,
            },
            Preset::Cognito => ClaimMap {
                groups: owned(&["cognito:groups"]),
                client_id: owned(&["client_id"]),
                username: owned(&["username"]),
                cognito: true,
                tenants,
            },
            Preset::Entra => ClaimMap {
                groups: owned(&["groups", "roles"]),
                client_id: owned(&["azp", "appid"]),
                username: owned(&["preferred_username", "upn"]),
                cognito: false,
                tenants,
            },
            Preset::Generic => ClaimMap {
                groups: if config.groups_claims.is_empty() {
                    owned(&["groups"])
                } else {
                    config.groups_claims.clone()
                },
                client_id: vec![
                    config
                        .client_id_claim
                        .clone()
                        .unwrap_or_else(|| "client_id".to_owned()),
                ],
                username: vec![
                    config
                        .username_claim
                        .clone()
                        .unwrap_or_else(|| "preferred_username".to_owned()),
                ],
                cognito: false,
                tenants,
            },
        }
    }

    /// Whether the audience is checked on `client_id` instead of `aud` (Cognito).
    pub fn audience_is_client_id(&self) -> bool {
        self.cognito
    }

    /// The client id the token was issued to.
    pub fn client_id(&self, claims: &Value) -> Option<String> {
        first_string(claims, &self.client_id)
    }

    /// Checks what the preset requires beyond signature, issuer and time: a Cognito token
    /// must be an access token; with `tenants`, the token's `tid` must be one of them.
    pub fn check(&self, claims: &Value) -> Result<(), String> {
        if self.cognito && claims.get("token_use").and_then(Value::as_str) != Some("access") {
            return Err("a Cognito token must have token_use 'access'".into());
        }
        self.check_tenant(claims)
    }

    /// With `tenants` configured, the token's `tid` must be one of them.
    pub fn check_tenant(&self, claims: &Value) -> Result<(), String> {
        if self.tenants.is_empty() {
            return Ok(());
        }
        let tid = claims.get("tid").and_then(Value::as_str);
        if tid.is_some_and(|tid| self.tenants.iter().any(|tenant| tenant == tid)) {
            Ok(())
        } else {
            Err("the token's tenant (tid) is not accepted".into())
        }
    }

    /// The principal these (verified) claims describe.
    pub fn principal(&self, issuer: &str, claims: &Value) -> Principal {
        let client_id = self.client_id(claims);
        let username = first_string(claims, &self.username);
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| client_id.clone())
            .unwrap_or_else(|| "unknown".to_owned());
        let mut groups: Vec<String> = self
            .groups
            .iter()
            .filter_map(|claim| path(claims, claim))
            .flat_map(strings)
            .collect();
        groups.sort();
        groups.dedup();
        let scopes = claims
            .get("scope")
            .and_then(Value::as_str)
            .map(|scope| scope.split_whitespace().map(str::to_owned).collect())
            .or_else(|| {
                // Entra puts delegated scopes in `scp`, as a space-separated string.
                claims.get("scp").map(|scp| match scp {
                    Value::String(text) => text.split_whitespace().map(str::to_owned).collect(),
                    other => strings(other),
                })
            })
            .unwrap_or_default();
        Principal {
            subject,
            is_admin: false,
            groups,
            client_id,
            username,
            scopes,
            auth_method: AuthMethod::Jwt {
                issuer: issuer.to_owned(),
            },
            // A NumericDate may have a fraction (RFC 7519 §2); it is cut to whole seconds.
            expires_at: claims
                .get("exp")
                .and_then(Value::as_f64)
                .map(|exp| exp as i64),
        }
    }
}

/// The first of `claims` that is a non-empty string.
fn first_string(claims: &Value, names: &[String]) -> Option<String> {
    names
        .iter()
        .filter_map(|name| path(claims, name))
        .find_map(|value| value.as_str().filter(|text| !text.is_empty()))
        .map(str::to_owned)
}

#[cfg(test)]
#[path = "issuer_tests.rs"]
mod tests;
