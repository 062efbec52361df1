//! MCP sessions across replicas: the official Python SDK keeps a stateful session while a
//! round-robin load balancer sends each of its requests to another replica, stateless
//! requests spread freely, and a replica killed mid-session costs the client nothing
//! beyond the requests it was answering.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::agent::Agent;
use common::balancer::Balancer;
use common::replicas::{Replicas, fresh_database, server_at, until};
use common::{TOKEN, http_server, upstreams};
use serde_json::json;

/// Three replicas behind a balancer, with server-everything (a real stateful server from
/// npm) registered as `everything` and known healthy on every replica.
async fn deployment() -> Option<(Replicas, Balancer, upstreams::Upstream)> {
    let entry = upstreams::everything_entry()?;
    let database = fresh_database().await?;
    let everything = upstreams::everything(&entry, "streamableHttp").await;
    let replicas = Replicas::start(3, &database, |launch| launch).await;
    replicas
        .at(0)
        .register_healthy(http_server("everything", &everything.url))
        .await;
    for index in 1..3 {
        until(
            "health known everywhere",
            Duration::from_secs(30),
            || async {
                server_at(replicas.at(index), "everything").await["health"]["status"] == "healthy"
            },
        )
        .await;
    }
    let balancer = Balancer::start(replicas.urls()).await;
    Some((replicas, balancer, everything))
}

/// Calls `tool` (server-everything's `get-sum`) with `a` + 1 and checks the sum.
async fn sums(agent: &mut Agent, tool: &str, a: i64) {
    let answer = agent.call(tool, json!({"a": a, "b": 1})).await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains(&(a + 1).to_string()),
        "{answer}"
    );
}

/// The distinct replicas that served POSTs to `path`.
fn replicas_of(balancer: &Balancer, path: &str) -> BTreeSet<usize> {
    balancer
        .served()
        .into_iter()
        .filter(|(method, served, _)| method == "POST" && served == path)
        .map(|(_, _, replica)| replica)
        .collect()
}

#[tokio::test]
async fn a_stateful_session_keeps_working_while_its_requests_alternate_between_replicas() {
    let Some((_replicas, balancer, _everything)) = deployment().await else {
        return;
    };
    // The aggregated endpoint (the gateway's own sessions, restored from the database)
    // and a server's own route (the server's session, its owner found in the database).
    for (path, tool) in [
        ("/mcp", "everything__get-sum"),
        ("/everything/mcp", "get-sum"),
    ] {
        let url = format!("{}{path}", balancer.url);
        let Some(mut agent) = Agent::connect("http", "stateful", &url, TOKEN).await else {
            return;
        };
        for a in 0..6 {
            sums(&mut agent, tool, a).await;
        }
        assert!(agent.tools().await.iter().any(|name| name == tool));
        let spread = replicas_of(&balancer, path);
        assert_eq!(
            spread.len(),
            3,
            "{path}: every replica served the session: {spread:?}"
        );
    }
}

#[tokio::test]
async fn stateless_requests_spread_freely() {
    let Some((_replicas, balancer, _everything)) = deployment().await else {
        return;
    };
    let url = format!("{}/mcp", balancer.url);
    let Some(mut agent) = Agent::connect("http", "stateless", &url, TOKEN).await else {
        return;
    };
    for a in 0..6 {
        sums(&mut agent, "everything__get-sum", a).await;
    }
    assert_eq!(replicas_of(&balancer, "/mcp").len(), 3);
}

#[tokio::test]
async fn a_replica_killed_mid_session_costs_the_client_no_more_than_a_retry() {
    let Some((mut replicas, balancer, _everything)) = deployment().await else {
        return;
    };
    let url = format!("{}/mcp", balancer.url);
    let Some(mut agent) = Agent::connect("http", "stateful", &url, TOKEN).await else {
        return;
    };
    for a in 0..3 {
        sums(&mut agent, "everything__get-sum", a).await;
    }
    // No warning: SIGKILL, as when a machine dies. Requests it was answering are lost;
    // the balancer sends new ones to the replicas left.
    replicas.kill(1).await;
    let mut failed = 0;
    for a in 3..12 {
        let answer = agent
            .call("everything__get-sum", json!({"a": a, "b": 1}))
            .await;
        if answer["ok"] != true {
            failed += 1;
            let retried = agent
                .call("everything__get-sum", json!({"a": a, "b": 1}))
                .await;
            assert_eq!(retried["ok"], true, "a retry succeeds: {retried}");
        }
    }
    assert!(failed <= 1, "{failed} requests failed after the kill");
    let after_kill: BTreeSet<usize> = balancer.served()[..]
        .iter()
        .rev()
        .take(9)
        .map(|(_, _, replica)| *replica)
        .collect();
    assert!(!after_kill.contains(&1), "{after_kill:?}");
    assert_eq!(after_kill.len(), 2, "both survivors served the session");
}
