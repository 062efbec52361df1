//! The environment a stdio server starts with.
//!
//! The gateway's own environment holds its secrets (`MCPGW_ADMIN_TOKEN`, a
//! `MCPGW_DATABASE_URL` with a password, cloud credentials …). A registered command is
//! third-party code whose stderr even ends up in health reasons, so it gets only what a
//! program needs to run (where things are, who it runs as, locale, time zone, proxies and
//! CA certificates) plus the variables registered for it.

use std::ffi::{OsStr, OsString};

/// Variables passed through from the gateway's environment, besides `LC_*`.
const INHERITED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "TZ",
    "TMPDIR",
    "TERM",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// True for a variable of the gateway's environment that a stdio server may see.
pub(crate) fn is_inherited(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    INHERITED.contains(&name) || name.starts_with("LC_")
}

/// The part of the gateway's environment a stdio server inherits; the server's configured
/// variables are applied after these and win.
pub fn inherited() -> impl Iterator<Item = (OsString, OsString)> {
    std::env::vars_os().filter(|(name, _)| is_inherited(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_allowlist_is_inherited() {
        for name in [
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "LC_CTYPE",
            "https_proxy",
            "TZ",
        ] {
            assert!(is_inherited(OsStr::new(name)), "{name}");
        }
        for name in [
            "MCPGW_ADMIN_TOKEN",
            "MCPGW_DATABASE_URL",
            "AWS_SECRET_ACCESS_KEY",
            "LD_PRELOAD",
            "PATHX",
            "path",
        ] {
            assert!(!is_inherited(OsStr::new(name)), "{name}");
        }
    }
}
