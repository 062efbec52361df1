//! [`FileGuard`]: the SQLite file a pool works on must still be the file at its path.
//!
//! An open SQLite connection keeps working on its file after the file was deleted or
//! moved away: every write would be acknowledged and then lost, as nobody can open that
//! file again. So before a pooled connection is handed out, the guard checks that the path
//! still names the file the pool opened. If it does not, the connection is closed; the pool
//! opens a new one at the path, which fails while nothing is there (the pool opens with
//! `mode=rw`, never creating an empty database in its place), so requests get a clear
//! error instead of a lost write. Once a file is back at the path (moved back, restored
//! from a backup), new connections open it and the gateway goes on without a restart.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What tells one file from another: device and inode, and the birth time where the
/// filesystem keeps one (an inode number is reused once its file is deleted).
type Identity = (u64, u64, Option<std::time::SystemTime>);

/// Which file the pool works on, and since when.
#[derive(Debug)]
struct Current {
    /// The file the path named when last checked.
    identity: Option<Identity>,
    /// When that file took the place of another (never, at first): connections older
    /// than this were opened on the other one.
    replaced_at: Option<Instant>,
    /// Whether the path named no file at the last check (logged once per outage, not at
    /// every connection handed out meanwhile).
    gone: bool,
}

/// Checks that a pooled connection still works on the file at the database's path.
#[derive(Debug)]
pub(crate) struct FileGuard {
    path: PathBuf,
    current: Mutex<Current>,
}

impl FileGuard {
    /// A guard for the database file at `path` (the file is recorded on the first check).
    pub(crate) fn new(path: PathBuf) -> Self {
        FileGuard {
            path,
            current: Mutex::new(Current {
                identity: None,
                replaced_at: None,
                gone: false,
            }),
        }
    }

    /// Whether a connection opened `age` ago still works on the file at the path: false
    /// when nothing is there, or when another file took its place after it was opened.
    pub(crate) fn usable(&self, age: Duration) -> bool {
        let Ok(mut current) = self.current.lock() else {
            return false;
        };
        let Ok(metadata) = std::fs::metadata(&self.path) else {
            if !current.gone {
                current.gone = true;
                tracing::error!(
                    path = %self.path.display(),
                    "the SQLite database file is gone: requests that need the database fail \
                     until it is back at its path"
                );
            }
            return false;
        };
        if current.gone {
            current.gone = false;
            tracing::warn!(path = %self.path.display(), "the SQLite database file is back");
        }
        let identity = (metadata.dev(), metadata.ino(), metadata.created().ok());
        match current.identity {
            None => {
                current.identity = Some(identity);
                true
            }
            Some(known) if known == identity => match current.replaced_at {
                None => true,
                Some(at) => Instant::now()
                    .checked_sub(age)
                    .is_some_and(|opened| opened >= at),
            },
            Some(_) => {
                tracing::warn!(
                    path = %self.path.display(),
                    "the SQLite database file was replaced: using the new one from now on"
                );
                current.identity = Some(identity);
                current.replaced_at = Some(Instant::now());
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_usable_only_on_the_file_at_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        std::fs::write(&path, b"").unwrap();
        let guard = FileGuard::new(path.clone());
        let old = Duration::from_secs(1);
        assert!(guard.usable(old), "the first check records the file");
        assert!(guard.usable(old));

        // Moved away: nothing is usable; moved back: the same file, usable again.
        let aside = dir.path().join("aside");
        std::fs::rename(&path, &aside).unwrap();
        assert!(!guard.usable(Duration::ZERO));
        std::fs::rename(&aside, &path).unwrap();
        assert!(guard.usable(old));

        // Replaced by another file (restored from a backup): connections opened before
        // are not usable, new ones are.
        let backup = dir.path().join("backup");
        std::fs::write(&backup, b"").unwrap();
        std::fs::rename(&backup, &path).unwrap();
        assert!(!guard.usable(old), "opened on the deleted file");
        assert!(!guard.usable(old));
        std::thread::sleep(Duration::from_millis(5));
        assert!(guard.usable(Duration::ZERO), "opened on the new file");
    }
}
