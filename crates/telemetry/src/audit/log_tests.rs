//! The writer against an in-memory store: batching, the flush interval, a full queue, a
//! failing store, and flushing at shutdown. Time is tokio's paused clock where it matters,
//! so nothing here depends on the machine's speed.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, Semaphore};

use super::*;
use crate::TelemetryError;

/// Keeps each batch it is given; can fail its first calls, and can hold every call at a
/// gate until the test opens it.
#[derive(Default)]
struct MemoryStore {
    batches: Mutex<Vec<Vec<AuditEntry>>>,
    calls: AtomicU32,
    failures: AtomicU32,
    gate: Option<Semaphore>,
    entered: Notify,
}

impl MemoryStore {
    fn failing(times: u32) -> Self {
        MemoryStore {
            failures: AtomicU32::new(times),
            ..MemoryStore::default()
        }
    }

    fn gated() -> Self {
        MemoryStore {
            gate: Some(Semaphore::new(0)),
            ..MemoryStore::default()
        }
    }

    fn sizes(&self) -> Vec<usize> {
        self.batches.lock().unwrap().iter().map(Vec::len).collect()
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn append_audit(&self, batch: &[AuditEntry]) -> Result<(), TelemetryError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.entered.notify_one();
        if let Some(gate) = &self.gate {
            gate.acquire().await.unwrap().forget();
        }
        let fail = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(TelemetryError::Store("database is down".into()));
        }
        self.batches.lock().unwrap().push(batch.to_vec());
        Ok(())
    }

    async fn query_audit(&self, _query: &AuditQuery) -> Result<AuditPage, TelemetryError> {
        unreachable!("the writer never reads")
    }

    async fn prune_audit(&self, _before: i64) -> Result<u64, TelemetryError> {
        unreachable!("the writer never prunes")
    }
}

fn record(n: usize) -> AuditRecord {
    AuditRecord {
        at: 1_764_000_000_000 + n as i64,
        source: AuditSource::Mcp,
        principal: "alice".into(),
        owner: "https://idp#alice".into(),
        auth: "jwt".into(),
        client_id: Some("agent".into()),
        server: "currenttime".into(),
        method: "tools/call".into(),
        target: Some("current_time".into()),
        allowed: n.is_multiple_of(2),
        reason: "allowed by scope 'x' entry 1 (tools: current_time)".into(),
        request_id: Some(n.to_string()),
    }
}

fn config() -> AuditConfig {
    AuditConfig {
        flush_interval: Duration::from_secs(3600),
        ..AuditConfig::default()
    }
}

fn start(store: &Arc<MemoryStore>, config: AuditConfig) -> AuditLog {
    AuditLog::start(Arc::clone(store) as Arc<dyn AuditStore>, config)
}

/// Lets the writer run until `done` holds (a few thousand scheduler turns at most).
async fn until(done: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the writer never got there");
}

#[tokio::test]
async fn full_batches_are_written_at_once_and_the_rest_at_shutdown() {
    let store = Arc::new(MemoryStore::default());
    let log = start(&store, config());
    for n in 0..600 {
        log.record(record(n));
    }
    until(|| store.sizes().len() == 2).await;
    assert_eq!(store.sizes(), [256, 256], "the partial batch waits");
    log.shutdown().await;
    assert_eq!(store.sizes(), [256, 256, 88]);
    let written: Vec<AuditRecord> = store
        .batches
        .lock()
        .unwrap()
        .iter()
        .flatten()
        .map(|entry| entry.record.clone())
        .collect();
    assert_eq!(
        written,
        (0..600).map(record).collect::<Vec<_>>(),
        "in order"
    );
    let stats = log.stats();
    assert_eq!(
        (stats.recorded, stats.written, stats.dropped),
        (600, 600, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_partial_batch_waits_for_the_flush_interval() {
    let store = Arc::new(MemoryStore::default());
    let log = start(
        &store,
        AuditConfig {
            flush_interval: Duration::from_millis(200),
            ..AuditConfig::default()
        },
    );
    for n in 0..3 {
        log.record(record(n));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        store.sizes().is_empty(),
        "not yet: the interval has not passed"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(store.sizes(), [3]);
    log.shutdown().await;
}

#[tokio::test]
async fn recording_never_waits_when_the_queue_is_full() {
    let store = Arc::new(MemoryStore::gated());
    let log = start(
        &store,
        AuditConfig {
            capacity: 4,
            max_batch: 1,
            ..config()
        },
    );
    log.record(record(0));
    store.entered.notified().await;
    // The writer is stuck in the store with record 0: four fit in the queue, six do not.
    for n in 1..=10 {
        log.record(record(n));
    }
    let stats = log.stats();
    assert_eq!((stats.recorded, stats.dropped), (5, 6));
    if let Some(gate) = &store.gate {
        gate.add_permits(100);
    }
    log.shutdown().await;
    assert_eq!(store.sizes(), [1; 5]);
    assert_eq!(log.stats().written, 5);
}

#[tokio::test(start_paused = true)]
async fn a_failing_store_is_retried_then_the_batch_is_dropped() {
    // Fails twice, then works: the third attempt stores the batch.
    let store = Arc::new(MemoryStore::failing(2));
    let log = start(&store, config());
    for n in 0..5 {
        log.record(record(n));
    }
    log.shutdown().await;
    assert_eq!(store.sizes(), [5]);
    assert_eq!(store.calls.load(Ordering::SeqCst), 3);
    assert_eq!(log.stats().written, 5);

    // Down for good: three attempts, then the batch is dropped and counted.
    let store = Arc::new(MemoryStore::failing(u32::MAX));
    let log = start(&store, config());
    for n in 0..5 {
        log.record(record(n));
    }
    log.shutdown().await;
    assert!(store.sizes().is_empty());
    assert_eq!(store.calls.load(Ordering::SeqCst), 3);
    let stats = log.stats();
    assert_eq!((stats.recorded, stats.written, stats.dropped), (5, 0, 5));
}

#[tokio::test]
async fn shutdown_flushes_the_queue_and_later_records_are_dropped() {
    let store = Arc::new(MemoryStore::default());
    let log = start(&store, config());
    let clone = log.clone();
    for n in 0..10 {
        clone.record(record(n));
    }
    log.shutdown().await;
    assert_eq!(store.sizes(), [10]);
    clone.record(record(10));
    clone.shutdown().await;
    let stats = log.stats();
    assert_eq!((stats.recorded, stats.written, stats.dropped), (10, 10, 1));
}

#[tokio::test]
async fn dropping_every_handle_writes_what_is_queued() {
    let store = Arc::new(MemoryStore::default());
    let log = start(&store, config());
    for n in 0..3 {
        log.record(record(n));
    }
    drop(log);
    until(|| store.sizes() == [3]).await;
}
