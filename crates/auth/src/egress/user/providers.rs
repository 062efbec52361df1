//! `[[egress.providers]]`: the services users connect their own accounts of (the
//! `oauth-user` egress mode). Atlassian, GitHub, Google and Microsoft are presets that know
//! their endpoints and quirks; `generic` takes every endpoint from the configuration (any
//! OAuth 2 authorization server); `mcp` finds them out per server from the upstream
//! itself, as the MCP authorization spec describes (its protected-resource metadata, then
//! its authorization server's), and identifies the gateway by a Client ID Metadata
//! Document where no client id is configured.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::jwt::secure_or_loopback;

/// Why a provider's configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ProviderConfigError {
    /// The name cannot be a URL segment, or is taken.
    #[error("egress provider '{0}': name must be unique, 1-64 of a-z 0-9 - _")]
    Name(String),
    /// An endpoint is missing (generic) or not https.
    #[error("egress provider '{0}': {1}")]
    Endpoint(String, String),
    /// `client_secret_env` names a variable that is not set.
    #[error("egress provider '{0}': environment variable {1} (client_secret_env) is not set")]
    MissingSecret(String, String),
    /// Both a secret and a variable naming one.
    #[error("egress provider '{0}': give client_secret or client_secret_env, not both")]
    TwoSecrets(String),
    /// An extra header's name or value cannot be sent.
    #[error("egress provider '{0}': extra header '{1}' is not a valid header")]
    Header(String, String),
}

/// Which service a provider is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderPreset {
    /// Every endpoint from the configuration.
    #[default]
    Generic,
    /// Atlassian Cloud (3LO): `audience=api.atlassian.com`, refresh with `offline_access`.
    Atlassian,
    /// GitHub OAuth apps and GitHub Apps.
    Github,
    /// Google: offline access asked for, so that a refresh token is issued.
    Google,
    /// Microsoft Entra ID (v2 endpoints of `tenant`, default `common`).
    Microsoft,
    /// An MCP server protecting itself per the MCP authorization spec: endpoints,
    /// scopes and the resource are discovered from each server.
    Mcp,
}

/// How the gateway authenticates itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form.
    ClientSecretPost,
}

/// One provider as configured.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Short name, which servers' `egress.provider` names.
    pub name: String,
    /// What users read ("Connect your … account"); default: the preset's or the name.
    pub display_name: Option<String>,
    /// The service.
    #[serde(default)]
    pub preset: ProviderPreset,
    /// The authorization endpoint (presets know theirs).
    pub authorization_url: Option<String>,
    /// The token endpoint (presets know theirs).
    pub token_url: Option<String>,
    /// The RFC 7009 revocation endpoint, where a disconnected user's tokens are revoked.
    pub revocation_url: Option<String>,
    /// The issuer: a callback naming another one (RFC 9207 `iss`) is refused.
    pub issuer: Option<String>,
    /// The gateway's client id there (`mcp`: optional; without one the gateway presents
    /// its Client ID Metadata Document, where the authorization server supports it).
    pub client_id: Option<String>,
    /// `mcp`: the URL of the client metadata document to present as the client id
    /// (default: the one the gateway serves at `/oauth/client-metadata.json`).
    pub client_metadata_url: Option<String>,
    /// Its secret (omit for a public client: PKCE only).
    pub client_secret: Option<String>,
    /// The environment variable holding the secret.
    pub client_secret_env: Option<String>,
    /// How the secret is presented; default: the preset's, else HTTP Basic.
    pub client_auth: Option<ClientAuth>,
    /// Scopes asked for (a server's own `scope` is added).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Headers sent upstream with the user's token (`X-Atlassian-Cloud-Id`, …).
    #[serde(default)]
    pub extra_headers: BTreeMap<String, String>,
    /// More parameters of the authorization request (`prompt`, `audience`, …).
    #[serde(default)]
    pub authorization_params: BTreeMap<String, String>,
    /// Whether to send RFC 8707 `resource` (the server's URL), as the MCP authorization
    /// spec requires; default: yes for `generic`, no for the presets.
    pub send_resource: Option<bool>,
    /// `microsoft`: the tenant (default `common`).
    pub tenant: Option<String>,
}

/// A provider's configuration resolved against its preset.
#[derive(Clone)]
pub struct Provider {
    /// Its name.
    pub name: String,
    /// What users read.
    pub display_name: String,
    /// Authorization endpoint.
    pub authorization_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// Revocation endpoint, if any.
    pub revocation_url: Option<String>,
    /// Expected issuer, if known.
    pub issuer: Option<String>,
    /// Client id (none: `mcp`, by its metadata document).
    pub client_id: Option<String>,
    /// `mcp`: the client metadata document URL to present, if not the gateway's own.
    pub client_metadata_url: Option<String>,
    /// Endpoints, scopes and resource are discovered per server (`mcp`).
    pub discovered: bool,
    /// Client secret, if confidential.
    pub client_secret: Option<String>,
    /// How the secret is presented.
    pub client_auth: ClientAuth,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// Headers sent upstream with the token.
    pub extra_headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Extra parameters of the authorization request.
    pub authorization_params: BTreeMap<String, String>,
    /// Whether `resource` is sent.
    pub send_resource: bool,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("preset", &self.preset)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("authorization_url", &self.authorization_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for ProviderPreset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProviderPreset::Generic => "generic",
            ProviderPreset::Atlassian => "Atlassian",
            ProviderPreset::Github => "GitHub",
            ProviderPreset::Google => "Google",
            ProviderPreset::Microsoft => "Microsoft",
            ProviderPreset::Mcp => "MCP",
        })
    }
}

/// What a preset knows: (authorization, token, revocation, issuer, client auth, default
/// scopes, authorization parameters).
struct Known {
    authorization: String,
    token: String,
    revocation: Option<&'static str>,
    issuer: Option<&'static str>,
    auth: ClientAuth,
    scopes: &'static [&'static str],
    params: &'static [(&'static str, &'static str)],
}

fn known(preset: ProviderPreset, tenant: &str) -> Option<Known> {
    Some(match preset {
        ProviderPreset::Generic | ProviderPreset::Mcp => return None,
        ProviderPreset::Atlassian => Known {
            authorization: "https://auth.atlassian.com/authorize".into(),
            token: "https://auth.atlassian.com/oauth/token".into(),
            revocation: None,
            issuer: None,
            auth: ClientAuth::ClientSecretPost,
            scopes: &["offline_access"],
            params: &[("audience", "api.atlassian.com"), ("prompt", "consent")],
        },
        ProviderPreset::Github => Known {
            authorization: "https://github.com/login/oauth/authorize".into(),
            token: "https://github.com/login/oauth/access_token".into(),
            revocation: None,
            issuer: None,
            auth: ClientAuth::ClientSecretPost,
            scopes: &[],
            params: &[],
        },
        ProviderPreset::Google => Known {
            authorization: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token: "https://oauth2.googleapis.com/token".into(),
            revocation: Some("https://oauth2.googleapis.com/revoke"),
            issuer: Some("https://accounts.google.com"),
            auth: ClientAuth::ClientSecretPost,
            scopes: &[],
            params: &[("access_type", "offline"), ("prompt", "consent")],
        },
        ProviderPreset::Microsoft => Known {
            authorization: format!(
                "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"
            ),
            token: format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
            revocation: None,
            issuer: None,
            auth: ClientAuth::ClientSecretPost,
            scopes: &["offline_access"],
            params: &[],
        },
    })
}

impl ProviderConfig {
    /// Resolves the configuration against its preset; `taken` says whether a name is used.
    pub fn resolve(self, taken: impl Fn(&str) -> bool) -> Result<Provider, ProviderConfigError> {
        let name = self.name.clone();
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid_name || taken(&name) {
            return Err(ProviderConfigError::Name(name));
        }
        let secret =
            match (self.client_secret, &self.client_secret_env) {
                (Some(_), Some(_)) => return Err(ProviderConfigError::TwoSecrets(name)),
                (Some(secret), None) => Some(secret),
                (None, Some(variable)) => Some(std::env::var(variable).map_err(|_| {
                    ProviderConfigError::MissingSecret(name.clone(), variable.clone())
                })?),
                (None, None) => None,
            };
        let discovered = self.preset == ProviderPreset::Mcp;
        if discovered && secret.is_some() && self.issuer.is_none() {
            return Err(ProviderConfigError::Endpoint(
                name,
                "an mcp provider with a client_secret needs issuer: the secret goes to that \
                 authorization server only, whatever a server names"
                    .into(),
            ));
        }
        if self.client_id.is_none() && !discovered {
            return Err(ProviderConfigError::Endpoint(
                name,
                "client_id is required (only the mcp preset can do without)".into(),
            ));
        }
        let preset = known(self.preset, self.tenant.as_deref().unwrap_or("common"));
        let endpoint = |configured: Option<String>, preset: Option<String>, what: &str| {
            if discovered && configured.is_none() {
                // Found out per server.
                return Ok(String::new());
            }
            let url = configured.or(preset).ok_or_else(|| {
                ProviderConfigError::Endpoint(name.clone(), format!("{what} is required"))
            })?;
            if !secure_or_loopback(&url) {
                return Err(ProviderConfigError::Endpoint(
                    name.clone(),
                    format!("{what} must be https (http only on loopback)"),
                ));
            }
            Ok(url)
        };
        let authorization_url = endpoint(
            self.authorization_url,
            preset.as_ref().map(|p| p.authorization.clone()),
            "authorization_url",
        )?;
        let token_url = endpoint(
            self.token_url,
            preset.as_ref().map(|p| p.token.clone()),
            "token_url",
        )?;
        let revocation_url = match self.revocation_url.or_else(|| {
            preset
                .as_ref()
                .and_then(|p| p.revocation.map(str::to_owned))
        }) {
            Some(url) => Some(endpoint(Some(url), None, "revocation_url")?),
            None => None,
        };
        let mut scopes: Vec<String> = preset
            .as_ref()
            .map(|p| p.scopes.iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default();
        for scope in self.scopes {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        let mut authorization_params: BTreeMap<String, String> = preset
            .as_ref()
            .map(|p| {
                p.params
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        authorization_params.extend(self.authorization_params);
        let mut extra_headers = Vec::new();
        for (header, value) in self.extra_headers {
            let parsed = (
                http::HeaderName::from_bytes(header.as_bytes()),
                http::HeaderValue::from_str(&value),
            );
            match parsed {
                (Ok(header), Ok(value)) if header != http::header::AUTHORIZATION => {
                    extra_headers.push((header, value))
                }
                _ => return Err(ProviderConfigError::Header(name, header)),
            }
        }
        Ok(Provider {
            display_name: self.display_name.unwrap_or_else(|| match self.preset {
                ProviderPreset::Generic => name.clone(),
                preset => preset.to_string(),
            }),
            authorization_url,
            token_url,
            revocation_url,
            issuer: self
                .issuer
                .or_else(|| preset.as_ref().and_then(|p| p.issuer.map(str::to_owned))),
            client_id: self.client_id,
            client_metadata_url: self.client_metadata_url,
            discovered,
            client_secret: secret,
            client_auth: self
                .client_auth
                .or(preset.as_ref().map(|p| p.auth))
                .unwrap_or(ClientAuth::ClientSecretBasic),
            scopes,
            extra_headers,
            authorization_params,
            send_resource: self.send_resource.unwrap_or(matches!(
                self.preset,
                ProviderPreset::Generic | ProviderPreset::Mcp
            )),
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_like: serde_json::Value) -> ProviderConfig {
        serde_json::from_value(toml_like).unwrap()
    }

    #[test]
    fn presets_fill_in_their_endpoints_and_quirks() {
        let atlassian = config(serde_json::json!({
            "name": "jira", "preset": "atlassian", "client_id": "c", "client_secret": "s",
            "scopes": ["read:jira-work"], "extra_headers": {"X-Atlassian-Cloud-Id": "abc"}
        }))
        .resolve(|_| false)
        .unwrap();
        assert_eq!(atlassian.display_name, "Atlassian");
        assert_eq!(
            atlassian.token_url,
            "https://auth.atlassian.com/oauth/token"
        );
        assert_eq!(atlassian.scopes, ["offline_access", "read:jira-work"]);
        assert_eq!(
            atlassian.authorization_params["audience"],
            "api.atlassian.com"
        );
        assert_eq!(atlassian.extra_headers[0].0, "x-atlassian-cloud-id");
        assert!(!atlassian.send_resource);
        let microsoft = config(serde_json::json!({
            "name": "m365", "preset": "microsoft", "client_id": "c", "tenant": "contoso"
        }))
        .resolve(|_| false)
        .unwrap();
        assert!(
            microsoft
                .authorization_url
                .contains("/contoso/oauth2/v2.0/")
        );
        let mcp = config(serde_json::json!({"name": "remote", "preset": "mcp"}))
            .resolve(|_| false)
            .unwrap();
        assert!(mcp.discovered && mcp.client_id.is_none() && mcp.send_resource);
        assert!(matches!(
            config(serde_json::json!({"name": "x", "preset": "github"})).resolve(|_| false),
            Err(ProviderConfigError::Endpoint(..))
        ));
        let google = config(serde_json::json!({"name": "g", "preset": "google", "client_id": "c"}))
            .resolve(|_| false)
            .unwrap();
        assert_eq!(google.authorization_params["access_type"], "offline");
        assert!(google.revocation_url.is_some());
    }

    #[test]
    fn generic_needs_secure_endpoints_and_names_are_checked() {
        let generic = |value: serde_json::Value| config(value).resolve(|name| name == "taken");
        assert!(matches!(
            generic(serde_json::json!({"name": "x", "client_id": "c"})),
            Err(ProviderConfigError::Endpoint(..))
        ));
        assert!(matches!(
            generic(serde_json::json!({"name": "x", "client_id": "c",
                "authorization_url": "http://idp.example/auth", "token_url": "https://idp.example/t"})),
            Err(ProviderConfigError::Endpoint(..))
        ));
        let ok = generic(serde_json::json!({"name": "x", "client_id": "c",
            "authorization_url": "http://127.0.0.1:9/auth", "token_url": "http://127.0.0.1:9/token"}))
        .unwrap();
        assert!(ok.send_resource);
        assert_eq!(ok.client_auth, ClientAuth::ClientSecretBasic);
        assert!(matches!(
            generic(serde_json::json!({"name": "taken", "client_id": "c", "preset": "github"})),
            Err(ProviderConfigError::Name(_))
        ));
        assert!(matches!(
            generic(serde_json::json!({"name": "Bad Name", "client_id": "c", "preset": "github"})),
            Err(ProviderConfigError::Name(_))
        ));
        assert!(matches!(
            generic(
                serde_json::json!({"name": "h", "client_id": "c", "preset": "github",
                "extra_headers": {"Authorization": "x"}})
            ),
            Err(ProviderConfigError::Header(..))
        ));
    }
}
