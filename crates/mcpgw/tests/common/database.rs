//! The database a test gateway runs on: by default its own default, SQLite in its data
//! directory; in the test script's second pass (`MCPGW_TEST_DATABASE=postgres`) a
//! PostgreSQL database per data directory on the test server (`MCPGW_TEST_POSTGRES_URL`),
//! so that the whole integration suite runs on both backends. Databases whose data
//! directory is gone are dropped by the next test process.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

/// The test PostgreSQL server's URL when this pass runs gateways on PostgreSQL, read once:
/// `None` on SQLite. `MCPGW_TEST_DATABASE=postgres` without a server is an error under
/// `CI` (so the PostgreSQL pass can never quietly run on SQLite there) and a note locally.
fn server() -> Option<&'static str> {
    static SERVER: OnceLock<Option<String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            match std::env::var("MCPGW_TEST_DATABASE").as_deref() {
                Err(_) | Ok("" | "sqlite") => return None,
                Ok("postgres") => {}
                Ok(other) => panic!("MCPGW_TEST_DATABASE={other}: use sqlite or postgres"),
            }
            let url = std::env::var("MCPGW_TEST_POSTGRES_URL")
                .ok()
                .filter(|url| url.starts_with("postgres"));
            if url.is_none() {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "MCPGW_TEST_DATABASE=postgres needs MCPGW_TEST_POSTGRES_URL in CI"
                );
                eprintln!(
                    "MCPGW_TEST_DATABASE=postgres without MCPGW_TEST_POSTGRES_URL: gateways \
                     run on SQLite (run scripts/test)"
                );
            }
            url
        })
        .as_deref()
}

/// What `/health` reports as `database` for a gateway started on this pass's database:
/// `postgres` or `sqlite`.
pub fn backend() -> &'static str {
    if server().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// The databases this process created or found for data directories: a restart runs no
/// psql, and [`dump`] reads only databases that gateways of this test were given.
static KNOWN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The name of `data_dir`'s PostgreSQL database and its canonical path (created if
/// missing): `mcpgw_t_` and 64 bits of FNV-1a (a hash that is the same in every process)
/// of that path, so that a gateway restarted on the same data directory finds its data again.
fn database_of(data_dir: &Path) -> (String, PathBuf) {
    std::fs::create_dir_all(data_dir).unwrap();
    let path = std::fs::canonicalize(data_dir).unwrap();
    let hash = path
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    (format!("mcpgw_t_{hash:016x}"), path)
}

/// In the PostgreSQL pass, the URL of `data_dir`'s own database on the test server,
/// created the first time it is asked for (by this process or an earlier one: "already
/// exists" is fine) and labelled with the directory (a comment) for [`drop_finished`];
/// `None` on SQLite.
pub async fn postgres_for(data_dir: &Path) -> Option<String> {
    let server = server()?;
    drop_finished(server).await;
    let (name, path) = database_of(data_dir);
    let first_use = KNOWN.lock().unwrap().insert(name.clone());
    if first_use {
        let label = path.display().to_string().replace('\'', "''");
        let output = tokio::process::Command::new("psql")
            .args([server, "-q", "-v", "ON_ERROR_STOP=1"])
            .args(["-c", &format!("CREATE DATABASE {name}")])
            .args(["-c", &format!("COMMENT ON DATABASE {name} IS '{label}'")])
            .output()
            .await
            .expect("psql is installed with PostgreSQL");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() || stderr.contains("already exists"),
            "CREATE DATABASE {name}: {stderr}"
        );
    }
    let mut url = url::Url::parse(server).unwrap();
    url.set_path(&name);
    Some(url.to_string())
}

/// Drops the databases whose data directories are gone (their tests are over), once per
/// test process: each holds about 8 MB of catalogue and a pass starts hundreds of
/// gateways, which filled the disk. A database not labelled yet is left alone; a drop
/// that fails (another process dropped it first) is left to the next one.
async fn drop_finished(server: &str) {
    static STARTED: AtomicBool = AtomicBool::new(false);
    if STARTED.swap(true, Ordering::Relaxed) {
        return;
    }
    let labelled = "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database \
                    WHERE datname LIKE 'mcpgw\\_t\\_%'";
    let listed = super::replicas::psql(server, labelled).await;
    let drops = listed
        .lines()
        .filter_map(|line| line.split_once('|'))
        .filter(|(_, dir)| !dir.is_empty() && !Path::new(dir).exists())
        .flat_map(|(name, _)| {
            [
                "-c".into(),
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ]
        })
        .collect::<Vec<String>>();
    if !drops.is_empty() {
        let mut command = tokio::process::Command::new("psql");
        let _ = command.args([server, "-q"]).args(drops).output().await;
    }
}

/// The URL of the database a gateway on `data_dir` uses by default in this pass, for tests
/// that write into it while no gateway runs.
pub async fn url_for(data_dir: &Path) -> String {
    match postgres_for(data_dir).await {
        Some(url) => url,
        None => format!("sqlite://{}", data_dir.join("mcpgw.db").display()),
    }
}

/// In the PostgreSQL pass, the rows of `data_dir`'s database as `pg_dump` prints them (text
/// columns verbatim), for tests that look for what must not be stored; nothing on SQLite,
/// where the database is a file in the data directory, nor when the gateways on
/// `data_dir` were given a database of their own.
pub fn dump(data_dir: &Path) -> Vec<u8> {
    let Some(server) = server() else {
        return Vec::new();
    };
    let name = database_of(data_dir).0;
    if !KNOWN.lock().unwrap().contains(&name) {
        return Vec::new();
    }
    let mut url = url::Url::parse(server).unwrap();
    url.set_path(&name);
    let output = std::process::Command::new("pg_dump")
        .args(["--data-only", url.as_str()])
        .output()
        .expect("pg_dump is installed with PostgreSQL");
    assert!(
        output.status.success(),
        "pg_dump {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
