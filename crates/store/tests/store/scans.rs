//! The tool scan's records and approvals, on both backends.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use mcpgw_registry::Store;
use mcpgw_registry::scan::{Approval, Finding, ScanRecord, ScanStore, Severity};
use mcpgw_store::SqlStore;

fn finding(rule: &str, severity: Severity, tool: Option<&str>) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        tool: tool.map(str::to_owned),
        field: tool.map(|_| "description".to_owned()),
        excerpt: tool.map(|_| "read ~/.ssh/id_rsa<U+200B> ✓".to_owned()),
        message: format!("{rule} found"),
    }
}

fn record(path: &str, findings: Vec<Finding>, blocked: Option<&str>) -> ScanRecord {
    ScanRecord {
        path: path.into(),
        scanned_at: Utc.timestamp_millis_opt(1_764_000_000_123).unwrap(),
        tools_digest: format!("digest of {path}"),
        findings,
        blocked: blocked.map(str::to_owned),
    }
}

pub async fn tool_scans_are_replaced_summarised_and_forgotten(store: SqlStore) {
    store.insert_server(&super::sample("svc")).await.unwrap();
    store.insert_server(&super::sample("other")).await.unwrap();
    assert_eq!(store.scan_record("svc").await.unwrap(), None);
    let first = record(
        "svc",
        vec![
            finding("sensitive-file", Severity::High, Some("add")),
            finding("model-tag", Severity::Medium, Some("add")),
            finding("scanner-failed", Severity::Medium, None),
        ],
        Some("disabled by the tool scan: …"),
    );
    assert!(store.save_scan(&first).await.unwrap());
    assert_eq!(store.scan_record("svc").await.unwrap(), Some(first));
    // The next scan replaces the findings, order kept.
    let second = record(
        "svc",
        vec![
            finding("zero-width", Severity::Low, Some("b")),
            finding("shadowed-name", Severity::Medium, Some("a")),
        ],
        None,
    );
    assert!(store.save_scan(&second).await.unwrap());
    assert_eq!(store.scan_record("svc").await.unwrap(), Some(second));
    // Nothing is stored for a server that is not registered.
    assert!(
        !store
            .save_scan(&record("ghost", vec![], None))
            .await
            .unwrap()
    );
    assert_eq!(store.scan_record("ghost").await.unwrap(), None);

    let digests = BTreeMap::from([(
        "add".to_owned(),
        BTreeMap::from([("description".to_owned(), "abc".to_owned())]),
    )]);
    let approval = Approval {
        path: "other".into(),
        approved_by: "admin".into(),
        approved_at: Utc.timestamp_millis_opt(1_764_000_500_000).unwrap(),
        digests,
    };
    assert!(store.save_approval(&approval).await.unwrap());
    assert_eq!(
        store.approval("other").await.unwrap(),
        Some(approval.clone())
    );
    let again = Approval {
        approved_by: "root".into(),
        ..approval.clone()
    };
    assert!(store.save_approval(&again).await.unwrap());
    assert_eq!(store.approval("other").await.unwrap(), Some(again));
    let ghost = Approval {
        path: "ghost".into(),
        ..approval
    };
    assert!(!store.save_approval(&ghost).await.unwrap());
    assert_eq!(store.approval("ghost").await.unwrap(), None);

    let summaries = store.scan_summaries().await.unwrap();
    assert_eq!(summaries.len(), 2);
    let svc = summaries.iter().find(|s| s.path == "svc").unwrap();
    assert_eq!(
        (
            svc.findings,
            svc.worst,
            svc.blocked.as_deref(),
            svc.approved
        ),
        (2, Some(Severity::Medium), None, false)
    );
    let other = summaries.iter().find(|s| s.path == "other").unwrap();
    assert_eq!(
        (other.findings, other.worst, other.approved),
        (0, None, true)
    );

    // Removing a server forgets its scan and approval: registered again, it starts over.
    assert!(store.delete_server("svc").await.unwrap());
    assert!(store.delete_server("other").await.unwrap());
    store.insert_server(&super::sample("svc")).await.unwrap();
    store.insert_server(&super::sample("other")).await.unwrap();
    assert_eq!(store.scan_record("svc").await.unwrap(), None);
    assert_eq!(store.approval("other").await.unwrap(), None);
    assert!(store.scan_summaries().await.unwrap().is_empty());
}

/// Scans and health events saved at the same time from many tasks: each save reads
/// before it writes, and none may fail because another connection wrote in between
/// (on SQLite a deferred transaction would answer `SQLITE_BUSY` at once, with no wait).
pub async fn concurrent_saves_wait_for_each_other_instead_of_failing(store: SqlStore) {
    for path in ["a", "b"] {
        store.insert_server(&super::sample(path)).await.unwrap();
    }
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..8_usize {
        let store = store.clone();
        tasks.spawn(async move {
            let path = if task % 2 == 0 { "a" } else { "b" };
            for round in 0..25_usize {
                let findings = vec![finding("zero-width", Severity::Low, Some("t")); round % 3];
                store
                    .save_scan(&record(path, findings, None))
                    .await
                    .map_err(|error| format!("save_scan (task {task}, round {round}): {error}"))?;
                let event = mcpgw_registry::HealthEvent {
                    at: Utc::now(),
                    status: if round % 2 == 0 {
                        mcpgw_registry::HealthState::Healthy
                    } else {
                        mcpgw_registry::HealthState::Unhealthy
                    },
                    reason: None,
                };
                store
                    .record_health_event(path, &event, 5)
                    .await
                    .map_err(|error| {
                        format!("health event (task {task}, round {round}): {error}")
                    })?;
            }
            Ok::<_, String>(())
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Err(failure) = done.unwrap() {
            failures.push(failure);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A scan saved while the server's removal is under way is not left behind for a server
/// registered later at the same path: the save waits for the removal and then finds no
/// server (on PostgreSQL the server's row is locked; on SQLite the write lock orders them).
pub async fn a_scan_saved_during_the_servers_removal_is_not_left_behind(store: SqlStore) {
    store.insert_server(&super::sample("gone")).await.unwrap();
    let mut removal = store.pool_for_tests().begin().await.unwrap();
    sqlx::query("DELETE FROM servers WHERE path = 'gone'")
        .execute(&mut *removal)
        .await
        .unwrap();
    let saving = tokio::spawn({
        let store = store.clone();
        async move { store.save_scan(&record("gone", vec![], None)).await }
    });
    // Let the save reach the lock it must wait for (if it has not, it finds no server
    // after the commit anyway).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    removal.commit().await.unwrap();
    assert!(
        !saving.await.unwrap().unwrap(),
        "stored for a removed server"
    );
    store.insert_server(&super::sample("gone")).await.unwrap();
    assert_eq!(store.scan_record("gone").await.unwrap(), None);
}
