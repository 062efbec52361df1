//! [`SigningKeys`]: the gateway's own Ed25519 signing keys, kept in the data directory.
//!
//! Generated at first start; rotation makes a new key the signing one and keeps the old
//! ones published (and accepted) until every token they signed has expired, so rotating
//! never breaks a token in use.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::VendingError;

/// The fixed PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410), followed by the seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// One key as stored (no `Debug`: it holds the private seed).
#[derive(Clone, Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    /// The 32-byte Ed25519 seed, base64url.
    seed: String,
    created_at: i64,
    /// When it stopped signing; it is still accepted until `retired_at + max lifetime`.
    retired_at: Option<i64>,
}

/// A usable key.
struct Key {
    stored: StoredKey,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public: String,
}

impl Key {
    fn from_stored(stored: StoredKey) -> Result<Key, VendingError> {
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(&stored.seed)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| VendingError::Keys(format!("key {} is damaged", stored.kid)))?;
        let signing = SigningKey::from_bytes(&seed);
        let public = URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes());
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let decoding = DecodingKey::from_ed_components(&public)
            .map_err(|error| VendingError::Keys(error.to_string()))?;
        Ok(Key {
            encoding: EncodingKey::from_ed_der(&der),
            decoding,
            public,
            stored,
        })
    }

    fn generate(now: i64) -> Result<Key, VendingError> {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let mut id = [0u8; 8];
        rand::rng().fill_bytes(&mut id);
        Key::from_stored(StoredKey {
            kid: format!("mcpgw-{}", URL_SAFE_NO_PAD.encode(id)),
            seed: URL_SAFE_NO_PAD.encode(seed),
            created_at: now,
            retired_at: None,
        })
    }
}

/// The gateway's signing keys.
pub struct SigningKeys {
    path: PathBuf,
    /// How long a retired key stays accepted: the longest a token may live.
    overlap: i64,
    keys: RwLock<Vec<Key>>,
}

impl SigningKeys {
    /// Loads `<data_dir>/signing-keys.json`, creating it (mode 0600) with a first key.
    pub fn load_or_create(
        data_dir: &Path,
        overlap_secs: i64,
        now: i64,
    ) -> Result<Self, VendingError> {
        let path = data_dir.join("signing-keys.json");
        let keys = match std::fs::read(&path) {
            Ok(bytes) => {
                let stored: Vec<StoredKey> = serde_json::from_slice(&bytes)
                    .map_err(|error| VendingError::Keys(format!("{}: {error}", path.display())))?;
                stored
                    .into_iter()
                    .map(Key::from_stored)
                    .collect::<Result<Vec<_>, _>>()?
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let keys = vec![Key::generate(now)?];
                if !write_new(&path, &keys)? {
                    // Another process created it first: use its key, not a second one.
                    return SigningKeys::load_or_create(data_dir, overlap_secs, now);
                }
                keys
            }
            Err(error) => return Err(VendingError::Keys(format!("{}: {error}", path.display()))),
        };
        if !keys.iter().any(|key| key.stored.retired_at.is_none()) {
            return Err(VendingError::Keys(format!(
                "{}: no active key",
                path.display()
            )));
        }
        Ok(SigningKeys {
            path,
            overlap: overlap_secs,
            keys: RwLock::new(keys),
        })
    }

    /// The signing key and its id.
    pub fn active(&self) -> Result<(String, EncodingKey), VendingError> {
        let keys = self.keys.read().map_err(|_| VendingError::Poisoned)?;
        keys.iter()
            .find(|key| key.stored.retired_at.is_none())
            .map(|key| (key.stored.kid.clone(), key.encoding.clone()))
            .ok_or_else(|| VendingError::Keys("no active key".into()))
    }

    /// The key that verifies tokens signed with `kid`, if it is still accepted at `now`.
    pub fn verifying(&self, kid: &str, now: i64) -> Option<DecodingKey> {
        let keys = self.keys.read().ok()?;
        keys.iter()
            .find(|key| key.stored.kid == kid && self.accepted(&key.stored, now))
            .map(|key| key.decoding.clone())
    }

    fn accepted(&self, key: &StoredKey, now: i64) -> bool {
        key.retired_at
            .is_none_or(|retired| retired + self.overlap > now)
    }

    /// The public keys still accepted, as a JWK set (`/.well-known/jwks.json`).
    pub fn jwks(&self, now: i64) -> Value {
        let keys = match self.keys.read() {
            Ok(keys) => keys,
            Err(poisoned) => poisoned.into_inner(),
        };
        let listed: Vec<Value> = keys
            .iter()
            .filter(|key| self.accepted(&key.stored, now))
            .map(|key| {
                json!({"kty": "OKP", "crv": "Ed25519", "x": key.public, "kid": key.stored.kid,
                    "use": "sig", "alg": "EdDSA"})
            })
            .collect();
        json!({ "keys": listed })
    }

    /// Makes a new key the signing one; the old one is retired (accepted for the
    /// overlap), keys past their overlap are dropped. Returns the new key id.
    pub fn rotate(&self, now: i64) -> Result<String, VendingError> {
        let mut keys = self.keys.write().map_err(|_| VendingError::Poisoned)?;
        let fresh = Key::generate(now)?;
        let kid = fresh.stored.kid.clone();
        let mut next: Vec<Key> = Vec::with_capacity(keys.len() + 1);
        next.push(fresh);
        for mut key in keys.drain(..) {
            key.stored.retired_at.get_or_insert(now);
            if self.accepted(&key.stored, now) {
                next.push(key);
            }
        }
        write(&self.path, &next)?;
        *keys = next;
        Ok(kid)
    }
}

/// Creates the key file only if there is none yet (two processes starting together must
/// not each sign with a key of their own); `false` if it already existed.
fn write_new(path: &Path, keys: &[Key]) -> Result<bool, VendingError> {
    let temporary = path.with_extension(format!("json.new.{}", std::process::id()));
    write_file(&temporary, keys)?;
    // A hard link fails if the target exists: creation without a window for a race.
    let created = match std::fs::hard_link(&temporary, path) {
        Ok(()) => true,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(VendingError::Keys(format!("{}: {error}", path.display())));
        }
    };
    let _ = std::fs::remove_file(&temporary);
    Ok(created)
}

/// Writes the key file atomically (temporary file, then rename), readable by the owner only.
fn write(path: &Path, keys: &[Key]) -> Result<(), VendingError> {
    let temporary = path.with_extension("json.tmp");
    write_file(&temporary, keys)?;
    std::fs::rename(&temporary, path)
        .map_err(|error| VendingError::Keys(format!("{}: {error}", path.display())))
}

/// Writes `keys` to a fresh file at `path` with mode 0600, synced.
fn write_file(path: &Path, keys: &[Key]) -> Result<(), VendingError> {
    let stored: Vec<&StoredKey> = keys.iter().map(|key| &key.stored).collect();
    let bytes = serde_json::to_vec_pretty(&stored)
        .map_err(|error| VendingError::Keys(error.to_string()))?;
    let fail = |error: std::io::Error| VendingError::Keys(format!("{}: {error}", path.display()));
    // A leftover from an interrupted write could have other permissions: start afresh.
    let _ = std::fs::remove_file(path);
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(&bytes).map_err(fail)?;
    file.sync_all().map_err(fail)
}
