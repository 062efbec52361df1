//! Tokens already verified, so that an agent's every request does not pay for a signature
//! check (Ed25519, RSA or ECDSA: tens of microseconds, most of what a restricted caller's
//! request cost the gateway before this cache).
//!
//! Entries are keyed by the SHA-256 of the token, so the cache holds no usable
//! credential. One lives at most [`MAX_AGE_SECS`] and never past the token's expiry. Each
//! carries a `tag` its user checks on a hit: which key set verified it, so that a change
//! of keys (a rotation, a key withdrawn at the provider) makes it verify again. Gateway
//! tokens are also checked against the revocation list on every hit.

use std::collections::HashMap;
use std::sync::RwLock;

use sha2::{Digest, Sha256};

use crate::Principal;

/// Longest an entry is trusted, in seconds.
pub const MAX_AGE_SECS: i64 = 60;
/// Most entries kept; when full, expired entries go, then everything.
const MAX_ENTRIES: usize = 10_000;

/// Verified tokens and who they identify.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    entries: RwLock<HashMap<[u8; 32], Cached>>,
}

#[derive(Debug)]
struct Cached {
    principal: Principal,
    /// Seconds since the epoch after which the entry is not used.
    until: i64,
    /// What the verifier needs to know the entry still holds (its key set's generation).
    tag: u64,
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl VerifiedTokens {
    /// Who `token` identifies and the tag it was stored with, if it was verified less than
    /// [`MAX_AGE_SECS`] ago and has not expired by `now`.
    pub fn get(&self, token: &str, now: i64) -> Option<(Principal, u64)> {
        let entries = self.entries.read().ok()?;
        let cached = entries.get(&key(token))?;
        (cached.until > now).then(|| (cached.principal.clone(), cached.tag))
    }

    /// Remembers that `token` was verified at `now` as `principal`, under `tag`.
    /// A principal without an expiry is not remembered: the entry could outlive the token.
    pub fn put(&self, token: &str, principal: &Principal, now: i64, tag: u64) {
        let Some(expires) = principal.expires_at else {
            return;
        };
        let until = expires.min(now + MAX_AGE_SECS);
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, cached| cached.until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            key(token),
            Cached {
                principal: principal.clone(),
                until,
                tag,
            },
        );
    }

    /// Forgets every entry (the signing keys changed).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expiring(at: i64) -> Principal {
        Principal {
            expires_at: Some(at),
            ..Principal::admin()
        }
    }

    #[test]
    fn an_entry_lives_until_the_token_expires_or_a_minute_passes() {
        let cache = VerifiedTokens::default();
        cache.put("t1", &expiring(1_000 + 10), 1_000, 7);
        assert!(cache.get("t1", 1_009).is_some());
        assert!(cache.get("t1", 1_010).is_none(), "expired with the token");
        cache.put("t2", &expiring(1_000_000), 1_000, 7);
        assert_eq!(cache.get("t2", 1_001).map(|(_, tag)| tag), Some(7));
        assert!(cache.get("t2", 1_000 + MAX_AGE_SECS - 1).is_some());
        assert!(
            cache.get("t2", 1_000 + MAX_AGE_SECS).is_none(),
            "re-verified after a minute"
        );
        assert!(cache.get("other", 1_000).is_none());
        cache.clear();
        assert!(cache.get("t2", 1_001).is_none());
        cache.put("forever", &Principal::admin(), 1_000, 0);
        assert!(
            cache.get("forever", 1_001).is_none(),
            "no expiry, not remembered"
        );
    }

    #[test]
    fn a_full_cache_drops_what_expired_first() {
        let cache = VerifiedTokens::default();
        for i in 0..MAX_ENTRIES {
            cache.put(&format!("t{i}"), &expiring(1_005), 1_000, 0);
        }
        cache.put("late", &expiring(5_000), 1_010, 0);
        assert!(cache.get("late", 1_011).is_some());
        assert_eq!(cache.entries.read().unwrap().len(), 1);
    }
}
