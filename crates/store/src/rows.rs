//! Mapping between `servers` rows and the domain [`Server`].

use chrono::{DateTime, TimeZone, Utc};
use mcpgw_registry::{Health, HealthState, Server, StoreError, Transport};
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::secrets::{ENV, HEADERS, Secrets};

/// The columns of a [`Server`] row, as a literal so queries stay `&'static str` (sqlx
/// refuses SQL built at run time, a guard against injection).
macro_rules! server_columns {
    () => {
        "path, name, description, transport, url, command, args_json, env_json, headers_json, \
         tags_json, license, version, enabled, created_at, updated_at, health_status, \
         health_reason, health_checked_at, protocol_era, protocol_version, server_info_json, \
         tools_json, tools_updated_at, revision, eager, egress_json"
    };
}
pub(crate) use server_columns;

/// Error codes meaning the database's disk is full: SQLite's `SQLITE_FULL`, PostgreSQL's
/// `disk_full` (SQLSTATE 53100).
const DISK_FULL: [&str; 2] = ["13", "53100"];
/// SQLite's `SQLITE_CANTOPEN`: the file is not there (or not accessible) any more.
const CANNOT_OPEN: &str = "14";
/// SQLite's `SQLITE_BUSY` and `SQLITE_LOCKED`: another connection or process held a lock
/// for longer than the busy timeout.
const LOCKED: [&str; 2] = ["5", "6"];

/// A database error as the registry's stores report it: the database refused or could
/// not be reached (disk full, connection lost …). A full disk and a database file that
/// cannot be opened are said in plain words.
pub(crate) fn unavailable(error: sqlx::Error) -> StoreError {
    let code = match &error {
        sqlx::Error::Database(database) => database.code().map(|code| primary_code(&code)),
        _ => None,
    };
    match code.as_deref() {
        Some(code) if DISK_FULL.contains(&code) => StoreError::Full,
        Some(CANNOT_OPEN) => StoreError::Unavailable(
            "the database file cannot be opened: it was deleted or moved away, or its \
             directory is not accessible"
                .into(),
        ),
        Some(code) if LOCKED.contains(&code) => StoreError::Unavailable(
            "the database is locked by another process or connection; try again shortly".into(),
        ),
        _ => StoreError::Unavailable(error.to_string()),
    }
}

/// SQLite reports extended codes (`SQLITE_BUSY_TIMEOUT` is 773, `SQLITE_BUSY` 5): the
/// primary code is their low byte. PostgreSQL's SQLSTATEs (always five characters) are
/// kept as they are.
fn primary_code(code: &str) -> String {
    match code.parse::<u32>() {
        Ok(number) if code.len() < 5 => (number & 0xff).to_string(),
        _ => code.to_owned(),
    }
}

/// Milliseconds since the Unix epoch.
pub fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn time(ms: i64, column: &str) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("{column} = {ms} is not a time")))
}

/// Serialises a value for a JSON text column.
pub fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Corrupt(error.to_string()))
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str, column: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column)
        .map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

/// Decodes one `servers` row selected with `server_columns!()`.
pub fn server_from_row(row: &AnyRow, secrets: &Secrets) -> Result<Server, StoreError> {
    let transport: String = get(row, "transport")?;
    let health_status: String = get(row, "health_status")?;
    let server_info: Option<String> = get(row, "server_info_json")?;
    let checked_at: Option<i64> = get(row, "health_checked_at")?;
    let tools_updated_at: Option<i64> = get(row, "tools_updated_at")?;
    Ok(Server {
        path: get(row, "path")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        transport: Transport::parse(&transport)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown transport '{transport}'")))?,
        url: secrets.open_url(get(row, "url")?)?,
        command: get(row, "command")?,
        args: from_json(&get::<String>(row, "args_json")?, "args_json")?,
        env: secrets.open_map(
            ENV,
            from_json(&get::<String>(row, "env_json")?, "env_json")?,
        )?,
        headers: secrets.open_map(
            HEADERS,
            from_json(&get::<String>(row, "headers_json")?, "headers_json")?,
        )?,
        tags: from_json(&get::<String>(row, "tags_json")?, "tags_json")?,
        license: get(row, "license")?,
        version: get(row, "version")?,
        enabled: get::<i64>(row, "enabled")? != 0,
        eager: get::<i64>(row, "eager")? != 0,
        egress: secrets.open_egress(from_json(
            &get::<String>(row, "egress_json")?,
            "egress_json",
        )?)?,
        created_at: time(get(row, "created_at")?, "created_at")?,
        updated_at: time(get(row, "updated_at")?, "updated_at")?,
        health: Health {
            status: HealthState::parse(&health_status).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown health status '{health_status}'"))
            })?,
            reason: get(row, "health_reason")?,
            last_checked: checked_at
                .map(|ms| time(ms, "health_checked_at"))
                .transpose()?,
            era: get(row, "protocol_era")?,
            protocol_version: get(row, "protocol_version")?,
        },
        server_info: server_info
            .map(|text| from_json(&text, "server_info_json"))
            .transpose()?,
        tools: from_json(&get::<String>(row, "tools_json")?, "tools_json")?,
        tools_updated_at: tools_updated_at
            .map(|ms| time(ms, "tools_updated_at"))
            .transpose()?,
        revision: get(row, "revision")?,
    })
}

#[cfg(test)]
mod tests {
    use sqlx::Executor;
    use sqlx::any::AnyPoolOptions;

    use super::*;

    #[test]
    fn extended_sqlite_codes_are_read_by_their_primary_code() {
        assert_eq!(
            primary_code("773"),
            "5",
            "SQLITE_BUSY_TIMEOUT is SQLITE_BUSY"
        );
        assert_eq!(primary_code("517"), "5", "SQLITE_BUSY_SNAPSHOT");
        assert_eq!(primary_code("13"), "13");
        assert_eq!(
            primary_code("53100"),
            "53100",
            "a PostgreSQL SQLSTATE stays"
        );
        assert_eq!(primary_code("40P01"), "40P01");
    }

    /// A real `SQLITE_FULL`: a database that may not grow past a few pages.
    #[tokio::test]
    async fn a_full_disk_is_said_in_plain_words() {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        pool.execute("CREATE TABLE t (b BLOB)").await.unwrap();
        pool.execute("PRAGMA max_page_count = 4").await.unwrap();
        let error = pool
            .execute("INSERT INTO t VALUES (zeroblob(1000000))")
            .await
            .unwrap_err();
        let mapped = unavailable(error);
        assert!(matches!(mapped, StoreError::Full), "{mapped:?}");
        assert_eq!(
            mapped.kind(),
            mcpgw_registry::ErrorKind::InsufficientStorage
        );
        assert!(mapped.to_string().contains("disk is full"), "{mapped}");

        let locked = unavailable(sqlx::Error::PoolTimedOut);
        assert!(matches!(locked, StoreError::Unavailable(_)), "{locked:?}");
    }
}
