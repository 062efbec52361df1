//! Browser sessions: what a sign-in (password or OIDC) leaves behind, so that the web UI
//! and the Python registry's form routes work with a cookie instead of a bearer token.
//!
//! The cookie carries a random id; the store keeps only its SHA-256, with the principal
//! it stands for, a CSRF token and an expiry, so that a copy of the database opens no
//! session and logout ends one everywhere. The same store keeps the short-lived state of
//! OIDC sign-ins in progress ([`LoginFlow`]), so that any replica can finish one.

pub mod cookie;
pub mod origin;

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::principal::Principal;

/// Default session lifetime: 8 hours, as the Python registry's.
pub const DEFAULT_TTL_SECS: i64 = 8 * 3600;
/// How long an OIDC sign-in may take, from the redirect to the provider to the callback.
pub const LOGIN_FLOW_TTL_SECS: i64 = 600;

/// What went wrong with sessions.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The session store failed.
    #[error("session store: {0}")]
    Store(String),
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 (hex) of the cookie value.
    pub id_hash: String,
    /// [`Principal::owner`] of whoever signed in, to end all their sessions at once.
    pub owner: String,
    /// Who signed in.
    pub principal: Principal,
    /// The token a browser's state-changing requests must carry.
    pub csrf_token: String,
    /// When it was opened (seconds since the epoch).
    pub created_at: i64,
    /// When it ends.
    pub expires_at: i64,
}

/// An OIDC sign-in in progress, between the redirect to the provider and its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFlow {
    /// SHA-256 (hex) of the `state` parameter (also the login cookie's value).
    pub state_hash: String,
    /// The configured provider's name.
    pub provider: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The redirect URI sent to the provider, sent again with the code.
    pub redirect_uri: String,
    /// Where the browser goes once signed in (a local path).
    pub next: String,
    /// When the flow expires.
    pub expires_at: i64,
}

/// Where sessions and sign-ins in progress live (the gateway's database).
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), String>;
    /// The session with this id hash, expired or not.
    async fn get_session(&self, id_hash: &str) -> Result<Option<SessionRecord>, String>;
    /// Deletes one session.
    async fn delete_session(&self, id_hash: &str) -> Result<(), String>;
    /// Deletes every session of `owner`; returns how many.
    async fn delete_sessions_of(&self, owner: &str) -> Result<u64, String>;
    /// Deletes sessions and sign-in flows that expired before `now`; returns how many.
    async fn prune_sessions(&self, now: i64) -> Result<u64, String>;
    /// Stores a sign-in in progress.
    async fn insert_login_flow(&self, flow: &LoginFlow) -> Result<(), String>;
    /// Removes and returns a sign-in in progress (each can be finished once).
    async fn take_login_flow(&self, state_hash: &str) -> Result<Option<LoginFlow>, String>;
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who signed in; `expires_at` is the session's.
    pub principal: Principal,
    /// The token the browser's state-changing requests must carry.
    pub csrf_token: String,
}

/// A session just opened: the cookie value is known only here, once.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The session cookie's value.
    pub cookie_value: String,
    /// The session.
    pub session: Session,
    /// Its lifetime in seconds (the cookie's `Max-Age`).
    pub ttl: i64,
}

/// Opens, finds and ends sessions.
#[derive(Clone)]
pub struct SessionService {
    store: Arc<dyn SessionStore>,
    ttl: i64,
}

impl SessionService {
    /// Sessions in `store`, each lasting `ttl` seconds.
    pub fn new(store: Arc<dyn SessionStore>, ttl: i64) -> Self {
        SessionService {
            store,
            ttl: ttl.max(1),
        }
    }

    /// Opens a session for `principal`, ending after the configured lifetime. (An OIDC
    /// sign-in's ID token expires within minutes; it proves the sign-in, it does not bound
    /// the session.)
    pub async fn open(&self, mut principal: Principal, now: i64) -> Result<Opened, SessionError> {
        let expires_at = now + self.ttl;
        principal.expires_at = Some(expires_at);
        let cookie_value = random_token();
        let record = SessionRecord {
            id_hash: digest(&cookie_value),
            owner: principal.owner(),
            principal,
            csrf_token: random_token(),
            created_at: now,
            expires_at,
        };
        self.store
            .insert_session(&record)
            .await
            .map_err(SessionError::Store)?;
        Ok(Opened {
            cookie_value,
            ttl: self.ttl,
            session: Session {
                principal: record.principal,
                csrf_token: record.csrf_token,
            },
        })
    }

    /// The live session a cookie value opens, if any.
    pub async fn find(
        &self,
        cookie_value: &str,
        now: i64,
    ) -> Result<Option<Session>, SessionError> {
        if !plausible(cookie_value) {
            return Ok(None);
        }
        let record = self
            .store
            .get_session(&digest(cookie_value))
            .await
            .map_err(SessionError::Store)?;
        Ok(record
            .filter(|record| now < record.expires_at)
            .map(|record| Session {
                principal: record.principal,
                csrf_token: record.csrf_token,
            }))
    }

    /// Ends the session a cookie value opens (nothing if there is none).
    pub async fn close(&self, cookie_value: &str) -> Result<(), SessionError> {
        if !plausible(cookie_value) {
            return Ok(());
        }
        self.store
            .delete_session(&digest(cookie_value))
            .await
            .map_err(SessionError::Store)
    }

    /// Ends every session of the principal with this [`Principal::owner`] key.
    pub async fn close_all_of(&self, owner: &str) -> Result<u64, SessionError> {
        self.store
            .delete_sessions_of(owner)
            .await
            .map_err(SessionError::Store)
    }

    /// Forgets expired sessions and sign-ins.
    pub async fn prune(&self, now: i64) -> Result<u64, SessionError> {
        self.store
            .prune_sessions(now)
            .await
            .map_err(SessionError::Store)
    }

    /// Stores a sign-in in progress; returns the `state` value that names it.
    pub(crate) async fn begin_login(&self, mut flow: LoginFlow) -> Result<String, SessionError> {
        let state = random_token();
        flow.state_hash = digest(&state);
        self.store
            .insert_login_flow(&flow)
            .await
            .map_err(SessionError::Store)?;
        Ok(state)
    }

    /// Takes the unexpired sign-in named by `state`, at most once.
    pub(crate) async fn take_login(
        &self,
        state: &str,
        now: i64,
    ) -> Result<Option<LoginFlow>, SessionError> {
        if !plausible(state) {
            return Ok(None);
        }
        let flow = self
            .store
            .take_login_flow(&digest(state))
            .await
            .map_err(SessionError::Store)?;
        Ok(flow.filter(|flow| now < flow.expires_at))
    }
}

/// 32 random bytes, base64url: session ids, CSRF tokens, OIDC `state`, nonces, PKCE
/// verifiers (43 characters, within RFC 7636's 43..=128).
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 as lowercase hex.
pub fn digest(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whether `value` could be one of [`random_token`]'s (so junk is not even looked up).
fn plausible(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
