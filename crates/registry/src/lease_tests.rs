use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{Lease, LeaseStore, LeaseTiming};
use crate::error::StoreError;

/// Leases in memory; once `slow` is set, a renewal is stored at once but answered only
/// after a long while (a database that committed, then stalled on the way back).
#[derive(Default)]
struct SlowLeases {
    holders: Mutex<HashMap<String, String>>,
    slow: AtomicBool,
}

#[async_trait]
impl LeaseStore for SlowLeases {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        _until_ms: i64,
        _now_ms: i64,
    ) -> Result<bool, StoreError> {
        let taken = {
            let mut holders = self.holders.lock().unwrap();
            let current = holders.entry(name.to_owned()).or_insert(holder.to_owned());
            current == holder
        };
        if self.slow.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Ok(taken)
    }

    async fn release_lease(
        &self,
        name: &str,
        holder: &str,
        _now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut holders = self.holders.lock().unwrap();
        if holders.get(name).is_some_and(|current| current == holder) {
            holders.remove(name);
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_lease_is_given_back_at_shutdown_even_after_a_renewal_timed_out() {
    let store = Arc::new(SlowLeases::default());
    let shutdown = CancellationToken::new();
    let timing = LeaseTiming {
        ttl: Duration::from_secs(10),
        renew: Duration::from_secs(3),
    };
    let (lease, task) = Lease::start(
        store.clone(),
        "health-checks",
        "replica-a",
        timing,
        shutdown.clone(),
    )
    .await;
    assert!(lease.held());
    // The next renewal is stored but its answer does not come in time: this replica
    // stops believing it holds the lease, though the database still names it.
    store.slow.store(true, Ordering::SeqCst);
    tokio::time::sleep(timing.renew * 3).await;
    assert!(!lease.held());
    assert!(store.holders.lock().unwrap().contains_key("health-checks"));
    shutdown.cancel();
    task.await.unwrap();
    assert!(
        store.holders.lock().unwrap().is_empty(),
        "the lease was left to expire"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lease_held_by_another_replica_is_not_given_back() {
    let store = Arc::new(SlowLeases::default());
    store
        .holders
        .lock()
        .unwrap()
        .insert("health-checks".into(), "replica-b".into());
    let shutdown = CancellationToken::new();
    let (lease, task) = Lease::start(
        store.clone(),
        "health-checks",
        "replica-a",
        LeaseTiming::default(),
        shutdown.clone(),
    )
    .await;
    assert!(!lease.held());
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(
        store
            .holders
            .lock()
            .unwrap()
            .get("health-checks")
            .map(String::as_str),
        Some("replica-b")
    );
}
