//! Secrets at rest: values the gateway must keep but nobody may read from its database
//! file or a backup (header and environment values of registered servers, the credential
//! of a peer registry) are stored sealed with a key the database does not hold.
//!
//! A sealed value is `enc:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`, sealed with
//! ChaCha20-Poly1305 under a 256-bit key and bound to what it is (`servers.headers`,
//! `registry_sources.token` …) so that a value copied into another column does not open.
//! The key id is the first 8 bytes of the key's SHA-256, in hex: which key sealed a value is
//! known without storing key ids anywhere.
//!
//! Keys ([`Keyring::load`]): `MCPGW_SECRET_KEY` (base64 of 32 bytes; the one to set when
//! several replicas share a database), else the file `secret-keys` in the data directory
//! (created, mode 0600, with one key at first start). The last key in the file, or the
//! environment's, seals; every key known opens. Rotation adds a key
//! ([`Keyring::rotate_file`], `mcpgw secrets rotate`; or a new `MCPGW_SECRET_KEY` with the
//! old one in `MCPGW_SECRET_KEYS_PREVIOUS`); values sealed with an older key are sealed
//! again with the new one at the next start.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

/// The file of keys in the data directory.
pub const KEY_FILE: &str = "secret-keys";
/// The prefix of a sealed value.
const PREFIX: &str = "enc:v1:";
/// Key length in bytes.
const KEY_LEN: usize = 32;

/// What can go wrong with keys and sealed values.
#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    /// A key given is not base64 of 32 bytes.
    #[error("invalid secret key {0}: give base64 of 32 random bytes (openssl rand -base64 32)")]
    BadKey(String),
    /// The key file cannot be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// A value was sealed with a key this gateway does not have.
    #[error("a stored secret was sealed with key {0}, which this gateway does not have")]
    UnknownKey(String),
    /// A sealed value does not open: altered, truncated or moved from another field.
    #[error("a stored secret does not open (altered, or copied from another field)")]
    Corrupt,
    /// The system's random source failed.
    #[error("no randomness available")]
    Random,
}

/// One key, with its id.
struct Key {
    id: String,
    key: LessSafeKey,
}

impl Key {
    fn new(bytes: &[u8]) -> Result<Key, SealingError> {
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, bytes)
            .map_err(|_| SealingError::BadKey("of the wrong length".into()))?;
        let digest = Sha256::digest(bytes);
        let id = digest[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Ok(Key {
            id,
            key: LessSafeKey::new(unbound),
        })
    }
}

/// The keys a gateway seals and opens secrets with.
pub struct Keyring {
    /// Seals; also opens.
    active: Key,
    /// Older keys, kept to open what they sealed.
    previous: Vec<Key>,
    random: SystemRandom,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active.id)
            .field("previous", &self.previous.len())
            .finish()
    }
}

impl Keyring {
    /// The keys from `environment` (`MCPGW_SECRET_KEY`'s value) and `previous`
    /// (`MCPGW_SECRET_KEYS_PREVIOUS`, comma-separated), else from the data directory's
    /// key file, created with a new key when there is none.
    pub fn load(
        data_dir: &Path,
        environment: Option<&str>,
        previous: Option<&str>,
    ) -> Result<Keyring, SealingError> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let file = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    keys.push(decode(line, "in the key file")?);
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if environment.is_none() {
                    let key = new_key()?;
                    write_keys(&file, std::slice::from_ref(&key))?;
                    keys.push(key);
                }
            }
            Err(error) => return Err(file_error(&file, error)),
        }
        for old in previous.unwrap_or_default().split(',').map(str::trim) {
            if !old.is_empty() {
                keys.insert(0, decode(old, "in MCPGW_SECRET_KEYS_PREVIOUS")?);
            }
        }
        if let Some(current) = environment {
            keys.push(decode(current.trim(), "in MCPGW_SECRET_KEY")?);
        }
        Keyring::from_keys(&keys)
    }

    /// A keyring of `keys`, the last one sealing.
    pub fn from_keys(keys: &[Vec<u8>]) -> Result<Keyring, SealingError> {
        let Some((active, previous)) = keys.split_last() else {
            return Err(SealingError::BadKey("missing".into()));
        };
        Ok(Keyring {
            active: Key::new(active)?,
            previous: previous
                .iter()
                .map(|bytes| Key::new(bytes))
                .collect::<Result<_, _>>()?,
            random: SystemRandom::new(),
        })
    }

    /// Adds a new key to the data directory's key file, which seals from the next start
    /// on (older keys stay, to open what they sealed). Returns the new key's id.
    pub fn rotate_file(data_dir: &Path) -> Result<String, SealingError> {
        let file = data_dir.join(KEY_FILE);
        let text = std::fs::read_to_string(&file).map_err(|error| file_error(&file, error))?;
        let mut keys = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| decode(line, "in the key file"))
            .collect::<Result<Vec<_>, _>>()?;
        let key = new_key()?;
        let id = Key::new(&key)?.id;
        keys.push(key);
        write_keys(&file, &keys)?;
        Ok(id)
    }

    /// The id of the key that seals.
    pub fn active_id(&self) -> &str {
        &self.active.id
    }

    /// `plaintext` sealed for `context` (what the value is, e.g. `servers.headers`).
    pub fn seal(&self, context: &str, plaintext: &str) -> Result<String, SealingError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| SealingError::Random)?;
        let mut sealed = plaintext.as_bytes().to_vec();
        self.active
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| SealingError::Corrupt)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}{}:{}",
            self.active.id,
            STANDARD.encode(bytes)
        ))
    }

    /// The plaintext of `stored` (sealed for `context`). A value that is not sealed (written
    /// before sealing existed) is returned as it is.
    pub fn open(&self, context: &str, stored: &str) -> Result<String, SealingError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let (id, encoded) = rest.split_once(':').ok_or(SealingError::Corrupt)?;
        let key = std::iter::once(&self.active)
            .chain(&self.previous)
            .find(|key| key.id == id)
            .ok_or_else(|| SealingError::UnknownKey(id.to_owned()))?;
        let mut bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SealingError::Corrupt)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealingError::Corrupt);
        }
        let mut ciphertext = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| SealingError::Corrupt)?;
        let plaintext = key
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut ciphertext)
            .map_err(|_| SealingError::Corrupt)?;
        String::from_utf8(plaintext.to_vec()).map_err(|_| SealingError::Corrupt)
    }

    /// Whether `stored` should be sealed again: it is plaintext, or sealed with an older key.
    pub fn needs_sealing(&self, stored: &str) -> bool {
        match stored.strip_prefix(PREFIX) {
            None => true,
            Some(rest) => !rest.starts_with(&format!("{}:", self.active.id)),
        }
    }
}

fn new_key() -> Result<Vec<u8>, SealingError> {
    let mut key = vec![0u8; KEY_LEN];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| SealingError::Random)?;
    Ok(key)
}

fn decode(text: &str, whence: &str) -> Result<Vec<u8>, SealingError> {
    match STANDARD.decode(text) {
        Ok(bytes) if bytes.len() == KEY_LEN => Ok(bytes),
        _ => Err(SealingError::BadKey(whence.to_owned())),
    }
}

fn write_keys(file: &Path, keys: &[Vec<u8>]) -> Result<(), SealingError> {
    let text = keys
        .iter()
        .map(|key| STANDARD.encode(key))
        .collect::<Vec<_>>()
        .join("\n");
    crate::admin_token::write_private(file, &text).map_err(|error| file_error(file, error))
}

fn file_error(file: &Path, error: std::io::Error) -> SealingError {
    SealingError::File {
        path: file.display().to_string(),
        message: error.to_string(),
    }
}

#[cfg(test)]
#[path = "sealing_tests.rs"]
mod tests;
