//! What a batch log has done, shared by its handles and its writer, and the rate limit of
//! the warning about dropped records.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use super::BatchStats;

/// A warning about dropped records is logged at most this often (milliseconds).
const WARN_EVERY_MS: u64 = 10_000;
/// [`Counters::last_warning`] before the first warning.
const NEVER: u64 = u64::MAX;

/// Counters of one log.
#[derive(Debug)]
pub(crate) struct Counters {
    /// The log's name, in logs and metrics.
    pub(crate) name: &'static str,
    pub(crate) recorded: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    started: Instant,
    last_warning: AtomicU64,
    /// `mcpgw_writer_queue_depth` and `mcpgw_writer_dropped_total` of this writer.
    queue_gauge: Gauge,
    dropped_counter: Counter,
}

impl Counters {
    pub(crate) fn new(name: &'static str) -> Self {
        let (queue_gauge, dropped_counter) = crate::metrics::metrics().writer(name);
        Counters {
            queue_gauge,
            dropped_counter,
            name,
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
        self.dropped_counter.inc_by(count as u64);
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
                writer = self.name,
                dropped_total = total,
                why,
                "records dropped (warned at most every {}s)",
                WARN_EVERY_MS / 1000
            );
        }
    }

    /// Reports how many records wait in the queue now.
    pub(crate) fn queued(&self, depth: usize) {
        self.queue_gauge
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    pub(crate) fn stats(&self) -> BatchStats {
        BatchStats {
            recorded: self.recorded.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}
