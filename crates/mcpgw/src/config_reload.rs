//! The config file read again while the gateway serves, when it changes and on SIGHUP,
//! on every replica (each watches its own copy, e.g. the same ConfigMap in every pod).
//!
//! What can change without a restart is applied at once: the trusted token issuers and
//! their settings (`[[auth.issuers]]`, `leeway_secs`, `key_refresh_min_secs`) and the
//! anonymous group. Everything else (listen address, database, data directory, timeouts,
//! providers …) is named in a warning: it takes effect at the next restart. A file that
//! does not parse, or issuers that are invalid, are logged and change nothing.

use std::sync::Arc;

use mcpgw_auth::Authenticator;
use mcpgw_auth::jwt::JwtVerifier;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::config::{self, Settings};

/// Watches `args`' config file (if any) and applies what can change to `auth`.
pub fn watch(
    args: ServeArgs,
    started_with: Settings,
    auth: Arc<Authenticator>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Some(path) = args.config.clone() else {
        return Ok(());
    };
    let applied = std::sync::Mutex::new(started_with);
    crate::file_watch::on_change(Some(path), shutdown, move |path| {
        let Some(path) = path else { return };
        let next = match config::resolve(&args) {
            Ok(next) => next,
            Err(error) => {
                tracing::error!(file = %path.display(), error = %format!("{error:#}"),
                    "config file rejected; the running configuration stays in force");
                return;
            }
        };
        let Ok(mut applied) = applied.lock() else {
            return;
        };
        if apply(&applied, &next, &auth) {
            *applied = next;
        }
    })
}

/// Applies what changed from `current` to `next` that can change while serving, and warns
/// about the rest; `false` if `next` was refused.
fn apply(current: &Settings, next: &Settings, auth: &Authenticator) -> bool {
    let auth_changed = current.issuers != next.issuers
        || format!("{:?}", current.jwt) != format!("{:?}", next.jwt)
        || current.anonymous_group != next.anonymous_group;
    if auth_changed {
        let verifier = if next.issuers.is_empty() {
            None
        } else {
            match JwtVerifier::new(next.issuers.clone(), &next.jwt) {
                Ok(verifier) => Some(verifier),
                Err(error) => {
                    tracing::error!(%error, "[auth] issuers rejected; the running ones stay in force");
                    return false;
                }
            }
        };
        auth.reconfigure(verifier, next.anonymous_group.clone());
        let issuers: Vec<&str> = next.issuers.iter().map(|i| i.issuer.as_str()).collect();
        tracing::info!(?issuers, anonymous_group = ?next.anonymous_group,
            "configuration reloaded: trusted issuers and anonymous access");
    }
    let later = needs_restart(current, next);
    if !later.is_empty() {
        tracing::warn!(settings = ?later,
            "configuration changed where a reload cannot apply it: restart to use it");
    }
    true
}

/// The settings that differ between `current` and `next` and only take effect at start.
fn needs_restart(current: &Settings, next: &Settings) -> Vec<&'static str> {
    // Compared through their debug form: several setting types have no equality, and a
    // difference in any field is what matters (nothing here is logged but the names).
    macro_rules! changed {
        ($($field:ident),* $(,)?) => {{
            let mut names = Vec::new();
            $(
                if format!("{:?}", current.$field) != format!("{:?}", next.$field) {
                    names.push(stringify!($field));
                }
            )*
            names
        }};
    }
    changed!(
        listen,
        data_dir,
        database_url,
        public_url,
        health,
        gateway,
        max_token_lifetime,
        session_ttl,
        max_tokens_per_owner,
        oidc_login,
        egress_providers,
        egress_refresh_buffer,
        egress_refresh_interval,
        io_threads,
        scopes_file,
        audit_retention_days,
        tool_separator,
        model_dir,
        metrics_listen,
        metrics_retention_days,
        analytics,
        registry_api,
        cluster,
    )
}
