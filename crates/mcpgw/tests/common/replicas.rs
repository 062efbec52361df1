//! Several gateway replicas sharing one PostgreSQL database, as a deployment runs them:
//! one database URL, one secrets key, one admin token, a data directory each.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::{Gateway, Launch};

/// The first web-UI admin's password, the same on every replica.
pub const ADMIN_PASSWORD: &str = "replicas-admin-password";

/// The secrets key every replica shares (`MCPGW_SECRET_KEY`, 32 bytes of base64).
pub const SECRET_KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

/// A fresh database on the test PostgreSQL server, or `None` locally without one (under
/// CI its absence is an error, so these tests cannot be skipped silently there).
pub async fn fresh_database() -> Option<String> {
    let admin = super::test_dependency(
        "MCPGW_TEST_POSTGRES_URL",
        |url| url.starts_with("postgres"),
        "a PostgreSQL server (run scripts/test)",
    )?;
    let name = format!("mcpgw_it_{}", uuid::Uuid::new_v4().simple());
    psql(&admin, &format!("CREATE DATABASE {name}")).await;
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&name);
    Some(url.to_string())
}

/// Runs `sql` with psql at `database_url`; returns what it printed (unaligned, tuples only).
pub async fn psql(database_url: &str, sql: &str) -> String {
    let output = tokio::process::Command::new("psql")
        .args([database_url, "-q", "-tA", "-c", sql])
        .output()
        .await
        .expect("psql is installed with PostgreSQL");
    assert!(
        output.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Replicas of one deployment.
pub struct Replicas {
    /// The running replicas (`None` once stopped or killed).
    pub gateways: Vec<Option<Gateway>>,
    /// The shared database.
    pub database_url: String,
    dir: tempfile::TempDir,
}

impl Replicas {
    /// Starts `count` replicas on `database_url` at the same time (as a deployment's pods
    /// start: the first start's migrations, first signing key and first admin race), each
    /// launched as `launch` adapts it.
    pub async fn start(
        count: usize,
        database_url: &str,
        launch: impl Fn(Launch) -> Launch,
    ) -> Replicas {
        let dir = tempfile::tempdir().unwrap();
        let mut replicas = Replicas {
            gateways: Vec::new(),
            database_url: database_url.to_owned(),
            dir,
        };
        let started =
            futures::future::join_all((0..count).map(|index| replicas.launch(index, &launch)))
                .await;
        replicas.gateways = started.into_iter().map(Some).collect();
        replicas
    }

    /// Starts replica `index` (again) with its own data directory.
    pub async fn launch(&self, index: usize, launch: &impl Fn(Launch) -> Launch) -> Gateway {
        let data = self.data_dir(index);
        launch(
            Launch::new(&data)
                .env("MCPGW_DATABASE_URL", &self.database_url)
                .env("MCPGW_SECRET_KEY", SECRET_KEY)
                .env("MCPGW_ADMIN_PASSWORD", ADMIN_PASSWORD),
        )
        .start()
        .await
    }

    /// Replica `index`'s data directory.
    pub fn data_dir(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("replica-{index}"))
    }

    /// Replica `index` (panics if it was stopped).
    pub fn at(&self, index: usize) -> &Gateway {
        self.gateways[index].as_ref().expect("replica running")
    }

    /// The base URLs of every replica, in order (for a balancer).
    pub fn urls(&self) -> Vec<String> {
        self.gateways
            .iter()
            .map(|gateway| gateway.as_ref().expect("replica running").url.clone())
            .collect()
    }

    /// Kills replica `index` without warning (SIGKILL).
    pub async fn kill(&mut self, index: usize) {
        let gateway = self.gateways[index].take().expect("replica running");
        gateway.signal_and_wait("KILL").await;
    }
}

/// Polls `check` every 20 ms until it holds; panics with `what` after `deadline`.
/// Returns how long it took (for the record, never asserted).
pub async fn until<F, Fut>(what: &str, deadline: Duration, check: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = tokio::time::Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < deadline,
            "{what}: not within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The replica holding the lease `name` now, if any (its instance id).
pub async fn lease_holder(database_url: &str, name: &str) -> Option<String> {
    let holder = psql(
        database_url,
        &format!(
            "SELECT holder FROM leases WHERE name = '{name}' \
             AND expires_at > (extract(epoch FROM now()) * 1000)::bigint"
        ),
    )
    .await;
    (!holder.is_empty()).then_some(holder)
}

/// A server's JSON as one replica sees it (`Null` when it does not know it).
pub async fn server_at(gateway: &Gateway, path: &str) -> Value {
    let reply = gateway
        .api("GET", &format!("/api/servers/{path}"), None)
        .await;
    if reply.status == 200 {
        reply.body
    } else {
        Value::Null
    }
}
