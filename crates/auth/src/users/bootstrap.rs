//! The first admin: when a deployment has no local user yet, the gateway creates `admin`,
//! so that someone can sign in to the web UI before any identity provider is configured.
//!
//! Its password is `MCPGW_ADMIN_PASSWORD` when set, else a new random one written once to
//! `<data_dir>/admin-password` (mode 0600). It is deliberately not the admin token: a
//! leaked token, once replaced, must not keep working as a password. Once any user exists
//! nothing is created again, so deleting `admin` after creating other users sticks.

use std::path::{Path, PathBuf};

use super::{NewUser, UserError, UserService};
use crate::admin_token::write_private;
use crate::session::random_token;

/// File name of the generated password inside the data directory.
pub const PASSWORD_FILE: &str = "admin-password";

/// What [`UserService::bootstrap_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrapped {
    /// Users exist already: nothing.
    NotNeeded,
    /// Created `admin` with the password from the environment.
    FromEnvironment,
    /// Created `admin` with a new password, written to this file.
    PasswordFile(PathBuf),
}

impl UserService {
    /// Creates the first admin if there is no user at all (see the module docs).
    pub async fn bootstrap_admin(
        &self,
        data_dir: &Path,
        from_env: Option<String>,
        now: i64,
    ) -> Result<Bootstrapped, UserError> {
        if !self.list().await?.is_empty() {
            return Ok(Bootstrapped::NotNeeded);
        }
        let (password, outcome) = match from_env.filter(|password| !password.is_empty()) {
            Some(password) => (password, Bootstrapped::FromEnvironment),
            None => {
                let password = random_token();
                let path = data_dir.join(PASSWORD_FILE);
                write_private(&path, &password).map_err(|source| UserError::File {
                    path: path.clone(),
                    source,
                })?;
                (password, Bootstrapped::PasswordFile(path))
            }
        };
        let admin = NewUser {
            username: super::BOOTSTRAP_ADMIN.to_owned(),
            password,
            groups: Vec::new(),
            admin: true,
        };
        match self.create(admin, now).await {
            Ok(_) => Ok(outcome),
            // Another replica created it first; its password is the one in force.
            Err(UserError::Exists(_)) => {
                if let Bootstrapped::PasswordFile(path) = &outcome {
                    let _ = std::fs::remove_file(path);
                }
                Ok(Bootstrapped::NotNeeded)
            }
            Err(error) => Err(error),
        }
    }
}
