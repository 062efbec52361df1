//! The shared database restarted under load: writes fail cleanly while it is away, the
//! data plane keeps serving the servers it knows, every replica recovers by itself, and no
//! acknowledged write is lost. Also: replicas reach PostgreSQL over verified TLS.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::private_pg::PrivatePostgres;
use common::replicas::{Replicas, server_at, until};
use common::{Gateway, TOKEN, http_server};
use serde_json::json;

/// What the load saw.
#[derive(Default)]
struct Seen {
    /// Registrations answered 201.
    acknowledged: BTreeSet<String>,
    /// Statuses of refused registrations (each with a JSON error body).
    refused: Vec<u16>,
    /// Clock calls answered, and failed.
    calls: (usize, usize),
    /// The first failed call's status and body, to say what went wrong.
    first_failure: Option<(u16, String)>,
}

/// Registers servers through `gateway` until `stop`, recording what was acknowledged.
async fn write_load(
    gateway: &Gateway,
    writer: usize,
    upstream: &str,
    seen: &Mutex<Seen>,
    stop: &tokio::sync::watch::Receiver<bool>,
) {
    let mut index = 0;
    while !*stop.borrow() {
        let path = format!("w{writer}-{index}");
        index += 1;
        let reply = gateway
            .api("POST", "/api/servers", Some(http_server(&path, upstream)))
            .await;
        {
            let mut seen = seen.lock().unwrap();
            if reply.status == 201 {
                seen.acknowledged.insert(path);
            } else {
                assert!(
                    reply.body["error"]["message"].is_string(),
                    "a refusal says why: {} {}",
                    reply.status,
                    reply.body
                );
                seen.refused.push(reply.status);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Calls the clock through `gateway` until `stop`.
async fn call_load(
    gateway: &Gateway,
    seen: &Mutex<Seen>,
    stop: &tokio::sync::watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let response = common::stateless_call(
            gateway,
            "/clock/mcp",
            TOKEN,
            "current_time_by_timezone",
            json!({"timezone_name": "UTC"}),
            common::stateless_meta(),
        )
        .await;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .unwrap_or_else(|error| error.to_string());
        let ok = status == 200 && body.contains("UTC");
        {
            let mut seen = seen.lock().unwrap();
            if ok {
                seen.calls.0 += 1;
            } else {
                seen.calls.1 += 1;
                seen.first_failure.get_or_insert((status, body));
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_database_restart_under_load_loses_no_acknowledged_write() {
    let Some(pg) = PrivatePostgres::start(false).await else {
        return;
    };
    let clock = common::upstreams::example("currenttime", true).await;
    let replicas = Arc::new(Replicas::start(2, &pg.url, |launch| launch).await);
    replicas
        .at(0)
        .register_healthy(http_server("clock", &clock.url))
        .await;
    until("clock known to both", Duration::from_secs(10), || async {
        server_at(replicas.at(1), "clock").await["health"]["status"] == "healthy"
    })
    .await;

    let seen = Arc::new(Mutex::new(Seen::default()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut load = Vec::new();
    for writer in 0..2 {
        let (all, counts, until_stopped, url) = (
            Arc::clone(&replicas),
            Arc::clone(&seen),
            stopped.clone(),
            clock.url.clone(),
        );
        load.push(tokio::spawn(async move {
            write_load(all.at(writer), writer, &url, &counts, &until_stopped).await
        }));
        let (all, counts, until_stopped) =
            (Arc::clone(&replicas), Arc::clone(&seen), stopped.clone());
        load.push(tokio::spawn(async move {
            call_load(all.at(writer), &counts, &until_stopped).await
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_outage = seen.lock().unwrap().acknowledged.len();
    pg.stop();
    // More than twice as long as a request waits for a connection (5 s): whatever a
    // writer was waiting for when the database went, its next write is refused.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls_in_outage = seen.lock().unwrap().calls;
    // Still ready (nothing is taken out of rotation for the outage), and saying why not all is well.
    for index in 0..2 {
        let ready = replicas.at(index).api("GET", "/readyz", None).await;
        assert_eq!(ready.status, 200, "{}", ready.body);
        assert_eq!(
            ready.body["database"]["status"], "unavailable",
            "{}",
            ready.body
        );
    }
    tokio::time::sleep(Duration::from_secs(9)).await;
    let calls_after = seen.lock().unwrap().calls;
    pg.start_again();
    // Every replica writes again, without a restart.
    for index in 0..2 {
        until("writes succeed again", Duration::from_secs(30), || async {
            let probe = format!("probe-{index}-{}", uuid::Uuid::new_v4().simple());
            replicas
                .at(index)
                .api(
                    "POST",
                    "/api/servers",
                    Some(http_server(&probe, &clock.url)),
                )
                .await
                .status
                == 201
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.send(true).unwrap();
    for task in load {
        task.await.unwrap();
    }

    let seen = {
        let seen = seen.lock().unwrap();
        Seen {
            acknowledged: seen.acknowledged.clone(),
            refused: seen.refused.clone(),
            calls: seen.calls,
            first_failure: seen.first_failure.clone(),
        }
    };
    eprintln!(
        "acknowledged {} ({before_outage} before the outage), refused {:?}, calls ok/failed {:?}",
        seen.acknowledged.len(),
        seen.refused,
        seen.calls
    );
    assert!(
        !seen.refused.is_empty(),
        "the outage was noticed by writers"
    );
    assert!(
        seen.refused.iter().all(|status| *status == 503),
        "writes refused as unavailable, nothing else: {:?}",
        seen.refused
    );
    assert!(
        calls_after.0 > calls_in_outage.0,
        "known servers are served while the database is away"
    );
    assert_eq!(
        seen.calls.1, 0,
        "no call failed; the first failure: {:?}",
        seen.first_failure
    );
    // Nothing acknowledged is lost, and both replicas know all of it.
    for index in 0..2 {
        let listed = replicas.at(index).api("GET", "/api/servers", None).await;
        let stored: BTreeSet<String> = listed.body["servers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|server| server["path"].as_str().map(str::to_owned))
            .collect();
        let lost: Vec<&String> = seen.acknowledged.difference(&stored).collect();
        assert!(lost.is_empty(), "replica {index} lost {lost:?}");
    }
}

#[tokio::test]
async fn replicas_reach_postgresql_over_verified_tls() {
    let Some(pg) = PrivatePostgres::start(true).await else {
        return;
    };
    let ca = pg.ca.clone().unwrap();
    let url = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        pg.url,
        ca.display()
    );
    let replicas = Replicas::start(1, &url, |launch| launch).await;
    let gateway = replicas.at(0);
    assert_eq!(gateway.api("GET", "/readyz", None).await.status, 200);
    // Every connection of the gateway to the server is encrypted.
    let encrypted = common::replicas::psql(
        &url,
        "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE datname = 'postgres' AND NOT ssl AND pid <> pg_backend_pid()",
    )
    .await;
    assert_eq!(encrypted, "0", "no connection without TLS");
    let with_tls = common::replicas::psql(
        &url,
        "SELECT count(*) FROM pg_stat_ssl WHERE ssl AND pid <> pg_backend_pid()",
    )
    .await;
    assert_ne!(with_tls, "0");
    // A certificate the gateway cannot verify stops it with a clear message.
    let wrong = format!("{}?sslmode=verify-full", pg.url);
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = common::run_cli(
        None,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &wrong,
            "--data-dir",
            &dir.path().display().to_string(),
        ],
        &[("MCPGW_SECRET_KEY", common::replicas::SECRET_KEY)],
    )
    .await;
    assert!(!ok, "an unverifiable server is refused");
    assert!(stderr.contains("postgres"), "{stderr}");
}
