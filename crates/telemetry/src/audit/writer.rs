//! The background task that moves records from the queue to the store in batches: what
//! is queued is written every flush interval, and at once when a whole batch is waiting.

use std::sync::Arc;

use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::audit::log::{AuditConfig, Counters};
use crate::audit::query::AuditStore;
use crate::audit::record::{AuditEntry, AuditRecord};

/// Runs until `stop` is cancelled (or every handle is gone), then writes what is still
/// queued and returns.
///
/// The writer is never woken by a single record: it drains the queue with `try_recv`
/// (which leaves no waker behind) on every tick of the flush interval, and early when a
/// handle finds a whole batch waiting (`full`), writing only whole batches then. Waiting
/// in `recv` instead would make every request wake this task on another thread: a
/// cross-thread wake-up, with its system calls, per request on the data plane.
pub(crate) async fn run(
    mut queue: mpsc::Receiver<AuditRecord>,
    store: Arc<dyn AuditStore>,
    counters: Arc<Counters>,
    config: AuditConfig,
    full: Arc<Notify>,
    stop: CancellationToken,
) {
    let max_batch = config.max_batch.max(1);
    let writer = Writer {
        store: &*store,
        counters: &counters,
        config: &config,
        max_batch,
    };
    let mut batch: Vec<AuditRecord> = Vec::with_capacity(max_batch);
    let every = config.flush_interval.max(Duration::from_millis(1));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let (stopping, partial) = tokio::select! {
            biased;
            () = stop.cancelled() => (true, true),
            () = full.notified() => (false, false),
            _ = ticks.tick() => (false, true),
        };
        let open = writer.drain(&mut queue, &mut batch, partial).await;
        crate::metrics::metrics().writer_queue("audit", queue.len());
        if stopping || !open {
            break;
        }
    }
    // Whatever is queued now is all there will be: refuse new records, write the rest.
    queue.close();
    writer.drain(&mut queue, &mut batch, true).await;
}

/// Where batches go, and how big they are.
struct Writer<'a> {
    store: &'a dyn AuditStore,
    counters: &'a Counters,
    config: &'a AuditConfig,
    max_batch: usize,
}

impl Writer<'_> {
    /// Writes what is queued now in whole batches, and with `partial` also the last,
    /// smaller one (otherwise it waits in `batch` for the next tick); false once every
    /// handle is gone.
    async fn drain(
        &self,
        queue: &mut mpsc::Receiver<AuditRecord>,
        batch: &mut Vec<AuditRecord>,
        partial: bool,
    ) -> bool {
        loop {
            let mut open = true;
            while batch.len() < self.max_batch {
                match queue.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            let whole = batch.len() == self.max_batch;
            if whole || (partial && !batch.is_empty()) {
                write(self.store, self.counters, self.config, batch).await;
            }
            if !whole {
                return open;
            }
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
