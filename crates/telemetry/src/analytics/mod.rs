//! The analytics tables (`auth_metrics`, `tool_metrics`, `discovery_metrics`, with the
//! Python gateway's columns): one row per authentication, MCP message and tool search,
//! queued without waiting ([`Analytics::record`]) and written in batches by a background
//! task to an [`AnalyticsStore`], which also prunes old rows and summarises them per
//! server and tool ([`ToolSummary`]).
//!
//! One process-wide [`Analytics`], installed at start ([`install`]) and found by whoever
//! records ([`analytics`]): nothing is recorded in processes (the CLI, tests) that did not
//! install one.

mod rows;
mod summary;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;

use crate::TelemetryError;
use crate::batch::{BatchConfig, BatchLog, BatchSink, BatchStats};

pub use rows::{AnalyticsRow, AuthRow, DiscoveryRow, StoredRow, ToolRow, user_hash};
pub use summary::{Sample, SummaryQuery, ToolSummary, summarise};

/// Where the analytics rows are kept.
#[async_trait]
pub trait AnalyticsStore: Send + Sync + 'static {
    /// Stores a batch, all or nothing; a row whose id is stored already is skipped.
    async fn append_analytics(&self, batch: &[StoredRow]) -> Result<(), TelemetryError>;

    /// Deletes rows older than `before` (milliseconds since the epoch) from every table;
    /// returns how many.
    async fn prune_analytics(&self, before: i64) -> Result<u64, TelemetryError>;

    /// The `tool_metrics` rows of the query's window (and server), for [`summarise`].
    async fn tool_samples(&self, query: &SummaryQuery) -> Result<Vec<Sample>, TelemetryError>;
}

/// The analytics writer and store.
#[derive(Clone)]
pub struct Analytics {
    batches: BatchLog<AnalyticsRow>,
    store: Arc<dyn AnalyticsStore>,
}

/// The store, as the batch writer's sink.
struct Sink(Arc<dyn AnalyticsStore>);

#[async_trait]
impl BatchSink<StoredRow> for Sink {
    async fn append(&self, batch: &[StoredRow]) -> Result<(), TelemetryError> {
        self.0.append_analytics(batch).await
    }
}

impl Analytics {
    /// Starts the writer on the current tokio runtime, writing to `store`.
    pub fn start(store: Arc<dyn AnalyticsStore>, config: BatchConfig) -> Analytics {
        let sink = Arc::new(Sink(Arc::clone(&store)));
        Analytics {
            batches: BatchLog::start("analytics", sink, config),
            store,
        }
    }

    /// Queues `row`; never waits (a full queue drops and counts it).
    pub fn record(&self, row: AnalyticsRow) {
        self.batches.record(row);
    }

    /// Counts so far.
    pub fn stats(&self) -> BatchStats {
        self.batches.stats()
    }

    /// Per server, and per server and tool: calls, errors, latency percentiles and
    /// distinct clients (a server's own line has the tool `*`).
    pub async fn summary(
        &self,
        query: &SummaryQuery,
    ) -> Result<(Vec<ToolSummary>, Vec<ToolSummary>), TelemetryError> {
        let samples = self.store.tool_samples(query).await?;
        let per_server = samples
            .iter()
            .map(|sample| Sample {
                tool: "*".to_owned(),
                ..sample.clone()
            })
            .collect();
        Ok((summarise(per_server), summarise(samples)))
    }

    /// Deletes rows older than `before` (milliseconds since the epoch).
    pub async fn prune(&self, before: i64) -> Result<u64, TelemetryError> {
        self.store.prune_analytics(before).await
    }

    /// Writes what is queued and stops the writer.
    pub async fn shutdown(&self) {
        self.batches.shutdown().await;
    }
}

static ANALYTICS: OnceLock<Analytics> = OnceLock::new();

/// Makes `analytics` the process's (the first one installed stays).
pub fn install(analytics: Analytics) {
    let _ = ANALYTICS.set(analytics);
}

/// The process's analytics, if one was installed.
pub fn analytics() -> Option<&'static Analytics> {
    ANALYTICS.get()
}

/// A tool search answered (`source`: `intelligent_tool_finder` or `api`; `mode`: `hybrid`
/// or `lexical`), with `results` tools found for `top` (services, tools) wanted: counted in
/// the metrics and, with analytics installed, a `discovery_metrics` row.
pub fn tool_search(
    source: &'static str,
    mode: &'static str,
    query: &str,
    results: usize,
    top: (usize, usize),
    elapsed: std::time::Duration,
) {
    crate::metrics::metrics().discovery(source, mode, elapsed);
    record(|| {
        AnalyticsRow::Discovery(DiscoveryRow {
            at: crate::audit::now_millis(),
            query: query.chars().take(100).collect(),
            results_count: i64::try_from(results).unwrap_or(i64::MAX),
            top_k_services: i64::try_from(top.0).unwrap_or(i64::MAX),
            top_n_tools: i64::try_from(top.1).unwrap_or(i64::MAX),
            source: source.to_owned(),
            mode: mode.to_owned(),
            duration_ms: elapsed.as_secs_f64() * 1000.0,
        })
    });
}

/// Records `row` if the process has analytics.
pub fn record(row: impl FnOnce() -> AnalyticsRow) {
    if let Some(analytics) = analytics() {
        analytics.record(row());
    }
}
