//! The background task that moves records from the queue to the sink in batches: what
//! is queued is written every flush interval, and at once when a whole batch is waiting.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::counters::Counters;
use super::{BatchConfig, BatchSink, Batched};

/// Runs until `stop` is cancelled (or every handle is gone), then writes what is still
/// queued and returns.
///
/// The writer is never woken by a single record: it drains the queue with `try_recv`
/// (which leaves no waker behind) on every tick of the flush interval, and early when a
/// handle finds a whole batch waiting (`full`), writing only whole batches then. Waiting
/// in `recv` instead would make every request wake this task on another thread: a
/// cross-thread wake-up, with its system calls, per request on the data plane.
pub(super) async fn run<T: Batched>(
    mut queue: mpsc::Receiver<T>,
    sink: Arc<dyn BatchSink<T::Stored>>,
    counters: Arc<Counters>,
    config: BatchConfig,
    full: Arc<Notify>,
    stop: CancellationToken,
) {
    let max_batch = config.max_batch.max(1);
    let writer = Writer {
        sink: &*sink,
        counters: &counters,
        config: &config,
        max_batch,
    };
    let mut batch: Vec<T> = Vec::with_capacity(max_batch);
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
        counters.queued(queue.len());
        if stopping || !open {
            break;
        }
    }
    // Whatever is queued now is all there will be: refuse new records, write the rest.
    queue.close();
    writer.drain(&mut queue, &mut batch, true).await;
}

/// Where batches go, and how big they are.
struct Writer<'a, S> {
    sink: &'a dyn BatchSink<S>,
    counters: &'a Counters,
    config: &'a BatchConfig,
    max_batch: usize,
}

impl<S: Send + Sync + 'static> Writer<'_, S> {
    /// Writes what is queued now in whole batches, and with `partial` also the last,
    /// smaller one (otherwise it waits in `batch` for the next tick); false once every
    /// handle is gone.
    async fn drain<T: Batched<Stored = S>>(
        &self,
        queue: &mut mpsc::Receiver<T>,
        batch: &mut Vec<T>,
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
                let stored: Vec<S> = batch.drain(..).map(Batched::stored).collect();
                self.write(&stored).await;
            }
            if !whole {
                return open;
            }
        }
    }

    /// Writes `batch`, retrying a bounded number of times; a batch that fails every
    /// attempt is dropped and counted, so a dead store costs memory for one batch only.
    async fn write(&self, batch: &[S]) {
        let attempts = self.config.attempts.max(1);
        let mut pause = self.config.retry_backoff;
        let writer = self.counters.name;
        for attempt in 1..=attempts {
            match self.sink.append(batch).await {
                Ok(()) => {
                    self.counters.written(batch.len());
                    return;
                }
                Err(error) if attempt < attempts => {
                    tracing::warn!(%error, writer, attempt, records = batch.len(), "batch not written; retrying");
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2);
                }
                Err(error) => {
                    tracing::error!(%error, writer, attempts, records = batch.len(), "batch dropped: the store failed every attempt");
                    self.counters.dropped(batch.len(), "store failed");
                }
            }
        }
    }
}
