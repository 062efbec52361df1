//! [`BatchLog`]: records taken off a request's path and written to a store in batches by a
//! background task. Recording never waits: a record goes into a bounded queue, or is
//! dropped and counted when the queue is full (the store is down, or slower than the
//! traffic). Used by the audit trail and the analytics tables.

mod counters;
mod writer;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::TelemetryError;
use counters::Counters;

/// How the writer batches and retries.
#[derive(Debug, Clone)]
pub struct BatchConfig {
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

impl Default for BatchConfig {
    /// 8192 queued records (a few MB at most), batches of up to 256 records or 200 ms,
    /// three attempts 250 ms and 500 ms apart.
    fn default() -> Self {
        BatchConfig {
            capacity: 8192,
            max_batch: 256,
            flush_interval: Duration::from_millis(200),
            attempts: 3,
            retry_backoff: Duration::from_millis(250),
        }
    }
}

/// What a log has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Records accepted into the queue.
    pub recorded: u64,
    /// Records stored.
    pub written: u64,
    /// Records lost: the queue was full (or closed), or their batch failed every attempt.
    pub dropped: u64,
}

/// A record as queued, and what it becomes once taken for writing: the stored form is made
/// once per record, before the first attempt, so that a batch retried after an unclear
/// failure is the same batch (with the same ids) and is not stored twice.
pub trait Batched: Send + 'static {
    /// The stored form.
    type Stored: Send + Sync + 'static;

    /// Turns the record into its stored form.
    fn stored(self) -> Self::Stored;
}

/// Where batches are written.
#[async_trait]
pub trait BatchSink<S>: Send + Sync + 'static {
    /// Stores a batch, all or nothing; a record already stored (same id) is skipped.
    async fn append(&self, batch: &[S]) -> Result<(), TelemetryError>;
}

/// A cheap-to-clone handle on the queue and its writer.
pub struct BatchLog<T: Batched> {
    shared: Arc<Shared<T>>,
}

impl<T: Batched> Clone for BatchLog<T> {
    fn clone(&self) -> Self {
        BatchLog {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<T> {
    queue: mpsc::Sender<T>,
    /// Told when a whole batch is waiting, so that the writer need not be woken for each
    /// record.
    full: Arc<Notify>,
    max_batch: usize,
    counters: Arc<Counters>,
    stop: CancellationToken,
    /// Taken by the first [`BatchLog::shutdown`]; only touched there, never on a request.
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl<T> Drop for Shared<T> {
    /// The last handle is gone, so no record can come: the writer writes what is queued
    /// and ends (it waits for no record to wake it, so it must be told).
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl<T: Batched> BatchLog<T> {
    /// Starts the writer on the current tokio runtime, writing to `sink`; `name` names it
    /// in logs and metrics (`audit`, `analytics`).
    pub fn start(
        name: &'static str,
        sink: Arc<dyn BatchSink<T::Stored>>,
        config: BatchConfig,
    ) -> BatchLog<T> {
        let (queue, receiver) = mpsc::channel(config.capacity.max(1));
        let counters = Arc::new(Counters::new(name));
        let stop = CancellationToken::new();
        let full = Arc::new(Notify::new());
        let max_batch = config.max_batch.max(1);
        let writer = tokio::spawn(writer::run(
            receiver,
            sink,
            Arc::clone(&counters),
            config,
            Arc::clone(&full),
            stop.clone(),
        ));
        BatchLog {
            shared: Arc::new(Shared {
                queue,
                full,
                max_batch,
                counters,
                stop,
                writer: Mutex::new(Some(writer)),
            }),
        }
    }

    /// Queues `record` for writing. Never blocks or waits: when the queue is full the
    /// record is dropped and counted.
    pub fn record(&self, record: T) {
        match self.shared.queue.try_send(record) {
            Ok(()) => {
                self.shared
                    .counters
                    .recorded
                    .fetch_add(1, Ordering::Relaxed);
                let queued = self.shared.queue.max_capacity() - self.shared.queue.capacity();
                self.shared.counters.queued(queued);
                if queued >= self.shared.max_batch {
                    self.shared.full.notify_one();
                }
            }
            Err(TrySendError::Full(_)) => self.shared.counters.dropped(1, "queue full"),
            Err(TrySendError::Closed(_)) => self.shared.counters.dropped(1, "shut down"),
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> BatchStats {
        self.shared.counters.stats()
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
            tracing::error!(%error, writer = self.shared.counters.name, "a batch writer failed");
        }
    }
}

/// A unique id that starts with the record's time (12 hex digits of milliseconds, fixed
/// width), so that new rows land at the end of the database's index instead of at random
/// places in it, followed by 64 random bits.
pub(crate) fn entry_id(at: i64) -> String {
    let (random, _) = uuid::Uuid::new_v4().as_u64_pair();
    format!("{:012x}{random:016x}", at.max(0))
}
