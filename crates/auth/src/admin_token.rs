//! The admin token: the credential that exists before any identity provider is configured.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::error::AuthError;

/// File name of the token inside the data directory.
pub const TOKEN_FILE: &str = "admin-token";
/// Shortest secret accepted from `MCPGW_ADMIN_TOKEN` or the token file.
const MIN_SECRET_LEN: usize = 16;

/// Where the admin token came from, so the caller can tell the user once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// Set by the environment (`MCPGW_ADMIN_TOKEN`).
    Environment,
    /// Read from an existing file.
    ExistingFile(PathBuf),
    /// Generated now and written to this file (mode 0600).
    CreatedFile(PathBuf),
}

/// Why the admin token could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AdminTokenError {
    /// The secret is too short to be safe.
    #[error("admin token must be at least {MIN_SECRET_LEN} characters")]
    TooShort,
    /// The token file could not be read or written.
    #[error("admin token file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The admin secret. Its `Debug` output never shows the secret.
#[derive(Clone)]
pub struct AdminToken {
    secret: String,
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(***)")
    }
}

impl AdminToken {
    /// Wraps a given secret.
    pub fn from_secret(secret: String) -> Result<Self, AdminTokenError> {
        let secret = secret.trim().to_owned();
        if secret.len() < MIN_SECRET_LEN {
            return Err(AdminTokenError::TooShort);
        }
        Ok(AdminToken { secret })
    }

    /// Uses `from_env` if given, else the token file in `data_dir`, creating it with a new
    /// random secret (mode 0600, written atomically) on first start.
    pub fn load_or_create(
        data_dir: &Path,
        from_env: Option<String>,
    ) -> Result<(AdminToken, TokenSource), AdminTokenError> {
        if let Some(secret) = from_env.filter(|secret| !secret.trim().is_empty()) {
            return Ok((AdminToken::from_secret(secret)?, TokenSource::Environment));
        }
        let path = data_dir.join(TOKEN_FILE);
        let io = |source| AdminTokenError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(secret) => {
                return Ok((
                    AdminToken::from_secret(secret)?,
                    TokenSource::ExistingFile(path),
                ));
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io(error)),
        }
        let token = AdminToken::generate();
        std::fs::create_dir_all(data_dir).map_err(io)?;
        write_private(&path, &token.secret).map_err(io)?;
        Ok((token, TokenSource::CreatedFile(path)))
    }

    /// A new random token: `mcpgw_` and 64 hex digits (256 bits).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        AdminToken {
            secret: format!("mcpgw_{hex}"),
        }
    }

    /// The secret itself, for the CLI that must send it.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Compares in constant time, so response timing reveals nothing about the secret.
    pub fn matches(&self, candidate: &str) -> bool {
        self.secret.as_bytes().ct_eq(candidate.as_bytes()).into()
    }

    /// Reads the token a running gateway created in `data_dir` (for the CLI).
    pub fn read_file(data_dir: &Path) -> Result<AdminToken, AdminTokenError> {
        let path = data_dir.join(TOKEN_FILE);
        let secret = std::fs::read_to_string(&path)
            .map_err(|source| AdminTokenError::Io { path, source })?;
        AdminToken::from_secret(secret)
    }

    /// Maps to the authentication error for a wrong token (used by tests and callers that
    /// check a token outside HTTP).
    pub fn verify(&self, candidate: &str) -> Result<(), AuthError> {
        if self.matches(candidate) {
            Ok(())
        } else {
            Err(AuthError::InvalidToken)
        }
    }
}

/// Writes `contents` to `path` readable only by the owner, via a temporary file and a
/// rename, so a crash never leaves a half-written token.
pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    // A leftover from a crash may have other permissions: never reuse it.
    match std::fs::remove_file(&temporary) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    // The rename itself is durable only once the directory is synced.
    if let Some(directory) = path.parent() {
        std::fs::File::open(directory)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_then_reads_back_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let (created, source) = AdminToken::load_or_create(dir.path(), None).unwrap();
        assert!(matches!(source, TokenSource::CreatedFile(_)));
        assert!(created.secret().starts_with("mcpgw_"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, source) = AdminToken::load_or_create(dir.path(), None).unwrap();
        assert!(matches!(source, TokenSource::ExistingFile(_)));
        assert!(again.matches(created.secret()));
        assert!(!again.matches("mcpgw_wrong"));
    }

    #[test]
    fn environment_wins_and_short_secrets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (token, source) =
            AdminToken::load_or_create(dir.path(), Some("from-env-secret-123".into())).unwrap();
        assert_eq!(source, TokenSource::Environment);
        assert!(token.verify("from-env-secret-123").is_ok());
        assert!(!dir.path().join(TOKEN_FILE).exists());
        assert!(matches!(
            AdminToken::from_secret("short".into()),
            Err(AdminTokenError::TooShort)
        ));
    }
}
