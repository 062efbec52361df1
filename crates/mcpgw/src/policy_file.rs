//! The scopes file on disk: read at start (a bad file stops the gateway before it
//! serves anything), read again when it changes and on SIGHUP (a bad file is logged and
//! the previous policy stays in force; open streams are never touched).

use std::path::{Path, PathBuf};

use mcpgw_policy::{Policy, PolicyError, SharedPolicy};
use tokio_util::sync::CancellationToken;

/// Reads and parses a scopes file.
pub fn load(path: &Path) -> Result<Policy, PolicyError> {
    let unreadable = |error: std::io::Error| PolicyError::Unreadable {
        path: path.display().to_string(),
        message: error.to_string(),
    };
    let size = std::fs::metadata(path).map_err(unreadable)?.len();
    if size > mcpgw_policy::MAX_POLICY_BYTES as u64 {
        return Err(PolicyError::Invalid(format!(
            "{} is {size} bytes; a scopes file may have at most {}",
            path.display(),
            mcpgw_policy::MAX_POLICY_BYTES
        )));
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    Policy::parse(&text)
}

/// The policy to start with: the file's, or "only admins" without one.
pub fn initial(path: Option<&Path>) -> anyhow::Result<SharedPolicy> {
    let Some(path) = path else {
        tracing::warn!(
            "no scopes file ([policy] scopes_file or --scopes): only admins may use the gateway"
        );
        return Ok(SharedPolicy::default());
    };
    let policy = load(path)
        .map_err(|error| anyhow::anyhow!("invalid scopes file {}: {error}", path.display()))?;
    for finding in policy.lint(None) {
        tracing::info!(file = %path.display(), "{finding}");
    }
    tracing::info!(file = %path.display(), "access policy loaded");
    Ok(SharedPolicy::new(policy))
}

/// Reloads `path` into `shared` when it changes and on SIGHUP, until `shutdown`. Without
/// a file SIGHUP is still caught (its default would stop the gateway) and only logged.
pub fn watch(
    path: Option<PathBuf>,
    shared: SharedPolicy,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    crate::file_watch::on_change(path, shutdown, move |path| match path {
        Some(path) => reload(path, &shared),
        None => tracing::info!("SIGHUP: no scopes file is configured, nothing to reload"),
    })
}

fn reload(path: &Path, shared: &SharedPolicy) {
    match load(path) {
        Ok(policy) => {
            shared.replace(policy);
            tracing::info!(file = %path.display(), "access policy reloaded");
        }
        Err(error) => tracing::error!(
            file = %path.display(),
            %error,
            "scopes file rejected; the previous policy stays in force"
        ),
    }
}
