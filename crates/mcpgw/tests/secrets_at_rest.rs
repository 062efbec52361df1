//! Secrets at rest (issue 11): header and environment values, a URL's password and a peer
//! registry's token are sealed in the database (the SQLite file read raw here, WAL
//! included; on PostgreSQL its rows) and in no log, yet reach the upstream they belong to, across restarts, after the key is
//! rotated, and after plaintext written by an older version is sealed at start.

mod common;

use common::hostile::{self, Reply};
use common::{Gateway, Launch, files_contain as contains, files_in as everything_in, run_cli};
use serde_json::json;

const HEADER_SECRET: &str = "header-secret-7f3a9c";
const ENV_SECRET: &str = "env-secret-51bd02";
const URL_SECRET: &str = "url-secret-c4e8aa";
const SOURCE_SECRET: &str = "source-secret-9d17e3";

/// Checks `vault` now and returns the `X-Api-Key` the upstream received last.
async fn key_received(gw: &Gateway, upstream: &hostile::Hostile) -> Option<String> {
    let before = upstream.requests().len();
    gw.api("POST", "/api/servers/vault/refresh", None).await;
    upstream.requests()[before..]
        .iter()
        .rev()
        .find_map(|request| request.header("x-api-key").map(str::to_owned))
}

#[tokio::test]
async fn secrets_are_sealed_in_the_database_and_still_reach_their_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let upstream = hostile::start(|_| Reply::empty(503)).await;
    // A peer registry with nothing to import, which sees the credential it is sent.
    let peer =
        hostile::start(|_| Reply::json(200, &json!({"servers": [], "metadata": {"count": 0}})))
            .await;
    let peer_url = peer.url.trim_end_matches("/mcp").to_owned();
    let start = || Launch::quiet(&data).start_capturing();

    let (gw, _) = start().await;
    let vault = json!({"path": "vault", "url": upstream.url,
                       "headers": {"X-Api-Key": HEADER_SECRET}});
    assert_eq!(
        gw.api("POST", "/api/servers", Some(vault)).await.status,
        201
    );
    let tool = json!({"path": "tool", "command": "/nonexistent/mcp-tool",
                      "env": {"TOOL_TOKEN": ENV_SECRET}});
    assert_eq!(gw.api("POST", "/api/servers", Some(tool)).await.status, 201);
    let remote = json!({"path": "remote",
                        "url": format!("http://svc:{URL_SECRET}@127.0.0.1:9/mcp")});
    assert_eq!(
        gw.api("POST", "/api/servers", Some(remote)).await.status,
        201
    );
    let source = json!({"name": "peer", "url": peer_url, "token": SOURCE_SECRET,
                        "interval_secs": 3600});
    let added = gw.api("POST", "/api/sources", Some(source)).await;
    assert!(added.status < 300, "{:?}", added.body);
    assert_eq!(
        key_received(&gw, &upstream).await.as_deref(),
        Some(HEADER_SECRET)
    );
    drop(gw);

    let files = everything_in(&data);
    for secret in [HEADER_SECRET, ENV_SECRET, URL_SECRET, SOURCE_SECRET] {
        assert!(
            !contains(&files, secret),
            "{secret} is in the data directory's files"
        );
    }
    assert!(contains(&files, "enc:v1:"), "sealed values are stored");
    assert!(contains(&files, "X-Api-Key"), "names stay readable");

    // After a restart the sealed values open; after a rotation, at the next start,
    // everything is sealed with the new key and still opens.
    let (gw, _) = start().await;
    assert_eq!(
        key_received(&gw, &upstream).await.as_deref(),
        Some(HEADER_SECRET)
    );
    let synced = gw.api("POST", "/api/sources/peer/sync", None).await;
    assert!(synced.status < 300, "{:?}", synced.body);
    let bearer = format!("Bearer {SOURCE_SECRET}");
    assert!(
        peer.requests()
            .iter()
            .any(|request| request.header("authorization") == Some(bearer.as_str())),
        "the peer registry gets its token"
    );
    drop(gw);
    let (ok, stdout, stderr) = run_cli(
        None,
        &["secrets", "rotate", "--data-dir", data.to_str().unwrap()],
        &[],
    )
    .await;
    assert!(ok, "{stderr}");
    let new_id = stdout
        .split_whitespace()
        .nth(3)
        .unwrap()
        .trim_end_matches(';')
        .to_owned();
    let (gw, log) = start().await;
    assert_eq!(
        key_received(&gw, &upstream).await.as_deref(),
        Some(HEADER_SECRET)
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("sealed stored secrets with the current key"),
        "{logged}"
    );
    drop(gw);
    let files = everything_in(&data);
    assert!(
        contains(&files, &format!("enc:v1:{new_id}:")),
        "resealed with {new_id}"
    );

    // Plaintext an older version wrote is sealed at the next start.
    if let Some(database_url) = common::database::postgres_for(&data).await {
        let legacy = "UPDATE servers SET headers_json = \
            '{\"X-Api-Key\": \"legacy-plaintext-0042\"}' WHERE path = 'vault'";
        common::replicas::psql(&database_url, legacy).await;
    } else {
        let database = data.join("mcpgw.db");
        let script = "import sqlite3, sys\n\
            db = sqlite3.connect(sys.argv[1])\n\
            db.execute(\"UPDATE servers SET headers_json = ? WHERE path = 'vault'\", \
            ('{\"X-Api-Key\": \"' + sys.argv[2] + '\"}',))\n\
            db.commit()\n\
            db.execute('PRAGMA wal_checkpoint(TRUNCATE)')\n";
        let status = std::process::Command::new("python3")
            .args([
                "-c",
                script,
                database.to_str().unwrap(),
                "legacy-plaintext-0042",
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }
    assert!(contains(&everything_in(&data), "legacy-plaintext-0042"));
    let (gw, _) = start().await;
    assert_eq!(
        key_received(&gw, &upstream).await.as_deref(),
        Some("legacy-plaintext-0042")
    );
    drop(gw);
    let files = everything_in(&data);
    assert!(
        !contains(&files, "legacy-plaintext-0042"),
        "the plaintext was sealed"
    );
    for secret in [HEADER_SECRET, ENV_SECRET, URL_SECRET, SOURCE_SECRET] {
        assert!(
            !contains(&files, secret),
            "{secret} is in the data directory's files"
        );
    }
}
