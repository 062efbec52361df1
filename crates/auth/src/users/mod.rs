//! Local users: people who sign in to the gateway with a name and a password, for teams
//! without an identity provider and for the first admin ([`UserService::bootstrap_admin`]).
//!
//! Passwords are kept only as Argon2id hashes ([`password`]). A failed sign-in says the
//! same thing, after the same work, whether the user exists or not; repeated failures for
//! one name are slowed down ([`throttle`]).

mod bootstrap;
pub mod password;
mod throttle;

pub use bootstrap::{Bootstrapped, PASSWORD_FILE};

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::principal::{AuthMethod, Principal};
use password::PasswordError;
use throttle::Throttle;

/// The user name the first admin gets.
pub const BOOTSTRAP_ADMIN: &str = "admin";
/// Shortest password accepted for a new user or a password change.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (Argon2 takes any length; this bounds the work per request).
const MAX_PASSWORD_BYTES: usize = 1024;

/// The [`Principal::owner`] key of local user `username` (their sessions and tokens are
/// found by it).
pub fn owner_key(username: &str) -> String {
    format!("mcpgw:user#{}", username.trim().to_ascii_lowercase())
}

/// What went wrong with a local user.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Wrong name or password (deliberately not saying which).
    #[error("wrong user name or password")]
    BadCredentials,
    /// Too many failed sign-ins for this name; try again later.
    #[error("too many failed sign-ins for this user; try again in {0} seconds")]
    Throttled(u64),
    /// A field is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The name is taken.
    #[error("user '{0}' already exists")]
    Exists(String),
    /// No such user.
    #[error("no user '{0}'")]
    NotFound(String),
    /// The user store failed.
    #[error("user store: {0}")]
    Store(String),
    /// Hashing failed.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// A file could not be written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A local user as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Sign-in name, unique.
    pub username: String,
    /// Argon2id PHC string; never leaves the gateway.
    #[serde(skip_serializing)]
    pub password_hash: String,
    /// Groups, mapped to scopes by `scopes.yml` like an identity provider's.
    pub groups: Vec<String>,
    /// Whether the user is an admin.
    pub admin: bool,
    /// When the user was created (seconds since the epoch).
    pub created_at: i64,
    /// When the password or groups last changed.
    pub updated_at: i64,
}

/// Where users live (the gateway's database).
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores a new user; `Ok(false)` if the name is taken.
    async fn insert_user(&self, user: &UserRecord) -> Result<bool, String>;
    /// One user.
    async fn get_user(&self, username: &str) -> Result<Option<UserRecord>, String>;
    /// Every user, by name.
    async fn list_users(&self) -> Result<Vec<UserRecord>, String>;
    /// Replaces a user's password hash; `Ok(false)` if there is no such user.
    async fn set_password(&self, username: &str, hash: &str, at: i64) -> Result<bool, String>;
    /// Deletes a user; `Ok(false)` if there is no such user.
    async fn delete_user(&self, username: &str) -> Result<bool, String>;
}

/// What an admin asks for when creating a user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Sign-in name.
    pub username: String,
    /// Password (at least [`MIN_PASSWORD_CHARS`] characters).
    pub password: String,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Admin rights.
    #[serde(default)]
    pub admin: bool,
}

/// Local users: creation, sign-in, password changes.
#[derive(Clone)]
pub struct UserService {
    store: Arc<dyn UserStore>,
    throttle: Arc<Throttle>,
}

impl UserService {
    /// Users kept in `store`.
    pub fn new(store: Arc<dyn UserStore>) -> Self {
        UserService {
            store,
            throttle: Arc::new(Throttle::default()),
        }
    }

    /// Creates a user.
    pub async fn create(&self, user: NewUser, now: i64) -> Result<UserRecord, UserError> {
        let username = normalize(&user.username)?;
        check_password(&user.password, MIN_PASSWORD_CHARS)?;
        let groups = clean_groups(user.groups)?;
        let record = UserRecord {
            password_hash: password::hash(user.password).await?,
            username,
            groups,
            admin: user.admin,
            created_at: now,
            updated_at: now,
        };
        if !self
            .store
            .insert_user(&record)
            .await
            .map_err(UserError::Store)?
        {
            return Err(UserError::Exists(record.username));
        }
        Ok(record)
    }

    /// Every user.
    pub async fn list(&self) -> Result<Vec<UserRecord>, UserError> {
        self.store.list_users().await.map_err(UserError::Store)
    }

    /// Deletes a user. (Their sessions are ended by the caller, which owns them.)
    pub async fn delete(&self, username: &str) -> Result<(), UserError> {
        let username =
            &normalize(username).map_err(|_| UserError::NotFound(username.to_owned()))?;
        match self.store.delete_user(username).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(UserError::NotFound(username.to_owned())),
            Err(error) => Err(UserError::Store(error)),
        }
    }

    /// Sets a new password.
    pub async fn set_password(
        &self,
        username: &str,
        new_password: String,
        now: i64,
    ) -> Result<(), UserError> {
        let username =
            &normalize(username).map_err(|_| UserError::NotFound(username.to_owned()))?;
        check_password(&new_password, MIN_PASSWORD_CHARS)?;
        let hash = password::hash(new_password).await?;
        match self.store.set_password(username, &hash, now).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(UserError::NotFound(username.to_owned())),
            Err(error) => Err(UserError::Store(error)),
        }
    }

    /// Checks a name and password and describes the user as a principal (without an
    /// expiry: the session that carries it has one).
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        now: i64,
    ) -> Result<Principal, UserError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(UserError::BadCredentials);
        }
        // A name that cannot exist is looked up nowhere, but costs the same work.
        let username = normalize(username).ok();
        if let Some(name) = &username {
            self.throttle
                .attempt(name, now)
                .map_err(UserError::Throttled)?;
        }
        let user = match &username {
            Some(name) => self.store.get_user(name).await.map_err(UserError::Store)?,
            None => None,
        };
        let stored = user.as_ref().map(|user| user.password_hash.clone());
        if !password::verify(password.to_owned(), stored).await? {
            return Err(UserError::BadCredentials);
        }
        if let Some(name) = &username {
            self.throttle.succeeded(name);
        }
        let user = user.ok_or(UserError::BadCredentials)?;
        Ok(Principal {
            subject: user.username.clone(),
            is_admin: user.admin,
            groups: user.groups,
            client_id: None,
            username: Some(user.username),
            scopes: Vec::new(),
            auth_method: AuthMethod::Password,
            expires_at: None,
        })
    }
}

/// Longest user name.
const MAX_USERNAME_CHARS: usize = 64;

/// The stored form of a user name (lower case, so `Admin` and `admin` are one user),
/// checked.
fn normalize(name: &str) -> Result<String, UserError> {
    let name = name.trim().to_ascii_lowercase();
    check_username(&name)?;
    Ok(name)
}

fn check_username(name: &str) -> Result<(), UserError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_USERNAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if valid {
        Ok(())
    } else {
        Err(UserError::Invalid(format!(
            "username: 1 to {MAX_USERNAME_CHARS} characters, letters, digits and . _ @ -, \
             starting with a letter or digit"
        )))
    }
}

fn check_password(password: &str, min_chars: usize) -> Result<(), UserError> {
    if password.chars().count() < min_chars {
        return Err(UserError::Invalid(format!(
            "password: at least {min_chars} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(UserError::Invalid(format!(
            "password: at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

fn clean_groups(groups: Vec<String>) -> Result<Vec<String>, UserError> {
    let mut clean = Vec::with_capacity(groups.len());
    for group in groups {
        let group = group.trim().to_owned();
        if group.is_empty() || group.len() > 256 || group.chars().any(char::is_control) {
            return Err(UserError::Invalid(
                "groups: each a non-empty name of at most 256 characters".into(),
            ));
        }
        if !clean.contains(&group) {
            clean.push(group);
        }
    }
    Ok(clean)
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
