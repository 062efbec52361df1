//! [`RunSummary`]: one run of the load generator as the JSON line it prints and the
//! report reads back.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::Settings;

/// The result of one run at one concurrency against one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    /// Target label (`direct`, `passthrough`, `gateway`).
    pub target: String,
    /// The benchmark round this run belongs to, when the caller said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<usize>,
    /// Concurrent connections.
    pub concurrency: usize,
    /// Successful measured requests.
    pub requests: u64,
    /// Failed requests (warm-up included); a run with errors is invalid.
    pub errors: u64,
    /// Length of the measured window, in seconds.
    pub duration_s: f64,
    /// Successful requests per second over the measured window.
    pub rps: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 90th percentile latency, microseconds.
    pub p90_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// Highest latency, microseconds.
    pub max_us: f64,
    /// CPU time per measured request of each watched process, microseconds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cpu_us_per_request: BTreeMap<String, f64>,
    /// The first error, when there were any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// Builds the summary from the merged histogram (nanoseconds) and the window length.
pub fn from_histogram(
    settings: &Settings,
    latencies: &Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
    window: Duration,
) -> RunSummary {
    let requests = latencies.len();
    let seconds = window.as_secs_f64();
    let micros = |nanos: u64| (nanos as f64 / 100.0).round() / 10.0;
    RunSummary {
        target: settings.label.clone(),
        round: settings.round,
        concurrency: settings.concurrency,
        requests,
        errors,
        duration_s: (seconds * 1000.0).round() / 1000.0,
        rps: if seconds > 0.0 {
            (requests as f64 / seconds).round()
        } else {
            0.0
        },
        p50_us: micros(latencies.value_at_quantile(0.50)),
        p90_us: micros(latencies.value_at_quantile(0.90)),
        p99_us: micros(latencies.value_at_quantile(0.99)),
        max_us: micros(latencies.max()),
        cpu_us_per_request: BTreeMap::new(),
        first_error,
    }
}
