//! Summaries of `tool_metrics` per server and tool over a window: calls, error rate,
//! median and 95th-percentile latency, distinct clients.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

/// Which rows to summarise.
#[derive(Debug, Clone, Default)]
pub struct SummaryQuery {
    /// From (inclusive), milliseconds since the epoch.
    pub since: i64,
    /// Until (exclusive), milliseconds since the epoch.
    pub until: i64,
    /// Only this server.
    pub server: Option<String>,
}

/// One server's tool (or method) over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSummary {
    /// The server's path.
    pub server: String,
    /// The tool (or the method, for messages that call no tool).
    pub tool: String,
    /// Messages answered.
    pub calls: u64,
    /// Of which failed.
    pub errors: u64,
    /// `errors / calls`.
    pub error_rate: f64,
    /// Median time to the answer's first byte, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// Distinct client names.
    pub unique_clients: u64,
}

/// One `tool_metrics` row, as far as a summary reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The server's path.
    pub server: String,
    /// The tool (or method).
    pub tool: String,
    /// Answered without an error.
    pub success: bool,
    /// Time to the answer's first byte.
    pub duration_ms: f64,
    /// The client's name (empty when unknown).
    pub client: String,
}

/// What one server's tool accumulates.
#[derive(Default)]
struct Group {
    durations: Vec<f64>,
    errors: u64,
    clients: HashSet<String>,
}

/// Summarises samples, by server then tool.
pub fn summarise(samples: Vec<Sample>) -> Vec<ToolSummary> {
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for sample in samples {
        let group = groups.entry((sample.server, sample.tool)).or_default();
        group.durations.push(sample.duration_ms);
        group.errors += u64::from(!sample.success);
        group.clients.insert(sample.client);
    }
    groups
        .into_iter()
        .map(|((server, tool), group)| {
            let Group {
                mut durations,
                errors,
                clients,
            } = group;
            durations.sort_by(f64::total_cmp);
            let calls = durations.len() as u64;
            ToolSummary {
                server,
                tool,
                calls,
                errors,
                error_rate: errors as f64 / calls.max(1) as f64,
                p50_ms: percentile(&durations, 0.50),
                p95_ms: percentile(&durations, 0.95),
                unique_clients: clients.len() as u64,
            }
        })
        .collect()
}

/// The nearest-rank percentile of sorted values (0 for none).
fn percentile(sorted: &[f64], share: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (share * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_count_and_rank() {
        let sample = |tool: &str, success: bool, ms: f64, client: &str| Sample {
            server: "clock".to_owned(),
            tool: tool.to_owned(),
            success,
            duration_ms: ms,
            client: client.to_owned(),
        };
        let mut samples: Vec<_> = (1..=20)
            .map(|ms| {
                sample(
                    "now",
                    ms != 7,
                    f64::from(ms),
                    if ms % 2 == 0 { "a" } else { "b" },
                )
            })
            .collect();
        samples.push(sample("list", true, 3.0, "a"));
        let summary = summarise(samples);
        assert_eq!(summary.len(), 2);
        assert_eq!(summary[0].tool, "list");
        let now = &summary[1];
        assert_eq!((now.calls, now.errors, now.unique_clients), (20, 1, 2));
        assert_eq!((now.p50_ms, now.p95_ms), (10.0, 19.0));
        assert!((now.error_rate - 0.05).abs() < 1e-9);
        assert!(summarise(Vec::new()).is_empty());
    }
}
