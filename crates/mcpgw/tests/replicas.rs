//! Several replicas on one PostgreSQL database: a change made through one is in force on
//! the others, background work is done once and moves when its replica dies.

mod common;

use std::time::Duration;

use common::replicas::{Replicas, fresh_database, lease_holder, server_at, until};
use common::{Gateway, TOKEN, http_server};
use serde_json::{Value, json};

/// How long a change may take to show everywhere before the test gives up (the target
/// is one second; what it took is printed, never asserted).
const PROPAGATION_DEADLINE: Duration = Duration::from_secs(10);

/// `GET /api/auth/me` with `token` at `gateway`: the status.
async fn me(gateway: &Gateway, token: &str) -> u16 {
    gateway.get_as("/api/auth/me", token).await.0
}

/// Calls the clock's tool on `path`'s own route at `gateway` (a 2026-07-28 request).
async fn calls_clock(gateway: &Gateway, path: &str) -> bool {
    let response = common::stateless_call(
        gateway,
        &format!("/{path}/mcp"),
        TOKEN,
        "current_time_by_timezone",
        json!({"timezone_name": "UTC"}),
        common::stateless_meta(),
    )
    .await;
    response.status() == 200 && response.text().await.unwrap().contains("UTC")
}

#[tokio::test]
async fn changes_made_on_one_replica_are_in_force_on_the_others() {
    let Some(database) = fresh_database().await else {
        return;
    };
    let upstream = common::upstreams::example("currenttime", true).await;
    let replicas = Replicas::start(3, &database, |launch| launch).await;
    let (r0, r1, r2) = (replicas.at(0), replicas.at(1), replicas.at(2));

    // Registered on one: known, checked and routed on the others.
    r0.register_healthy(http_server("box", &upstream.url)).await;
    for (name, replica) in [("r1", r1), ("r2", r2)] {
        let took = until("registration seen", PROPAGATION_DEADLINE, || async {
            server_at(replica, "box").await["health"]["status"] == "healthy"
        })
        .await;
        eprintln!("registration and health reached {name} after {took:?}");
        assert!(calls_clock(replica, "box").await);
    }

    // Disabled on another: refused everywhere.
    let reply = r1
        .api(
            "POST",
            "/api/servers/box/toggle",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    for (name, replica) in [("r0", r0), ("r2", r2)] {
        let took = until("disable seen", PROPAGATION_DEADLINE, || async {
            !calls_clock(replica, "box").await
        })
        .await;
        eprintln!("disable reached {name} after {took:?}");
        assert_eq!(server_at(replica, "box").await["enabled"], false);
    }

    // A token minted on one works on the others; revoked on a third, refused everywhere.
    let minted = r0
        .api(
            "POST",
            "/api/tokens",
            Some(json!({"description": "agent", "admin": true})),
        )
        .await;
    assert_eq!(minted.status, 201, "{:?}", minted.body);
    let token = minted.body["token"].as_str().unwrap().to_owned();
    let id = minted.body["id"].as_str().unwrap().to_owned();
    for replica in [r0, r1, r2] {
        assert_eq!(me(replica, &token).await, 200, "signing keys are shared");
    }
    let revoked = r2.api("DELETE", &format!("/api/tokens/{id}"), None).await;
    assert!(revoked.status < 300, "{:?}", revoked.body);
    for (name, replica) in [("r0", r0), ("r1", r1)] {
        let took = until("revocation seen", PROPAGATION_DEADLINE, || async {
            me(replica, &token).await == 401
        })
        .await;
        eprintln!("revocation reached {name} after {took:?}");
    }

    // A browser session opened on one is valid on the others (all started together: one
    // of them created the first admin, the others found it).
    let (cookie, _) = common::sign_in(r1, "admin", common::replicas::ADMIN_PASSWORD).await;
    for replica in [r0, r2] {
        let me = replica
            .request("GET", "/api/auth/me")
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
    }

    // Keys rotated on one: what it signs next verifies on the others.
    let rotated = r1.api("POST", "/api/tokens/keys/rotate", None).await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let fresh = r1
        .api(
            "POST",
            "/api/tokens",
            Some(json!({"description": "after rotation"})),
        )
        .await;
    let fresh = fresh.body["token"].as_str().unwrap().to_owned();
    for (name, replica) in [("r0", r0), ("r2", r2)] {
        let took = until("rotation seen", PROPAGATION_DEADLINE, || async {
            me(replica, &fresh).await == 200
        })
        .await;
        eprintln!("key rotation reached {name} after {took:?}");
        let jwks: Value = common::get_json(&format!("{}/.well-known/jwks.json", replica.url)).await;
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "{jwks}");
    }
}

#[tokio::test]
async fn background_work_is_done_once_and_taken_over_when_its_replica_dies() {
    let Some(database) = fresh_database().await else {
        return;
    };
    let upstream = common::upstreams::example("currenttime", true).await;
    let mut replicas = Replicas::start(2, &database, |launch| {
        launch.env("MCPGW_HEALTH_TIMEOUT", "60")
    })
    .await;
    let pids = [replicas.at(0).pid(), replicas.at(1).pid()];
    let holder_of = |holder: &str| {
        pids.iter()
            .position(|pid| holder.contains(&format!("-{pid}-")))
            .expect("the holder is one of the replicas")
    };

    // Exactly one replica holds each lease.
    let checks = lease_holder(&database, "health-checks")
        .await
        .expect("held");
    let checker = holder_of(&checks);
    assert!(lease_holder(&database, "maintenance").await.is_some());
    let other = 1 - checker;

    replicas
        .at(other)
        .register_healthy(http_server("box", &upstream.url))
        .await;

    // A server whose checks hang (for the minute the check timeout allows), registered
    // through the checking replica: every connection to it is that replica's. The replica
    // is killed while one is in flight (SIGKILL: it cannot give the lease back), and the
    // check ends with it, long before its timeout could have ended it.
    let stuck = common::faults::start(common::faults::Fault::Silent).await;
    let registered = replicas
        .at(checker)
        .api(
            "POST",
            "/api/servers",
            Some(http_server("stuck", &stuck.url)),
        )
        .await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let open = || stuck.open.load(std::sync::atomic::Ordering::SeqCst);
    until("a check in flight", Duration::from_secs(30), || async {
        open() > 0
    })
    .await;
    // The upstream of `box` goes away now: only a round after the takeover can notice
    // (the dying replica's rounds wait for the stuck check).
    drop(upstream);
    replicas.kill(checker).await;
    until(
        "the check died with its replica",
        Duration::from_secs(10),
        || async { open() == 0 },
    )
    .await;
    let took = until("lease taken over", Duration::from_secs(30), || async {
        lease_holder(&database, "health-checks")
            .await
            .is_some_and(|holder| holder.contains(&format!("-{}-", pids[other])))
    })
    .await;
    eprintln!("health checks taken over after {took:?}");

    // The survivor checks now: the upstream gone is noticed.
    replicas
        .at(other)
        .wait_for_server("box", Duration::from_secs(30), |server| {
            server["health"]["status"] == "unhealthy"
        })
        .await;

    // A graceful stop gives the lease back at once.
    let survivor = replicas.gateways[other].take().unwrap();
    let log = survivor.log_file();
    assert!(survivor.signal_and_wait("TERM").await.success());
    let holder = lease_holder(&database, "health-checks").await;
    assert_eq!(
        holder,
        None,
        "the survivor (pid {}) did not give the lease back; its log:\n{}",
        pids[other],
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}
