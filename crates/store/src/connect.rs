//! Opening the database named by a URL, with the settings each backend needs.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use mcpgw_registry::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

use crate::file_guard::FileGuard;
use crate::sql_store::SqlStore;

/// Which database a URL points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (`sqlite://path/to/file.db`).
    Sqlite,
    /// A PostgreSQL server (`postgres://user:pass@host/db`).
    Postgres,
}

impl Backend {
    /// Detects the backend from the URL scheme.
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Unavailable(format!(
                "unsupported database URL '{}': use sqlite://FILE or postgres://…",
                redact(url)
            )))
        }
    }

    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// SQLite waits this long (ms) for a lock held by another connection before failing.
const SQLITE_BUSY_TIMEOUT: &str = "PRAGMA busy_timeout = 5000";
/// How long a query waits for a pooled connection: when the database is away, a request
/// fails (503) after this long instead of hanging; a healthy pool hands one out at once.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the database at `url`, creating an SQLite file (and its directory) if needed,
/// and runs pending migrations.
pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of_url(url)?;
    let (url, guard) = match backend {
        Backend::Sqlite => {
            let (url, file) = prepare_sqlite_url(url)?;
            (url, file.map(|file| Arc::new(FileGuard::new(file))))
        }
        Backend::Postgres => (url.to_owned(), None),
    };
    let checked = guard.clone();
    let options = AnyConnectOptions::from_str(&url).map_err(|error| {
        StoreError::Unavailable(format!("invalid database URL '{}': {error}", redact(&url)))
    })?;
    let pool = AnyPoolOptions::new()
        .max_connections(match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 10,
        })
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A connection is not used again, but closed (which rolls back whatever it still
        // holds), when a failed commit or rollback left it inside a transaction: every
        // later statement on it would run in that transaction, acknowledged and never
        // committed (seen with SQLite after a full disk). Nor is an SQLite connection whose
        // file is no longer at the path (see `file_guard`): its writes would be lost too.
        .before_acquire(move |connection, meta| {
            let usable = !connection.is_in_transaction()
                && checked.as_ref().is_none_or(|guard| guard.usable(meta.age));
            Box::pin(async move { Ok(usable) })
        })
        .after_connect(move |connection, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers run during a write; FULL sync makes every commit
                    // durable against power loss too (registry writes are rare, so the
                    // fsync costs nothing that matters); the busy timeout turns lock
                    // contention between pooled connections into waiting, not errors.
                    connection.execute("PRAGMA journal_mode = WAL").await?;
                    connection.execute("PRAGMA synchronous = FULL").await?;
                    // Deleted and rewritten content is overwritten, not left in free
                    // space: a secret sealed in place leaves no plaintext in the file.
                    connection.execute("PRAGMA secure_delete = ON").await?;
                    connection.execute(SQLITE_BUSY_TIMEOUT).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|error| {
            StoreError::Unavailable(format!("cannot open {} database: {error}", backend.name()))
        })?;
    migrate(&pool).await?;
    if let Some(guard) = &guard {
        // Records the file the database was opened on.
        guard.usable(Duration::ZERO);
    }
    Ok(SqlStore::new(pool, backend))
}

async fn migrate(pool: &AnyPool) -> Result<(), StoreError> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .map_err(|error| StoreError::Migration(error.to_string()))
}

/// Makes sure the SQLite file and its directory exist, and has sqlx open it without
/// creating it (`mode=rw`, unless the URL sets a mode): a connection opened after the file
/// was deleted fails instead of starting an empty database in its place. Returns the URL
/// and, when the file is created here, its path (for the [`FileGuard`]).
fn prepare_sqlite_url(url: &str) -> Result<(String, Option<PathBuf>), StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (file, query) = rest.split_once('?').unwrap_or((rest, ""));
    if file.is_empty() || file == ":memory:" {
        return Err(StoreError::Unavailable(
            "an SQLite database URL must name a file (sqlite://./mcpgw-data/mcpgw.db)".into(),
        ));
    }
    if let Some(parent) = std::path::Path::new(file).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|error| {
            StoreError::Unavailable(format!("cannot create {}: {error}", parent.display()))
        })?;
    }
    if query.split('&').any(|pair| pair.starts_with("mode=")) {
        return Ok((format!("sqlite://{file}?{query}"), None));
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(|error| StoreError::Unavailable(format!("cannot create {file}: {error}")))?;
    let query = if query.is_empty() {
        "mode=rw".to_owned()
    } else {
        format!("{query}&mode=rw")
    };
    Ok((
        format!("sqlite://{file}?{query}"),
        Some(PathBuf::from(file)),
    ))
}

/// Hides the password of a database URL for error messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_created_first_and_then_only_opened() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/db.sqlite");
        let url = format!("sqlite://{}", file.display());
        let (prepared, guarded) = prepare_sqlite_url(&url).unwrap();
        assert_eq!(prepared, format!("{url}?mode=rw"));
        assert_eq!(guarded.as_deref(), Some(file.as_path()));
        assert!(file.is_file());
        let (own, guarded) = prepare_sqlite_url(&format!("{url}?mode=ro")).unwrap();
        assert_eq!(own, format!("{url}?mode=ro"));
        assert!(guarded.is_none());
        assert!(prepare_sqlite_url("sqlite://:memory:").is_err());
    }

    #[tokio::test]
    async fn a_connection_left_inside_a_transaction_is_not_used_again() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
        let store = connect(&url).await.unwrap();
        let pool = store.pool_for_tests();
        let mut connection = pool.acquire().await.unwrap();
        // As if its commit and then its rollback had failed: still inside.
        std::mem::forget(connection.begin().await.unwrap());
        assert!(connection.is_in_transaction());
        drop(connection);
        for _ in 0..8 {
            let connection = pool.acquire().await.unwrap();
            assert!(!connection.is_in_transaction());
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert!(Backend::of_url("mysql://x").is_err());
    }
}
