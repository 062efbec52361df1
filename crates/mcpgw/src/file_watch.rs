//! Files the gateway reads again while it serves (the scopes file, the config file): each
//! is looked at every second, and read again when it changed or on SIGHUP. Every replica
//! watches its own copy (in Kubernetes, the same ConfigMap mounted in each pod).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

/// How often a file is looked at for changes.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

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

/// Calls `reload` with `path` when the file changes and on SIGHUP, until `shutdown`.
/// Without a file, SIGHUP is still caught (its default would stop the gateway) and
/// `reload(None)` says so.
pub fn on_change(
    path: Option<PathBuf>,
    shutdown: CancellationToken,
    reload: impl Fn(Option<&Path>) + Send + 'static,
) -> anyhow::Result<()> {
    on_change_any(path.into_iter().collect(), shutdown, reload)
}

/// Calls `reload` when any of `paths` changes (with the first that changed) and on SIGHUP
/// (with the first path), until `shutdown`; `reload(None)` on SIGHUP when there is no path.
/// One call for files read together (a certificate and its key), so that a renewal
/// rewriting both is read once they are both in place, not twice.
pub fn on_change_any(
    paths: Vec<PathBuf>,
    shutdown: CancellationToken,
    reload: impl Fn(Option<&Path>) + Send + 'static,
) -> anyhow::Result<()> {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|error| anyhow::anyhow!("cannot watch SIGHUP: {error}"))?;
    tokio::spawn(async move {
        let mut seen: Vec<Option<Fingerprint>> =
            paths.iter().map(|path| fingerprint(path)).collect();
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
            let now: Vec<Option<Fingerprint>> =
                paths.iter().map(|path| fingerprint(path)).collect();
            let changed = paths
                .iter()
                .zip(now.iter().zip(&seen))
                .find(|(_, (now, seen))| now != seen)
                .map(|(path, _)| path);
            let Some(path) = changed.or(if signalled { paths.first() } else { None }) else {
                if signalled {
                    reload(None);
                }
                continue;
            };
            seen = now;
            reload(Some(path));
        }
    });
    Ok(())
}
