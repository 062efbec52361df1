//! [`AuditLog`]: the handle request paths record decisions with. Recording never waits:
//! a record goes into a bounded queue, or is dropped and counted when the queue is full.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::TelemetryError;
use crate::audit::query::{AuditPage, AuditQuery, AuditStore};
use crate::audit::record::AuditRecord;
use crate::audit::writer;

/// How the writer batches and retries.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Records the queue holds before new ones are dropped.
    pub capacity: usize,
    /// Most records written in one batch.
    pub max_batch: usize,
    /// Longest a record waits in the queue for its batch to fill up.
    pub flush_interval: Duration,
    /// Attempts to write one batch before it is dropped (at least 1).
    pub attempts: u32,
    /// Pause before the first retry; doubled before each further one.
    pub retry_backoff: Duration,
}

impl Default for AuditConfig {
    /// 8192 queued records (a few MB at most), batches of up to 256 records or 200 ms,
    /// three attempts 250 ms and 500 ms apart.
    fn default() -> Self {
        AuditConfig {
            capacity: 8192,
            max_batch: 256,
            flush_interval: Duration::from_millis(200),
            attempts: 3,
            retry_backoff: Duration::from_millis(250),
        }
    }
}

/// What the audit trail has done so far, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Records accepted into the queue.
    pub recorded: u64,
    /// Records stored.
    pub written: u64,
    /// Records lost: the queue was full (or closed), or their batch failed every attempt.
    pub dropped: u64,
}

/// A warning about dropped records is logged at most this often (milliseconds).
const WARN_EVERY_MS: u64 = 10_000;
/// [`Counters::last_warning`] before the first warning.
const NEVER: u64 = u64::MAX;

/// Counters shared by the handles and the writer, and the rate limit of the warning.
#[derive(Debug)]
pub(crate) struct Counters {
    recorded: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    started: Instant,
    last_warning: AtomicU64,
}

impl Counters {
    fn new() -> Self {
        Counters {
            recorded: AtomicU64::new(0),
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            started: Instant::now(),
            last_warning: AtomicU64::new(NEVER),
        }
    }

    /// Counts `count` stored records.
    pub(crate) fn written(&self, count: usize) {
        self.written.fetch_add(count as u64, Ordering::Relaxed);
    }

    /// Counts `count` lost records and warns, unless a warning went out recently (a full
    /// queue under load would otherwise log once per request).
    pub(crate) fn dropped(&self, count: usize, why: &'static str) {
        crate::metrics::metrics().writer_dropped("audit", count);
        let total = self.dropped.fetch_add(count as u64, Ordering::Relaxed) + count as u64;
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        let last = self.last_warning.load(Ordering::Relaxed);
        let due = last == NEVER || now.saturating_sub(last) >= WARN_EVERY_MS;
        if due
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                dropped_total = total,
                why,
                "audit records dropped (warned at most every {}s)",
                WARN_EVERY_MS / 1000
            );
        }
    }

    fn stats(&self) -> AuditStats {
        AuditStats {
            recorded: self.recorded.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// The audit trail: a cheap-to-clone handle on the queue, the writer task and the store.
#[derive(Clone)]
pub struct AuditLog {
    shared: Arc<Shared>,
}

struct Shared {
    queue: mpsc::Sender<AuditRecord>,
    /// Told when a whole batch is waiting, so that the writer need not be woken for each
    /// record.
    full: Arc<Notify>,
    max_batch: usize,
    counters: Arc<Counters>,
    store: Arc<dyn AuditStore>,
    stop: CancellationToken,
    /// Taken by the first [`AuditLog::shutdown`]; only touched there, never on a request.
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Shared {
    /// The last handle is gone, so no record can come: the writer writes what is queued
    /// and ends (it waits for no record to wake it, so it must be told).
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Starts the writer on the current tokio runtime, writing to `store`.
    pub fn start(store: Arc<dyn AuditStore>, config: AuditConfig) -> AuditLog {
        let (queue, receiver) = mpsc::channel(config.capacity.max(1));
        let counters = Arc::new(Counters::new());
        let stop = CancellationToken::new();
        let full = Arc::new(Notify::new());
        let max_batch = config.max_batch.max(1);
        let writer = tokio::spawn(writer::run(
            receiver,
            Arc::clone(&store),
            Arc::clone(&counters),
            config,
            Arc::clone(&full),
            stop.clone(),
        ));
        AuditLog {
            shared: Arc::new(Shared {
                queue,
                full,
                max_batch,
                counters,
                store,
                stop,
                writer: Mutex::new(Some(writer)),
            }),
        }
    }

    /// Queues `record` for writing. Never blocks or waits: when the queue is full (the
    /// store is slower than the traffic, or down) the record is dropped and counted.
    pub fn record(&self, record: AuditRecord) {
        match self.shared.queue.try_send(record) {
            Ok(()) => {
                self.shared
                    .counters
                    .recorded
                    .fetch_add(1, Ordering::Relaxed);
                let queued = self.shared.queue.max_capacity() - self.shared.queue.capacity();
                crate::metrics::metrics().writer_queue("audit", queued);
                if queued >= self.shared.max_batch {
                    self.shared.full.notify_one();
                }
            }
            Err(TrySendError::Full(_)) => self.shared.counters.dropped(1, "queue full"),
            Err(TrySendError::Closed(_)) => self.shared.counters.dropped(1, "shut down"),
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> AuditStats {
        self.shared.counters.stats()
    }

    /// One page of stored records (records still queued are not in it yet).
    pub async fn query(&self, query: &AuditQuery) -> Result<AuditPage, TelemetryError> {
        self.shared.store.query_audit(query).await
    }

    /// Deletes stored records older than `before` (milliseconds since the epoch).
    pub async fn prune(&self, before: i64) -> Result<u64, TelemetryError> {
        self.shared.store.prune_audit(before).await
    }

    /// Stops accepting records, writes every queued one, and waits for the writer to
    /// finish. Later calls (and records) find it stopped.
    pub async fn shutdown(&self) {
        self.shared.stop.cancel();
        let writer = match self.shared.writer.lock() {
            Ok(mut writer) => writer.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(writer) = writer
            && let Err(error) = writer.await
        {
            tracing::error!(%error, "the audit writer failed");
        }
    }
}
