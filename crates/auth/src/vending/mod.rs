//! The token vending service: JWTs the gateway signs itself, for agents.
//!
//! An authenticated caller asks for a token carrying a subset of its own scopes and
//! groups, with a description and an expiry capped by configuration. The token is shown
//! once; only its id and metadata are stored, so that it can be listed and revoked. Every
//! request carrying one is checked against the revocation list, which is kept in memory
//! and reloaded from the store, so that revocations made on another replica apply too.

pub mod keys;
mod verify;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::principal::{AuthMethod, Principal};
use keys::SigningKeys;

/// The audience of the gateway's own tokens.
pub const AUDIENCE: &str = "mcpgw";

/// What went wrong with the gateway's own tokens.
#[derive(Debug, thiserror::Error)]
pub enum VendingError {
    /// The signing keys could not be read, created or written.
    #[error("signing keys: {0}")]
    Keys(String),
    /// The token store failed.
    #[error("token store: {0}")]
    Store(String),
    /// A lock was poisoned by a panic elsewhere.
    #[error("internal error")]
    Poisoned,
    /// The request is not acceptable (expiry, unknown scope …).
    #[error("{0}")]
    Invalid(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such token.
    #[error("no token '{0}'")]
    NotFound(String),
}

/// A minted token as stored: everything but the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The token's id (`jti`).
    pub id: String,
    /// Who owns it ([`Principal::owner`] of its minter): who may list and revoke it.
    pub owner: String,
    /// The minter's subject; the token acts as them.
    pub subject: String,
    /// What it is for.
    pub description: String,
    /// Scopes it carries.
    pub scopes: Vec<String>,
    /// Groups it carries.
    pub groups: Vec<String>,
    /// Whether it carries admin rights (only admins can mint such tokens).
    pub admin: bool,
    /// When it was minted (seconds since the epoch).
    pub created_at: i64,
    /// When it expires.
    pub expires_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// Where token records live (the gateway's database).
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a new record.
    async fn insert_token(&self, record: &TokenRecord) -> Result<(), String>;
    /// Records of `owner`, or of everyone; newest first.
    async fn list_tokens(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, String>;
    /// One record.
    async fn get_token(&self, id: &str) -> Result<Option<TokenRecord>, String>;
    /// Marks a token revoked at `at` (keeping an earlier revocation time).
    async fn revoke_token(&self, id: &str, at: i64) -> Result<(), String>;
    /// Ids of revoked tokens that have not expired by `now`.
    async fn revoked_tokens(&self, now: i64) -> Result<Vec<String>, String>;
}

/// What a caller asks for.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    /// What the token is for.
    #[serde(default)]
    pub description: String,
    /// Lifetime in seconds (default one hour, capped by configuration).
    pub expires_in: Option<i64>,
    /// Scopes, a subset of the caller's (default: all of them).
    pub scopes: Option<Vec<String>>,
    /// Groups, a subset of the caller's (default: all of them).
    pub groups: Option<Vec<String>>,
    /// Admin rights; only an admin may ask.
    #[serde(default)]
    pub admin: bool,
}

/// A freshly minted token: shown once.
#[derive(Debug, Clone, Serialize)]
pub struct Minted {
    /// The JWT.
    pub token: String,
    /// Its record.
    #[serde(flatten)]
    pub record: TokenRecord,
}

/// Default lifetime of a token when the caller does not say.
const DEFAULT_LIFETIME_SECS: i64 = 3600;
/// Longest description kept.
const MAX_DESCRIPTION_CHARS: usize = 500;

/// Mints, verifies, lists and revokes the gateway's own tokens.
pub struct TokenService {
    keys: SigningKeys,
    issuer: String,
    max_lifetime: i64,
    max_active_per_owner: usize,
    store: Arc<dyn TokenStore>,
    revoked: RwLock<HashSet<String>>,
    verified: crate::verified::VerifiedTokens,
    /// Told after a revocation or a rotation, so that other replicas hear of it.
    announce: Option<ChangeHook>,
    /// When the keys were last read again for a token naming an unknown key (seconds).
    keys_reloaded_at: std::sync::atomic::AtomicI64,
}

/// What changed in the state every replica keeps in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenChange {
    /// A token was revoked: reload the revocation list.
    Revocations,
    /// The signing keys were rotated: reload them.
    SigningKeys,
}

/// Called after a change made by this process (see [`TokenService::with_change_hook`]).
pub type ChangeHook = Arc<dyn Fn(TokenChange) + Send + Sync>;

/// Default most unexpired, unrevoked tokens one owner may hold.
pub const DEFAULT_MAX_ACTIVE_PER_OWNER: usize = 100;

impl TokenService {
    /// A service signing with `keys` as `issuer`; tokens live at most `max_lifetime` s.
    pub fn new(
        keys: SigningKeys,
        issuer: String,
        max_lifetime: i64,
        store: Arc<dyn TokenStore>,
    ) -> Self {
        TokenService {
            keys,
            issuer,
            max_lifetime,
            max_active_per_owner: DEFAULT_MAX_ACTIVE_PER_OWNER,
            store,
            revoked: RwLock::new(HashSet::new()),
            verified: crate::verified::VerifiedTokens::default(),
            announce: None,
            keys_reloaded_at: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// The same service, calling `hook` after each revocation and rotation it makes.
    pub fn with_change_hook(mut self, hook: ChangeHook) -> Self {
        self.announce = Some(hook);
        self
    }

    fn announce(&self, change: TokenChange) {
        if let Some(announce) = &self.announce {
            announce(change);
        }
    }

    /// Reads the signing keys again (another replica rotated them).
    pub async fn reload_keys(&self) -> Result<(), VendingError> {
        self.keys.reload().await?;
        self.verified.clear();
        Ok(())
    }

    /// Lets each owner hold at most `limit` live tokens (a leaked credential, or a script
    /// in a loop, cannot fill the database; revoking or waiting frees places).
    pub fn with_max_active_per_owner(mut self, limit: usize) -> Self {
        self.max_active_per_owner = limit.max(1);
        self
    }

    /// The longest lifetime a token may be minted with, in seconds.
    pub fn max_lifetime(&self) -> i64 {
        self.max_lifetime
    }

    /// The `iss` of the gateway's tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The public keys (`/.well-known/jwks.json`).
    pub fn jwks(&self, now: i64) -> Value {
        self.keys.jwks(now)
    }

    /// Starts signing with a new key; the old one stays accepted until its tokens expire.
    pub async fn rotate(&self, now: i64) -> Result<String, VendingError> {
        let kid = self.keys.rotate(now).await?;
        self.verified.clear();
        self.announce(TokenChange::SigningKeys);
        Ok(kid)
    }

    /// Reloads the revocation list from the store.
    pub async fn reload_revocations(&self, now: i64) -> Result<(), VendingError> {
        let ids = self
            .store
            .revoked_tokens(now)
            .await
            .map_err(VendingError::Store)?;
        // Added to, never replaced: a revocation made here while the snapshot was read
        // must not disappear until the next reload. (Expired ids are harmless: an expired
        // token is refused anyway.)
        let mut revoked = self.revoked.write().map_err(|_| VendingError::Poisoned)?;
        revoked.extend(ids);
        Ok(())
    }

    /// Mints a token acting as `by`, with at most `by`'s rights.
    ///
    /// Only people and services that signed in mint: not anonymous callers, and not the
    /// gateway's own tokens (a token minting its own successors would outlive every
    /// revocation). A token never outlives the credential it was minted with.
    pub async fn mint(
        &self,
        by: &Principal,
        request: MintRequest,
        now: i64,
    ) -> Result<Minted, VendingError> {
        match by.auth_method {
            AuthMethod::Anonymous => {
                return Err(VendingError::Forbidden("sign in to mint tokens".into()));
            }
            AuthMethod::GatewayToken { .. } => {
                return Err(VendingError::Forbidden(
                    "a gateway token cannot mint tokens; use the credential it was minted with"
                        .into(),
                ));
            }
            AuthMethod::AdminToken
            | AuthMethod::Jwt { .. }
            | AuthMethod::Password
            | AuthMethod::OidcLogin { .. } => {}
        }
        let lifetime = request
            .expires_in
            .unwrap_or(DEFAULT_LIFETIME_SECS.min(self.max_lifetime));
        if lifetime <= 0 || lifetime > self.max_lifetime {
            return Err(VendingError::Invalid(format!(
                "expires_in must be between 1 and {} seconds",
                self.max_lifetime
            )));
        }
        if request.admin && !by.is_admin {
            return Err(VendingError::Forbidden(
                "only admins can mint admin tokens".into(),
            ));
        }
        let scopes = subset("scopes", request.scopes, &by.scopes, by.is_admin)?;
        let groups = subset("groups", request.groups, &by.groups, by.is_admin)?;
        // Without groups the access policy reads a token's `scope` claim instead, which
        // for a caller with groups may map to other rights than its groups do: a token
        // of such a caller keeps at least one of its groups.
        if !by.is_admin && !by.groups.is_empty() && groups.is_empty() {
            return Err(VendingError::Forbidden(
                "a token of a caller with groups must carry at least one of them (without \
                 groups, its scope claim would decide its rights instead)"
                    .into(),
            ));
        }
        let owner = by.owner();
        let active = self.live_tokens_of(&owner, now).await?.len();
        if active >= self.max_active_per_owner {
            return Err(VendingError::Forbidden(format!(
                "you already hold {active} live tokens, the most allowed; revoke some first"
            )));
        }
        let description: String = request
            .description
            .chars()
            .take(MAX_DESCRIPTION_CHARS)
            .collect();
        let expires_at = match by.expires_at {
            Some(limit) if limit < now + lifetime => limit,
            _ => now + lifetime,
        };
        let record = TokenRecord {
            id: uuid::Uuid::new_v4().to_string(),
            owner,
            subject: by.subject.clone(),
            description,
            scopes,
            groups,
            admin: request.admin,
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        let (kid, key) = self.keys.active()?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid);
        header.typ = Some("at+jwt".into());
        let claims = json!({
            "iss": self.issuer, "aud": AUDIENCE, "sub": record.subject, "jti": record.id,
            "iat": now, "exp": record.expires_at, "scope": record.scopes.join(" "),
            "groups": record.groups, "mcpgw_admin": record.admin, "mcpgw_owner": record.owner,
        });
        let token = jsonwebtoken::encode(&header, &claims, &key)
            .map_err(|error| VendingError::Keys(error.to_string()))?;
        self.store
            .insert_token(&record)
            .await
            .map_err(VendingError::Store)?;
        Ok(Minted { token, record })
    }

    /// Tokens `by` may see: its own, or everyone's for an admin.
    pub async fn list(&self, by: &Principal) -> Result<Vec<TokenRecord>, VendingError> {
        if by.auth_method == AuthMethod::Anonymous {
            return Err(VendingError::Forbidden("sign in to manage tokens".into()));
        }
        let owner = by.owner();
        self.store
            .list_tokens((!by.is_admin).then_some(owner.as_str()))
            .await
            .map_err(VendingError::Store)
    }

    /// Revokes every live token of `owner` (a [`Principal::owner`] key): for a deleted
    /// user, or one whose password changed because it may have leaked. Returns how many.
    pub async fn revoke_all_of(&self, owner: &str, now: i64) -> Result<usize, VendingError> {
        let live = self.live_tokens_of(owner, now).await?;
        for id in &live {
            self.mark_revoked(id, now).await?;
        }
        if !live.is_empty() {
            self.announce(TokenChange::Revocations);
        }
        Ok(live.len())
    }

    /// Records a revocation in the store and in the in-memory deny-list.
    async fn mark_revoked(&self, id: &str, now: i64) -> Result<(), VendingError> {
        self.store
            .revoke_token(id, now)
            .await
            .map_err(VendingError::Store)?;
        self.revoked
            .write()
            .map_err(|_| VendingError::Poisoned)?
            .insert(id.to_owned());
        Ok(())
    }

    /// Ids of `owner`'s tokens that are neither revoked nor expired at `now`.
    async fn live_tokens_of(&self, owner: &str, now: i64) -> Result<Vec<String>, VendingError> {
        Ok(self
            .store
            .list_tokens(Some(owner))
            .await
            .map_err(VendingError::Store)?
            .into_iter()
            .filter(|token| token.revoked_at.is_none() && token.expires_at > now)
            .map(|token| token.id)
            .collect())
    }

    /// Revokes token `id`, which must be `by`'s own unless `by` is an admin.
    pub async fn revoke(
        &self,
        by: &Principal,
        id: &str,
        now: i64,
    ) -> Result<TokenRecord, VendingError> {
        let record = self
            .store
            .get_token(id)
            .await
            .map_err(VendingError::Store)?
            .filter(|record| {
                by.is_admin
                    || (by.auth_method != AuthMethod::Anonymous && record.owner == by.owner())
            })
            .ok_or_else(|| VendingError::NotFound(id.to_owned()))?;
        self.mark_revoked(id, now).await?;
        self.announce(TokenChange::Revocations);
        Ok(TokenRecord {
            revoked_at: record.revoked_at.or(Some(now)),
            ..record
        })
    }
}

/// The requested subset of `own` (all of `own` when nothing is requested); an admin may
/// ask for anything.
fn subset(
    what: &str,
    requested: Option<Vec<String>>,
    own: &[String],
    admin: bool,
) -> Result<Vec<String>, VendingError> {
    let Some(requested) = requested else {
        return Ok(own.to_vec());
    };
    if let Some(extra) = requested.iter().find(|item| !admin && !own.contains(item)) {
        return Err(VendingError::Forbidden(format!(
            "you cannot grant {what} you do not have: '{extra}'"
        )));
    }
    Ok(requested)
}

#[cfg(test)]
#[path = "vending_tests.rs"]
mod tests;
