//! [`SigningKeys`]: the gateway's own Ed25519 signing keys, kept in the shared database
//! ([`KeyStore`], the seeds sealed) so that a token minted by one replica verifies at
//! every other.
//!
//! Generated at first start; rotation makes a new key the signing one and keeps the old
//! ones published (and accepted) until every token they signed has expired, so rotating
//! never breaks a token in use. Keys of an older release, kept in the data directory's
//! `signing-keys.json`, are moved into the database at start (tokens they signed stay
//! valid) and the file is deleted.
//!
//! Replicas starting together on an empty database all try to add the first key under one
//! fixed id: one insert wins and every replica signs with it. A rotation adds its key and
//! retires the others in one transaction, so two rotations at once leave one or both new
//! keys active, never none (each sees the other's key only once it was committed, after
//! the other's own retirement ran); every replica signs with the newest active key.

use std::path::Path;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

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
pub struct StoredKey {
    /// Its id, the tokens' `kid`.
    pub kid: String,
    /// The 32-byte Ed25519 seed, base64url.
    pub seed: String,
    /// When it was made (seconds since the epoch).
    pub created_at: i64,
    /// When it stopped signing; it is still accepted until `retired_at + max lifetime`.
    pub retired_at: Option<i64>,
}

/// Where the keys live (the gateway's database; the store seals the seeds).
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every stored key.
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, String>;
    /// Adds `key` unless a key with its id exists.
    async fn add_signing_key(&self, key: &StoredKey) -> Result<(), String>;
    /// In one transaction: adds `key`, retires at `at` every other key active then, and
    /// deletes the keys retired before `dropped_before`.
    async fn rotate_signing_key(
        &self,
        key: &StoredKey,
        at: i64,
        dropped_before: i64,
    ) -> Result<(), String>;
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
        let mut id = [0u8; 8];
        rand::rng().fill_bytes(&mut id);
        Key::generate_as(format!("mcpgw-{}", URL_SAFE_NO_PAD.encode(id)), now)
    }

    /// A new key with id `kid`.
    fn generate_as(kid: String, now: i64) -> Result<Key, VendingError> {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Key::from_stored(StoredKey {
            kid,
            seed: URL_SAFE_NO_PAD.encode(seed),
            created_at: now,
            retired_at: None,
        })
    }
}

/// The gateway's signing keys: the database's, held in memory for verification.
pub struct SigningKeys {
    store: Arc<dyn KeyStore>,
    /// How long a retired key stays accepted: the longest a token may live.
    overlap: i64,
    /// Newest first: the first active one signs.
    keys: RwLock<Vec<Key>>,
}

/// The id of the first key of a deployment.
const FIRST_KID: &str = "mcpgw-first";

/// The file older releases kept the keys in, inside the data directory.
const LEGACY_FILE: &str = "signing-keys.json";

impl SigningKeys {
    /// Loads the keys from `store`, first moving in those of `data_dir`'s legacy file,
    /// and adds a first key if none is active.
    pub async fn load(
        store: Arc<dyn KeyStore>,
        data_dir: &Path,
        overlap_secs: i64,
        now: i64,
    ) -> Result<Self, VendingError> {
        import_legacy_file(store.as_ref(), data_dir).await?;
        let keys = SigningKeys {
            store,
            overlap: overlap_secs,
            keys: RwLock::new(Vec::new()),
        };
        keys.reload().await?;
        if keys.active().is_err() {
            // One fixed id: of replicas starting together, one insert wins.
            let first = Key::generate_as(FIRST_KID.to_owned(), now)?;
            keys.store
                .add_signing_key(&first.stored)
                .await
                .map_err(VendingError::Keys)?;
            keys.reload().await?;
        }
        if keys.active().is_err() {
            // The fixed id is taken by a retired key (keys deleted by hand): a new one.
            let key = Key::generate(now)?;
            keys.store
                .add_signing_key(&key.stored)
                .await
                .map_err(VendingError::Keys)?;
            keys.reload().await?;
        }
        Ok(keys)
    }

    /// Reads the keys from the store again (another replica rotated them).
    pub async fn reload(&self) -> Result<(), VendingError> {
        let stored = self
            .store
            .signing_keys()
            .await
            .map_err(VendingError::Keys)?;
        let mut loaded = stored
            .into_iter()
            .map(Key::from_stored)
            .collect::<Result<Vec<_>, _>>()?;
        loaded.sort_by(|a, b| {
            (b.stored.created_at, &b.stored.kid).cmp(&(a.stored.created_at, &a.stored.kid))
        });
        *self.keys.write().map_err(|_| VendingError::Poisoned)? = loaded;
        Ok(())
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

    /// Makes a new key the signing one; the others are retired (accepted for the
    /// overlap), keys past their overlap are dropped. Returns the new key id.
    pub async fn rotate(&self, now: i64) -> Result<String, VendingError> {
        let fresh = Key::generate(now)?;
        let kid = fresh.stored.kid.clone();
        self.store
            .rotate_signing_key(&fresh.stored, now, now - self.overlap)
            .await
            .map_err(VendingError::Keys)?;
        self.reload().await?;
        Ok(kid)
    }
}

/// Moves the keys of an older release's key file into the store, then deletes the file
/// (the seeds are sealed in the database now; a plaintext copy would only be a risk).
async fn import_legacy_file(store: &dyn KeyStore, data_dir: &Path) -> Result<(), VendingError> {
    let path = data_dir.join(LEGACY_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(VendingError::Keys(format!("{}: {error}", path.display()))),
    };
    let stored: Vec<StoredKey> = serde_json::from_slice(&bytes)
        .map_err(|error| VendingError::Keys(format!("{}: {error}", path.display())))?;
    for key in &stored {
        // A damaged key is refused before it is stored.
        Key::from_stored(key.clone())?;
        store
            .add_signing_key(key)
            .await
            .map_err(VendingError::Keys)?;
    }
    std::fs::remove_file(&path)
        .map_err(|error| VendingError::Keys(format!("{}: {error}", path.display())))?;
    tracing::info!(
        file = %path.display(),
        keys = stored.len(),
        "signing keys moved into the database; the file is deleted"
    );
    Ok(())
}
