//! [`AuditLog`]: the handle request paths record decisions with, a [`BatchLog`] of
//! [`AuditRecord`]s written to an [`AuditStore`], which also answers queries and prunes.

use std::sync::Arc;

use async_trait::async_trait;

use crate::TelemetryError;
use crate::audit::query::{AuditPage, AuditQuery, AuditStore};
use crate::audit::record::{AuditEntry, AuditRecord};
use crate::batch::{BatchConfig, BatchLog, BatchSink, BatchStats, Batched};

/// How the audit writer batches and retries.
pub type AuditConfig = BatchConfig;
/// What the audit trail has done so far.
pub type AuditStats = BatchStats;

/// The audit trail: a cheap-to-clone handle on the queue, the writer task and the store.
#[derive(Clone)]
pub struct AuditLog {
    batches: BatchLog<AuditRecord>,
    store: Arc<dyn AuditStore>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Batched for AuditRecord {
    type Stored = AuditEntry;

    fn stored(self) -> AuditEntry {
        AuditEntry {
            id: crate::batch::entry_id(self.at),
            record: self,
        }
    }
}

/// The store, as the batch writer's sink.
struct Sink(Arc<dyn AuditStore>);

#[async_trait]
impl BatchSink<AuditEntry> for Sink {
    async fn append(&self, batch: &[AuditEntry]) -> Result<(), TelemetryError> {
        self.0.append_audit(batch).await
    }
}

impl AuditLog {
    /// Starts the writer on the current tokio runtime, writing to `store`.
    pub fn start(store: Arc<dyn AuditStore>, config: AuditConfig) -> AuditLog {
        let sink = Arc::new(Sink(Arc::clone(&store)));
        AuditLog {
            batches: BatchLog::start("audit", sink, config),
            store,
        }
    }

    /// Queues `record` for writing. Never blocks or waits: when the queue is full (the
    /// store is slower than the traffic, or down) the record is dropped and counted.
    pub fn record(&self, record: AuditRecord) {
        self.batches.record(record);
    }

    /// Counts so far.
    pub fn stats(&self) -> AuditStats {
        self.batches.stats()
    }

    /// One page of stored records (records still queued are not in it yet).
    pub async fn query(&self, query: &AuditQuery) -> Result<AuditPage, TelemetryError> {
        self.store.query_audit(query).await
    }

    /// Deletes stored records older than `before` (milliseconds since the epoch).
    pub async fn prune(&self, before: i64) -> Result<u64, TelemetryError> {
        self.store.prune_audit(before).await
    }

    /// Stops accepting records, writes every queued one, and waits for the writer to
    /// finish. Later calls (and records) find it stopped.
    pub async fn shutdown(&self) {
        self.batches.shutdown().await;
    }
}
