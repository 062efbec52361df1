//! Durability: data survives restarts and `kill -9`, on SQLite and on PostgreSQL.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Launch, http_server};
use serde_json::json;

/// Registers, toggles and checks servers, stops the gateway with SIGTERM, and finds it all
/// again after a restart on the same database.
async fn survives_restart(launch: impl Fn() -> Launch, database: &str) {
    let url = common::faults::down_url().await;
    let gw = launch().start().await;
    assert_eq!(
        gw.api("GET", "/health", None).await.body["database"],
        database
    );
    for path in ["one", "two", "three"] {
        assert_eq!(
            gw.api("POST", "/api/servers", Some(http_server(path, &url)))
                .await
                .status,
            201
        );
    }
    gw.api(
        "POST",
        "/api/servers/two/toggle",
        Some(json!({"enabled": false})),
    )
    .await;
    gw.api(
        "PATCH",
        "/api/servers/three",
        Some(json!({"description": "edited", "tags": ["t"]})),
    )
    .await;
    let checked = gw
        .wait_for_server("one", Duration::from_secs(30), |s| {
            s["health"]["status"] == "unhealthy"
        })
        .await;
    let before = gw.api("GET", "/api/servers", None).await.body;
    let status = gw.signal_and_wait("TERM").await;
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");

    // Long interval: no check runs between restart and comparison.
    let gw = launch().env("MCPGW_HEALTH_INTERVAL", "3600").start().await;
    let after = gw.api("GET", "/api/servers", None).await.body;
    assert_eq!(after["count"], 3);
    let one = gw.api("GET", "/api/servers/one", None).await.body;
    assert_eq!(one["health"]["reason"], checked["health"]["reason"]);
    for (old, new) in before["servers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(after["servers"].as_array().unwrap())
    {
        assert_eq!(old["path"], new["path"]);
        assert_eq!(old["enabled"], new["enabled"]);
        assert_eq!(old["description"], new["description"]);
        assert_eq!(old["tags"], new["tags"]);
        assert_eq!(old["created_at"], new["created_at"]);
    }
    assert_eq!(
        gw.api("GET", "/api/servers/two", None).await.body["enabled"],
        false
    );
}

#[tokio::test]
async fn sqlite_data_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    survives_restart(|| Launch::new(&data).sqlite(), "sqlite").await;
}

#[tokio::test]
async fn postgres_data_survives_restart() {
    let Some(database_url) = common::replicas::fresh_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    survives_restart(
        || Launch::new(&data).args(&["--database-url", &database_url]),
        "postgres",
    )
    .await;
}

#[tokio::test]
async fn kill_9_during_registrations_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = common::faults::down_url().await;
    let gw = Launch::new(&data)
        .env("MCPGW_HEALTH_INTERVAL", "3600")
        .start()
        .await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let client = common::client();
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (client, base, url, acknowledged) = (
                client.clone(),
                gw.url.clone(),
                url.clone(),
                acknowledged.clone(),
            );
            tokio::spawn(async move {
                for i in 0..10_000 {
                    let path = format!("w{writer}-{i}");
                    let sent = client
                        .post(format!("{base}/api/servers"))
                        .bearer_auth(common::TOKEN)
                        .json(&http_server(&path, &url))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == 201 => {
                            acknowledged.lock().unwrap().push(path)
                        }
                        Ok(response) => panic!("unexpected status {}", response.status()),
                        Err(_) => return, // the gateway is gone
                    }
                }
            })
        })
        .collect();
    // Let a stream of writes build up, then kill the process in the middle of it.
    while acknowledged.lock().unwrap().len() < 150 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = gw.signal_and_wait("KILL").await;
    assert!(!status.success());
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let gw = Launch::new(&data)
        .env("MCPGW_HEALTH_INTERVAL", "3600")
        .start()
        .await;
    let listed = gw.api("GET", "/api/servers", None).await.body;
    let stored: std::collections::HashSet<String> = listed["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|server| server["path"].as_str().unwrap().to_owned())
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|path| !stored.contains(*path))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged registrations lost: {lost:?}",
        lost.len()
    );
    // At most the requests in flight at the kill (one per writer) may exist unacknowledged.
    assert!(stored.len() <= acknowledged.len() + 4);
}
