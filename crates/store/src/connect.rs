//! Opening the database named by a URL, with the settings each backend needs.

use std::str::FromStr;
use std::time::Duration;

use mcpgw_registry::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

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
    let url = match backend {
        Backend::Sqlite => prepare_sqlite_url(url)?,
        Backend::Postgres => url.to_owned(),
    };
    let options = AnyConnectOptions::from_str(&url).map_err(|error| {
        StoreError::Unavailable(format!("invalid database URL '{}': {error}", redact(&url)))
    })?;
    let pool = AnyPoolOptions::new()
        .max_connections(match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 10,
        })
        .acquire_timeout(ACQUIRE_TIMEOUT)
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
    Ok(SqlStore::new(pool, backend))
}

async fn migrate(pool: &AnyPool) -> Result<(), StoreError> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .map_err(|error| StoreError::Migration(error.to_string()))
}

/// Makes sure the SQLite file's directory exists and that sqlx creates the file.
fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
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
    let query = if query.split('&').any(|pair| pair.starts_with("mode=")) {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{file}?{query}"))
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
    fn sqlite_urls_get_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/db.sqlite");
        let url = format!("sqlite://{}", file.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(file.parent().unwrap().is_dir());
        assert!(prepare_sqlite_url("sqlite://:memory:").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert!(Backend::of_url("mysql://x").is_err());
    }
}
