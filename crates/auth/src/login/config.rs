//! `[[auth.oidc_login]]`: one provider users can sign in to the web UI with.

use serde::Deserialize;

use crate::jwt::issuer::{IssuerConfig, Preset};
use crate::jwt::secure_or_loopback;

/// Why a sign-in provider's configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum LoginConfigError {
    /// The name cannot be a URL segment, or is taken.
    #[error("oidc_login '{0}': name must be unique, 1-64 of a-z 0-9 - _")]
    Name(String),
    /// Not an https issuer (plain http only on loopback).
    #[error("oidc_login '{0}': issuer must be an https URL (http only on loopback)")]
    Issuer(String),
    /// `client_secret_env` names a variable that is not set.
    #[error("oidc_login '{0}': environment variable {1} (client_secret_env) is not set")]
    MissingSecret(String, String),
    /// Both a secret and a variable naming one.
    #[error("oidc_login '{0}': give client_secret or client_secret_env, not both")]
    TwoSecrets(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client for sign-in: {0}")]
    Client(String),
}

/// One sign-in provider.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcLoginConfig {
    /// Short name, used in URLs (`/auth/login/{name}`).
    pub name: String,
    /// What the login page's button says ("Sign in with …"); default: the name.
    pub display_name: Option<String>,
    /// The provider's issuer; discovery is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// The gateway's client id at the provider.
    pub client_id: String,
    /// Its client secret (confidential client), or none (public client, PKCE only).
    pub client_secret: Option<String>,
    /// The environment variable holding the client secret, to keep it out of the file.
    pub client_secret_env: Option<String>,
    /// Scopes asked for; `openid` is always added.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The claims preset, as for `[[auth.issuers]]`.
    #[serde(default)]
    pub preset: Preset,
    /// `generic`: claims holding groups.
    #[serde(default)]
    pub groups_claims: Vec<String>,
    /// `generic`: claim holding the user name.
    pub username_claim: Option<String>,
    /// Accepted tenants (`tid`, Entra ID); empty: any.
    #[serde(default)]
    pub tenants: Vec<String>,
}

impl OidcLoginConfig {
    /// The button text.
    pub fn display_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }

    /// The `scope` parameter: `openid`, then the configured scopes (default `profile
    /// email`).
    pub fn scope(&self) -> String {
        let mut scopes = vec!["openid"];
        if self.scopes.is_empty() {
            scopes.extend(["profile", "email"]);
        }
        scopes.extend(
            self.scopes
                .iter()
                .map(String::as_str)
                .filter(|scope| *scope != "openid"),
        );
        scopes.join(" ")
    }

    /// The same claim mapping as a bearer-token issuer with this preset.
    pub(crate) fn issuer_config(&self) -> IssuerConfig {
        IssuerConfig {
            issuer: self.issuer.clone(),
            audiences: vec![self.client_id.clone()],
            preset: self.preset,
            groups_claims: self.groups_claims.clone(),
            client_id_claim: Some("azp".to_owned()),
            username_claim: self.username_claim.clone(),
            tenants: self.tenants.clone(),
        }
    }

    /// Checks the entry (`taken` says whether a name is already used) and resolves its
    /// client secret.
    pub(crate) fn validate(
        &self,
        taken: impl Fn(&str) -> bool,
    ) -> Result<Option<String>, LoginConfigError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok || taken(&self.name) {
            return Err(LoginConfigError::Name(self.name.clone()));
        }
        if !secure_or_loopback(&self.issuer) {
            return Err(LoginConfigError::Issuer(self.name.clone()));
        }
        match (&self.client_secret, &self.client_secret_env) {
            (Some(_), Some(_)) => Err(LoginConfigError::TwoSecrets(self.name.clone())),
            (Some(secret), None) => Ok(Some(secret.clone())),
            (None, Some(variable)) => std::env::var(variable)
                .ok()
                .filter(|value| !value.is_empty())
                .map(Some)
                .ok_or_else(|| {
                    LoginConfigError::MissingSecret(self.name.clone(), variable.clone())
                }),
            (None, None) => Ok(None),
        }
    }
}
