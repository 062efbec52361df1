//! The background task that moves records from the queue to the store in batches: a
//! batch is written when it is full or when its first record has waited the flush
//! interval, whichever comes first.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::audit::log::{AuditConfig, Counters};
use crate::audit::query::AuditStore;
use crate::audit::record::{AuditEntry, AuditRecord};

/// Runs until `stop` is cancelled (or every handle is gone), then writes what is still
/// queued and returns.
pub(crate) async fn run(
    mut queue: mpsc::Receiver<AuditRecord>,
    store: Arc<dyn AuditStore>,
    counters: Arc<Counters>,
    config: AuditConfig,
    stop: CancellationToken,
) {
    let max_batch = config.max_batch.max(1);
    let mut batch: Vec<AuditRecord> = Vec::with_capacity(max_batch);
    loop {
        let open = tokio::select! {
            biased;
            () = stop.cancelled() => false,
            received = queue.recv_many(&mut batch, max_batch) => received > 0,
        };
        if !open {
            break;
        }
        fill(&mut queue, &mut batch, max_batch, &config, &stop).await;
        write(&*store, &counters, &config, &mut batch).await;
    }
    // Whatever is queued now is all there will be: refuse new records, write the rest.
    queue.close();
    while queue.recv_many(&mut batch, max_batch).await > 0 {
        write(&*store, &counters, &config, &mut batch).await;
    }
}

/// Adds records to `batch` until it is full, the flush interval has passed, the queue is
/// closed, or `stop` is cancelled.
async fn fill(
    queue: &mut mpsc::Receiver<AuditRecord>,
    batch: &mut Vec<AuditRecord>,
    max_batch: usize,
    config: &AuditConfig,
    stop: &CancellationToken,
) {
    let deadline = tokio::time::Instant::now() + config.flush_interval;
    while batch.len() < max_batch {
        let room = max_batch - batch.len();
        tokio::select! {
            received = queue.recv_many(batch, room) => if received == 0 { return },
            () = tokio::time::sleep_until(deadline) => return,
            () = stop.cancelled() => return,
        }
    }
}

/// Writes `batch` (emptying it), retrying a bounded number of times; a batch that fails
/// every attempt is dropped and counted, so a dead store costs memory for one batch only.
async fn write(
    store: &dyn AuditStore,
    counters: &Counters,
    config: &AuditConfig,
    batch: &mut Vec<AuditRecord>,
) {
    let entries: Vec<AuditEntry> = batch
        .drain(..)
        .map(|record| AuditEntry {
            id: entry_id(record.at),
            record,
        })
        .collect();
    let attempts = config.attempts.max(1);
    let mut pause = config.retry_backoff;
    for attempt in 1..=attempts {
        match store.append_audit(&entries).await {
            Ok(()) => {
                counters.written(entries.len());
                return;
            }
            Err(error) if attempt < attempts => {
                tracing::warn!(%error, attempt, records = entries.len(), "audit batch not written; retrying");
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
            Err(error) => {
                tracing::error!(%error, attempts, records = entries.len(), "audit batch dropped: the store failed every attempt");
                counters.dropped(entries.len(), "store failed");
            }
        }
    }
}

/// A unique id that starts with the record's time (12 hex digits of milliseconds, fixed
/// width), so that new rows land at the end of the database's index instead of at random
/// places in it, followed by 64 random bits.
fn entry_id(at: i64) -> String {
    let (random, _) = uuid::Uuid::new_v4().as_u64_pair();
    format!("{:012x}{random:016x}", at.max(0))
}
