//! How the gateway authorises itself to a server's upstream, beyond the headers configured
//! for it (issue 11). `none`: the configured headers only (and a caller's own
//! `Authorization` when it authenticated to the gateway with `X-Authorization`, the
//! dual-token rule). `passthrough`: the caller's own credential is required (the
//! dual-token rule, enforced). `oauth-client`: a token the gateway obtains with its own
//! client credentials from the authorization server the upstream names in its protected
//! resource metadata (the MCP authorization spec), for that upstream only. `oauth-user`:
//! each user's own token at a configured provider, which they connect themselves.

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::input::REDACTED;

/// A server's egress authorisation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Egress {
    /// The configured headers only.
    #[default]
    None,
    /// Every request carries the caller's own credential for the upstream in
    /// `Authorization` (the gateway's in `X-Authorization`); one without is refused.
    Passthrough,
    /// OAuth client credentials at the upstream's authorization server.
    OauthClient {
        /// The gateway's client id there.
        client_id: String,
        /// Its secret (sealed at rest, never shown).
        client_secret: String,
        /// Scopes to ask for (space-separated), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
    /// RFC 8693 token exchange at the identity provider that issued the caller's token:
    /// the upstream gets a token for itself, on behalf of the caller (`act` names the
    /// gateway). Callers with the gateway's own tokens cannot be exchanged.
    TokenExchange {
        /// The identity provider (an `[[auth.issuers]]` issuer): only its tokens are
        /// exchanged, and only there (the secret is for it alone).
        issuer: String,
        /// The gateway's client id at the identity provider.
        client_id: String,
        /// Its secret (sealed at rest, never shown).
        client_secret: String,
        /// Scopes to ask for (space-separated); default: none named (the provider decides,
        /// usually the caller's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// The `audience` to ask for, when the provider wants one besides the
        /// `resource` (the upstream's URL).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audience: Option<String>,
    },
    /// Each user's own account at `provider` (`[[egress.providers]]`), connected by the
    /// user; a request of a user who has not connected is answered with where to do so.
    OauthUser {
        /// The configured provider's name.
        provider: String,
        /// Scopes this server needs beyond the provider's (space-separated), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
}

impl Egress {
    /// The mode's name.
    pub fn mode(&self) -> &'static str {
        match self {
            Egress::None => "none",
            Egress::Passthrough => "passthrough",
            Egress::OauthClient { .. } => "oauth-client",
            Egress::OauthUser { .. } => "oauth-user",
            Egress::TokenExchange { .. } => "token-exchange",
        }
    }

    /// The client secret, for the modes that have one.
    pub fn client_secret(&self) -> Option<&str> {
        match self {
            Egress::OauthClient { client_secret, .. }
            | Egress::TokenExchange { client_secret, .. } => Some(client_secret),
            _ => None,
        }
    }

    /// The client secret to change in place (sealing, opening), for the modes with one.
    pub fn client_secret_mut(&mut self) -> Option<&mut String> {
        match self {
            Egress::OauthClient { client_secret, .. }
            | Egress::TokenExchange { client_secret, .. } => Some(client_secret),
            _ => None,
        }
    }

    /// The client id, for the modes that have one.
    fn client_id(&self) -> Option<&str> {
        match self {
            Egress::OauthClient { client_id, .. } | Egress::TokenExchange { client_id, .. } => {
                Some(client_id)
            }
            _ => None,
        }
    }

    /// Checks the fields, and keeps the stored secret where the update sends the
    /// placeholder the API shows instead of it (for the same client only).
    pub fn validated(self, stored: &Egress) -> Result<Egress, RegistryError> {
        match self {
            Egress::None => Ok(Egress::None),
            Egress::Passthrough => Ok(Egress::Passthrough),
            Egress::OauthUser { provider, scope } => {
                let provider = provider.trim().to_owned();
                let valid = !provider.is_empty()
                    && provider.len() <= 64
                    && provider.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                    });
                if !valid {
                    return Err(RegistryError::invalid(
                        "egress",
                        "provider must name a configured egress provider (1-64 of a-z 0-9 - _)",
                    ));
                }
                Ok(Egress::OauthUser {
                    provider,
                    scope: normalised_scope(scope),
                })
            }
            Egress::OauthClient {
                client_id,
                client_secret,
                scope,
            } => {
                let (client_id, client_secret) = client(client_id, client_secret, stored)?;
                Ok(Egress::OauthClient {
                    client_id,
                    client_secret,
                    scope: normalised_scope(scope),
                })
            }
            Egress::TokenExchange {
                issuer,
                client_id,
                client_secret,
                scope,
                audience,
            } => {
                let issuer = issuer.trim().to_owned();
                if issuer.is_empty() || issuer.len() > 2048 {
                    return Err(RegistryError::invalid(
                        "egress",
                        "issuer must name the identity provider whose tokens are exchanged",
                    ));
                }
                let (client_id, client_secret) = client(client_id, client_secret, stored)?;
                Ok(Egress::TokenExchange {
                    issuer,
                    client_id,
                    client_secret,
                    scope: normalised_scope(scope),
                    audience: audience
                        .map(|audience| audience.trim().to_owned())
                        .filter(|audience| !audience.is_empty()),
                })
            }
        }
    }

    /// The same with its secret replaced by [`REDACTED`], for showing.
    pub fn redacted(&self) -> Egress {
        let mut shown = self.clone();
        if let Some(secret) = shown.client_secret_mut() {
            *secret = REDACTED.to_owned();
        }
        shown
    }
}

/// A client id and secret checked, the stored secret kept where the update sends the
/// placeholder the API shows instead of it (for the same client only).
fn client(
    client_id: String,
    client_secret: String,
    stored: &Egress,
) -> Result<(String, String), RegistryError> {
    let client_id = client_id.trim().to_owned();
    if client_id.is_empty() || client_id.len() > 512 {
        return Err(RegistryError::invalid(
            "egress",
            "client_id must hold 1 to 512 characters",
        ));
    }
    let client_secret = if client_secret == REDACTED {
        match (stored.client_id(), stored.client_secret()) {
            (Some(kept), Some(secret)) if kept == client_id => secret.to_owned(),
            _ => {
                return Err(RegistryError::invalid(
                    "egress",
                    format!(
                        "client_secret is the placeholder {REDACTED} but no secret is stored for this client"
                    ),
                ));
            }
        }
    } else {
        client_secret
    };
    if client_secret.is_empty() || client_secret.len() > 4096 {
        return Err(RegistryError::invalid(
            "egress",
            "client_secret must hold 1 to 4096 characters",
        ));
    }
    Ok((client_id, client_secret))
}

/// Scopes with single spaces between them, or none.
fn normalised_scope(scope: Option<String>) -> Option<String> {
    scope
        .map(|scope| scope.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|scope| !scope.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_kept_only_for_the_same_client_and_never_shown() {
        let stored = Egress::OauthClient {
            client_id: "gw".into(),
            client_secret: "s3cret".into(),
            scope: Some("a  b".into()),
        };
        let stored = stored.validated(&Egress::None).unwrap();
        assert!(matches!(&stored, Egress::OauthClient { scope: Some(s), .. } if s == "a b"));
        let shown = serde_json::to_value(stored.redacted()).unwrap();
        assert_eq!(shown["mode"], "oauth-client");
        assert_eq!(shown["client_secret"], REDACTED);
        let resent: Egress = serde_json::from_value(shown.clone()).unwrap();
        assert_eq!(resent.validated(&stored).unwrap(), stored);
        let mut other = shown;
        other["client_id"] = "someone-else".into();
        let moved: Egress = serde_json::from_value(other).unwrap();
        assert!(
            moved.validated(&stored).is_err(),
            "the secret does not follow another client"
        );
        let none: Egress = serde_json::from_str(r#"{"mode":"none"}"#).unwrap();
        assert_eq!(none, Egress::None);
        assert!(serde_json::from_str::<Egress>(r#"{"mode":"magic"}"#).is_err());
        let user: Egress =
            serde_json::from_str(r#"{"mode":"oauth-user","provider":"jira","scope":" a  b "}"#)
                .unwrap();
        assert_eq!(
            user.validated(&Egress::None).unwrap(),
            Egress::OauthUser {
                provider: "jira".into(),
                scope: Some("a b".into())
            }
        );
        let bad: Egress =
            serde_json::from_str(r#"{"mode":"oauth-user","provider":"No Such"}"#).unwrap();
        assert!(bad.validated(&Egress::None).is_err());
    }
}
