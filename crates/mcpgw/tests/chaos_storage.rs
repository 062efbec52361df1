//! Chaos in the gateway's own database (SQLite, the default), brought about from outside
//! the way it happens in production: another process holding the database locked, the data
//! directory's disk filling up (a small tmpfs), the database file moved away under the
//! running gateway. In each case writes fail within bounded time with a clear error (never
//! a hang, never SQL text in a 500), the data plane keeps serving the servers it knows,
//! nothing acknowledged is lost (checked again after a hard crash), and writes work again
//! once the cause is gone, without a restart.
//!
//! PostgreSQL stopped under load (the shared database of several replicas) is
//! `replicas_outage.rs`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::chaos::{LIVENESS, SqliteLock, Tmpfs, fill, serves_clock};
use common::upstreams::{self, Upstream};
use common::{Gateway, Launch, Reply, http_server};
use serde_json::{Value, json};

/// A gateway on SQLite in `data`, with the example clock registered (and healthy).
async fn gateway(data: &Path) -> (Gateway, Upstream) {
    let gw = Launch::quiet(data).sqlite().start().await;
    let clock = upstreams::example("currenttime", true).await;
    gw.register_healthy(http_server("clock", &clock.url)).await;
    (gw, clock)
}

/// Registers a server `path` (at an address nothing listens on); panics if the gateway
/// takes longer than [`LIVENESS`] to answer.
async fn register(gw: &Gateway, path: &str) -> Reply {
    let body = http_server(path, "http://127.0.0.1:9/mcp");
    tokio::time::timeout(LIVENESS, gw.api("POST", "/api/servers", Some(body)))
        .await
        .unwrap_or_else(|_| panic!("registering {path} hung"))
}

/// Mints a token; panics if the gateway takes longer than [`LIVENESS`] to answer.
async fn mint(gw: &Gateway) -> Reply {
    let body = json!({"description": "chaos", "expires_in": 3600});
    tokio::time::timeout(LIVENESS, gw.api("POST", "/api/tokens", Some(body)))
        .await
        .expect("minting a token hung")
}

/// Asserts a refusal with `status`, a JSON error naming `code` and a message that says
/// `says`, without database internals.
fn refused(reply: &Reply, status: u16, code: &str, says: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(common::error_code(reply), code, "{reply:?}");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "{reply:?}");
    assert!(
        !message.contains("code:"),
        "no database internals: {reply:?}"
    );
}

/// Whether `token` is accepted by `gw`.
async fn accepted(gw: &Gateway, token: &str) -> bool {
    gw.get_as("/api/auth/me", token).await.0 == 200
}

/// Asserts that the servers `present` are registered and `absent` are not.
async fn registered(gw: &Gateway, present: &[String], absent: &[&str]) {
    for path in present {
        let reply = gw.api("GET", &format!("/api/servers/{path}"), None).await;
        assert_eq!(reply.status, 200, "acknowledged {path} is kept: {reply:?}");
    }
    for path in absent {
        let reply = gw.api("GET", &format!("/api/servers/{path}"), None).await;
        assert_eq!(
            reply.status, 404,
            "refused {path} was not stored: {reply:?}"
        );
    }
}

/// Registers `path` until it is acknowledged (writes work again), each refusal being
/// a clear error; panics after [`LIVENESS`].
async fn until_registered(gw: &Gateway, path: &str) {
    let deadline = tokio::time::Instant::now() + LIVENESS;
    loop {
        let reply = register(gw, path).await;
        if reply.status == 201 {
            return;
        }
        common::error_code(&reply);
        assert!(
            tokio::time::Instant::now() < deadline,
            "writes never worked again: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Kills the gateway without warning and starts it again on the same data directory.
async fn crash_and_restart(gw: Gateway, data: &Path) -> Gateway {
    gw.signal_and_wait("KILL").await;
    Launch::quiet(data).sqlite().start().await
}

/// `mcpgw_writer_dropped_total` of the audit writer.
async fn audit_dropped(gw: &Gateway) -> f64 {
    common::sample(
        &gw.metrics_text().await,
        "mcpgw_writer_dropped_total{writer=\"audit\"}",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_database_refuses_writes_in_bounded_time_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (gw, _clock) = gateway(&data).await;
    assert_eq!(register(&gw, "before").await.status, 201);
    let minted = mint(&gw).await;
    assert_eq!(minted.status, 201, "{minted:?}");
    let token = minted.body["token"].as_str().unwrap().to_owned();

    let lock = SqliteLock::take(&data.join("mcpgw.db")).await;
    // The gateway waits for the lock a few seconds, then says so.
    let reply = register(&gw, "during").await;
    refused(&reply, 503, "unavailable", "locked");
    let reply = mint(&gw).await;
    assert_eq!(reply.status, 503, "{reply:?}");
    common::error_code(&reply);
    serves_clock(&gw).await;
    // Readers are not blocked by a writer (WAL): what is stored can still be read.
    assert_eq!(gw.api("GET", "/api/servers/before", None).await.status, 200);
    assert!(accepted(&gw, &token).await, "a token minted before works");

    lock.release().await;
    assert_eq!(register(&gw, "after").await.status, 201, "no restart");
    assert_eq!(mint(&gw).await.status, 201);
    let kept = ["before".to_owned(), "after".to_owned()];
    registered(&gw, &kept, &["during"]).await;
    let gw = crash_and_restart(gw, &data).await;
    registered(&gw, &kept, &["during"]).await;
    assert!(accepted(&gw, &token).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_writes_with_507_loses_nothing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let Some(_tmpfs) = Tmpfs::mount(&data, "16m") else {
        return;
    };
    let (gw, _clock) = gateway(&data).await;
    let mut acknowledged = Vec::new();
    for index in 0..5 {
        let path = format!("ack-{index}");
        assert_eq!(register(&gw, &path).await.status, 201);
        acknowledged.push(path);
    }
    let minted = mint(&gw).await;
    assert_eq!(minted.status, 201, "{minted:?}");
    let token = minted.body["token"].as_str().unwrap().to_owned();

    let filler = fill(&data, "filler");
    // Space SQLite already holds (its write-ahead log) may take a few more writes; each
    // write is acknowledged or refused as disk full, never anything else.
    let mut refusal = None;
    for index in 0..100 {
        let path = format!("full-{index}");
        let reply = register(&gw, &path).await;
        if reply.status == 201 {
            acknowledged.push(path);
            continue;
        }
        refused(&reply, 507, "insufficient_storage", "disk is full");
        refusal = Some(path);
        break;
    }
    let refusal = refusal.expect("a write was refused once the disk was full");
    let reply = mint(&gw).await;
    assert!([503, 507].contains(&reply.status), "{reply:?}");
    common::error_code(&reply);

    // The data plane goes on; the audit records it cannot store are dropped and counted.
    let before = audit_dropped(&gw).await;
    let deadline = tokio::time::Instant::now() + LIVENESS;
    while audit_dropped(&gw).await <= before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no audit record was counted as dropped"
        );
        serves_clock(&gw).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    registered(&gw, &acknowledged, &[&refusal]).await;
    assert!(accepted(&gw, &token).await);

    std::fs::remove_file(&filler).unwrap();
    until_registered(&gw, "after").await;
    acknowledged.push("after".into());
    let reply = mint(&gw).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    serves_clock(&gw).await;
    registered(&gw, &acknowledged, &[&refusal]).await;
    let gw = crash_and_restart(gw, &data).await;
    registered(&gw, &acknowledged, &[&refusal]).await;
    assert!(accepted(&gw, &token).await);
}

/// The database file moved away under the running gateway (an operator's mistake, a
/// cleanup script): SQLite would go on writing to the moved file, acknowledging writes
/// nobody could find again. The gateway refuses them instead, and uses the file again as
/// soon as it is back.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_file_moved_away_refuses_writes_until_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (gw, _clock) = gateway(&data).await;
    assert_eq!(register(&gw, "kept").await.status, 201);
    let minted = mint(&gw).await;
    assert_eq!(minted.status, 201, "{minted:?}");
    let token = minted.body["token"].as_str().unwrap().to_owned();

    let database = data.join("mcpgw.db");
    let aside = dir.path().join("moved-away.db");
    std::fs::rename(&database, &aside).unwrap();
    let reply = register(&gw, "while-gone").await;
    refused(&reply, 503, "unavailable", "cannot be opened");
    assert_eq!(mint(&gw).await.status, 503);
    serves_clock(&gw).await;
    let ready = gw.request("GET", "/readyz").send().await.unwrap();
    assert_eq!(ready.status(), 200, "still taking traffic");
    let health: Value = gw
        .request("GET", "/health")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "unhealthy", "{health}");

    std::fs::rename(&aside, &database).unwrap();
    until_registered(&gw, "back").await;
    let kept = ["kept".to_owned(), "back".to_owned()];
    registered(&gw, &kept, &["while-gone"]).await;
    assert!(accepted(&gw, &token).await);
    let gw = crash_and_restart(gw, &data).await;
    registered(&gw, &kept, &["while-gone"]).await;
    assert!(accepted(&gw, &token).await);
}
