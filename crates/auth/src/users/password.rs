//! Password hashing: Argon2id with the RustCrypto defaults (OWASP's recommended
//! parameters), in PHC string format so that parameters can change without a migration.
//!
//! Hashing takes tens of milliseconds and 19 MiB on purpose; callers run it off the async
//! runtime ([`hash`] and [`verify`] use `spawn_blocking`), at most one per CPU at a time, so
//! a flood of sign-in attempts queues briefly and is then refused instead of exhausting the
//! machine's memory and every core.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Semaphore;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Argon2 failed (never with the fixed parameters; reported rather than unwrapped).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task did not finish.
    #[error("password hashing task failed: {0}")]
    Task(String),
    /// Every hashing slot stayed busy for [`QUEUE_WAIT`]: too many sign-ins at once.
    #[error("too many sign-ins at once; try again in a moment")]
    Busy,
}

/// How long a hash waits for a free slot before the request is refused.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// Runs `work` on the blocking pool once one of the per-CPU slots is free.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
) -> Result<T, PasswordError> {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(1, usize::from))
    });
    let _slot = tokio::time::timeout(QUEUE_WAIT, slots.acquire())
        .await
        .map_err(|_| PasswordError::Busy)?
        .map_err(|_| PasswordError::Busy)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| PasswordError::Task(error.to_string()))?
}

/// Hashes `password` with a fresh random salt.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    bounded(move || hash_now(&password)).await
}

fn hash_now(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt =
        SaltString::encode_b64(&salt).map_err(|error| PasswordError::Hash(error.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| PasswordError::Hash(error.to_string()))
}

/// Whether `password` matches `stored` (a PHC string). With `stored` = `None` (no such
/// user) a dummy hash is checked instead, so that the answer takes as long either way and
/// timing does not tell which user names exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, PasswordError> {
    bounded(move || {
        let exists = stored.is_some();
        let stored = match stored {
            Some(stored) => stored,
            None => dummy_hash()?.to_owned(),
        };
        let parsed =
            PasswordHash::new(&stored).map_err(|error| PasswordError::Hash(error.to_string()))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(exists && matches)
    })
    .await
}

/// A hash of a random password, made once, for [`verify`] on unknown users.
fn dummy_hash() -> Result<&'static str, PasswordError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let hash = hash_now(&format!("{secret:?}"))?;
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(
            verify("correct horse battery".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("correct horse batterY".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        let again = hash("correct horse battery".into()).await.unwrap();
        assert_ne!(stored, again, "every hash has its own salt");
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}
