//! Sealing the secret columns ([`mcpgw_auth::sealing`]): header and environment values of
//! servers, a URL's password, a peer registry's token. Names (header and variable names)
//! stay readable, so that people and queries can still see which secrets a server has.
//!
//! A store without a keyring (tests of the store itself) writes plaintext; values it reads
//! are opened when sealed, and a sealed value without a keyring is an error, never passed
//! on as if it were the secret.

use std::collections::BTreeMap;
use std::sync::Arc;

use mcpgw_auth::sealing::{Keyring, SealingError};
use mcpgw_registry::{Egress, StoreError};

/// What the store seals with, if anything.
#[derive(Debug, Clone, Default)]
pub struct Secrets(Option<Arc<Keyring>>);

/// The prefix of a sealed value (as [`Keyring::seal`] writes it).
const SEALED: &str = "enc:v1:";

impl Secrets {
    /// Sealing with `keyring`.
    pub fn with(keyring: Arc<Keyring>) -> Secrets {
        Secrets(Some(keyring))
    }

    /// `value` as stored: sealed for `context` when there is a keyring.
    pub fn seal(&self, context: &str, value: &str) -> Result<String, StoreError> {
        match &self.0 {
            Some(keyring) => keyring.seal(context, value).map_err(failed),
            None => Ok(value.to_owned()),
        }
    }

    /// The plaintext of a stored `value`.
    pub fn open(&self, context: &str, value: &str) -> Result<String, StoreError> {
        match &self.0 {
            Some(keyring) => keyring.open(context, value).map_err(failed),
            None if value.starts_with(SEALED) => Err(StoreError::Corrupt(format!(
                "{context} holds a sealed secret and no key is configured"
            ))),
            None => Ok(value.to_owned()),
        }
    }

    /// Every value of `map` sealed (names stay readable).
    pub fn seal_map(
        &self,
        context: &str,
        map: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        map.iter()
            .map(|(name, value)| Ok((name.clone(), self.seal(context, value)?)))
            .collect()
    }

    /// Every value of `map` opened.
    pub fn open_map(
        &self,
        context: &str,
        map: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        map.into_iter()
            .map(|(name, value)| Ok((name, self.open(context, &value)?)))
            .collect()
    }

    /// A URL as stored: sealed whole when it carries a password (`https://user:pw@…`),
    /// else as it is, so that plain addresses stay readable in the database.
    pub fn seal_url(&self, url: Option<&str>) -> Result<Option<String>, StoreError> {
        url.map(|url| {
            let has_password = url::Url::parse(url).is_ok_and(|parsed| parsed.password().is_some());
            if has_password {
                self.seal(URL, url)
            } else {
                Ok(url.to_owned())
            }
        })
        .transpose()
    }

    /// The stored URL opened.
    pub fn open_url(&self, url: Option<String>) -> Result<Option<String>, StoreError> {
        url.map(|url| self.open(URL, &url)).transpose()
    }

    /// `egress` as stored: its client secret sealed.
    pub fn seal_egress(&self, egress: &Egress) -> Result<Egress, StoreError> {
        map_client_secret(egress.clone(), |secret| self.seal(EGRESS, secret))
    }

    /// A stored egress opened.
    pub fn open_egress(&self, egress: Egress) -> Result<Egress, StoreError> {
        map_client_secret(egress, |secret| self.open(EGRESS, secret))
    }

    /// A `stored` value for `context` opened and sealed again with the active key.
    pub fn reseal(&self, context: &str, stored: &str) -> Result<String, StoreError> {
        self.seal(context, &self.open(context, stored)?)
    }

    /// Whether `stored` should be sealed again (plaintext, or sealed with an older key).
    pub fn needs_sealing(&self, stored: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|keyring| keyring.needs_sealing(stored))
    }
}

/// The contexts secrets are sealed for.
pub const HEADERS: &str = "servers.headers";
/// See [`HEADERS`].
pub const ENV: &str = "servers.env";
/// See [`HEADERS`].
pub const URL: &str = "servers.url";
/// See [`HEADERS`].
pub const SOURCE_TOKEN: &str = "registry_sources.token";
/// See [`HEADERS`].
pub const EGRESS: &str = "servers.egress";

/// The context a user's connection token is sealed for: bound to its column and row, so
/// that a sealed token copied to another user's row does not open.
pub fn connection_context(column: &str, owner: &str, server: &str) -> String {
    format!("egress_connections.{column}\n{owner}\n{server}")
}

/// `egress` with `change` applied to its client secret, if it has one.
fn map_client_secret(
    mut egress: Egress,
    change: impl FnOnce(&str) -> Result<String, StoreError>,
) -> Result<Egress, StoreError> {
    if let Some(secret) = egress.client_secret_mut() {
        *secret = change(secret)?;
    }
    Ok(egress)
}

fn failed(error: SealingError) -> StoreError {
    StoreError::Corrupt(error.to_string())
}
