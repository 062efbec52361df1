//! The authenticated caller.

use serde::{Deserialize, Serialize};

/// How a principal proved who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthMethod {
    /// The gateway's admin token.
    AdminToken,
    /// No credentials, let in as the configured anonymous group.
    Anonymous,
    /// A token the gateway minted itself.
    GatewayToken {
        /// Its id (`jti`), for revocation.
        token_id: String,
        /// The [`Principal::owner`] of whoever minted it.
        owner: String,
    },
    /// A JWT from a trusted OIDC issuer.
    Jwt {
        /// The issuer (`iss`).
        issuer: String,
    },
    /// A browser session opened with a local user's password.
    Password,
    /// A browser session opened by signing in at an OIDC provider.
    OidcLogin {
        /// The provider's issuer.
        issuer: String,
    },
}

impl AuthMethod {
    /// Its kind in one word, as the audit trail records it.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthMethod::AdminToken => "admin_token",
            AuthMethod::Anonymous => "anonymous",
            AuthMethod::GatewayToken { .. } => "gateway_token",
            AuthMethod::Jwt { .. } => "jwt",
            AuthMethod::Password => "password",
            AuthMethod::OidcLogin { .. } => "oidc_login",
        }
    }
}

/// Who made a request, as far as authentication can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Stable identifier of the caller (`admin`, a JWT `sub`, a client id …).
    pub subject: String,
    /// Admins may do everything; the access-control layer decides for everyone else.
    pub is_admin: bool,
    /// Groups the caller belongs to, as its credential states them.
    pub groups: Vec<String>,
    /// The OAuth client the credential was issued to.
    pub client_id: Option<String>,
    /// A human user's name, when the credential names one.
    pub username: Option<String>,
    /// Scopes the credential grants (its `scope` claim).
    pub scopes: Vec<String>,
    /// How it authenticated.
    pub auth_method: AuthMethod,
    /// When the credential expires (seconds since the epoch), if it does.
    pub expires_at: Option<i64>,
}

impl Principal {
    /// A key naming this principal that no other principal can share: subjects are only
    /// unique within their issuer, and an identity provider may well have a user called
    /// `admin`. Token ownership is decided on this.
    pub fn owner(&self) -> String {
        match &self.auth_method {
            AuthMethod::AdminToken => "mcpgw:admin-token".to_owned(),
            AuthMethod::Anonymous => "mcpgw:anonymous".to_owned(),
            // The same person whether they bring a token or sign in with a browser.
            AuthMethod::Jwt { issuer } | AuthMethod::OidcLogin { issuer } => {
                format!("{issuer}#{}", self.subject)
            }
            AuthMethod::Password => crate::users::owner_key(&self.subject),
            AuthMethod::GatewayToken { owner, .. } => owner.clone(),
        }
    }

    /// Who is asking, in the access policy's terms: its groups (mapped by
    /// `group_mappings`), its `scope` claim, and whether it is an admin.
    pub fn policy_caller(&self) -> mcpgw_policy::Caller<'_> {
        mcpgw_policy::Caller {
            admin: self.is_admin,
            groups: &self.groups,
            scope_claim: &self.scopes,
        }
    }

    /// A caller without credentials, in `group` (`[auth] anonymous_group`).
    pub fn anonymous(group: &str) -> Self {
        Principal {
            subject: "anonymous".to_owned(),
            is_admin: false,
            groups: vec![group.to_owned()],
            client_id: None,
            username: None,
            scopes: Vec::new(),
            auth_method: AuthMethod::Anonymous,
            expires_at: None,
        }
    }

    /// The holder of the admin token.
    pub fn admin() -> Self {
        Principal {
            subject: "admin".to_owned(),
            is_admin: true,
            groups: Vec::new(),
            client_id: None,
            username: None,
            scopes: Vec::new(),
            auth_method: AuthMethod::AdminToken,
            expires_at: None,
        }
    }
}
