//! The scopes file on disk: read at start (a bad file stops the gateway before it
//! serves anything), read again when it changes and on SIGHUP (a bad file is logged and
//! the previous policy stays in force; open streams are never touched).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use mcpgw_policy::{Policy, PolicyError, SharedPolicy};
use tokio_util::sync::CancellationToken;

/// How often the file is looked at for changes.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

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

/// What identifies one version of the file without reading it: a rewrite in place
/// changes the time or the length, an atomic replacement (editors, Kubernetes config
/// maps) changes the inode.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    modified: Option<SystemTime>,
    length: u64,
    inode: u64,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Fingerprint {
        modified: metadata.modified().ok(),
        length: metadata.len(),
        inode,
    })
}

/// Reloads `path` into `shared` when it changes and on SIGHUP, until `shutdown`. Without
/// a file SIGHUP is still caught (its default would stop the gateway) and only logged.
pub fn watch(
    path: Option<PathBuf>,
    shared: SharedPolicy,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|error| anyhow::anyhow!("cannot watch SIGHUP: {error}"))?;
    tokio::spawn(async move {
        let mut seen = path.as_deref().and_then(fingerprint);
        let mut ticks = tokio::time::interval(POLL_INTERVAL);
        loop {
            #[cfg(unix)]
            let signalled = tokio::select! {
                _ = ticks.tick() => false,
                _ = hangup.recv() => true,
                () = shutdown.cancelled() => return,
            };
            #[cfg(not(unix))]
            let signalled = tokio::select! {
                _ = ticks.tick() => false,
                () = shutdown.cancelled() => return,
            };
            let Some(path) = &path else {
                if signalled {
                    tracing::info!("SIGHUP: no scopes file is configured, nothing to reload");
                }
                continue;
            };
            let now = fingerprint(path);
            if !signalled && now == seen {
                continue;
            }
            seen = now;
            reload(path, &shared);
        }
    });
    Ok(())
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
