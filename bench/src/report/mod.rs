//! The report of a benchmark run: the median of each metric across rounds, per target
//! and concurrency, the targets checked, all of it as JSON and as a markdown table.

mod markdown;
mod targets;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::loadgen::RunSummary;

pub use markdown::markdown;
pub use targets::{LATENCY_BUDGET_US, THROUGHPUT_SHARE, TargetCheck, check_targets};

/// Label of the client talking straight to the example server.
pub const DIRECT: &str = "direct";
/// Label of the bare pass-through proxy: the floor.
pub const FLOOR: &str = "passthrough";
/// Label of the gateway.
pub const GATEWAY: &str = "gateway";
/// CPU label of the whole machine (`loadgen --cpu machine=machine`): not a process, so
/// not added to the processes' total.
pub const MACHINE: &str = "machine";

/// One target at one concurrency, the median across rounds of every metric.
#[derive(Debug, Clone, Serialize)]
pub struct Aggregate {
    /// Target label.
    pub target: String,
    /// Concurrent connections.
    pub concurrency: usize,
    /// How many runs were aggregated.
    pub rounds: usize,
    /// Successful measured requests, all rounds together.
    pub requests: u64,
    /// Errors, all rounds together.
    pub errors: u64,
    /// Median requests per second.
    pub rps: f64,
    /// Median of the runs' p50, microseconds.
    pub p50_us: f64,
    /// Median of the runs' p90, microseconds.
    pub p90_us: f64,
    /// Median of the runs' p99, microseconds.
    pub p99_us: f64,
    /// Median of the runs' maxima, microseconds.
    pub max_us: f64,
    /// Median CPU time per request of each watched process, microseconds.
    pub cpu_us_per_request: BTreeMap<String, f64>,
}

/// Everything `bench/results/latest.json` holds.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Machine, commit, command and settings, as `run.sh` recorded them.
    pub meta: BTreeMap<String, String>,
    /// False when any run had an error: then no number here may be used.
    pub valid: bool,
    /// Medians per target and concurrency.
    pub summary: Vec<Aggregate>,
    /// The targets, when the runs include the floor and the gateway.
    pub targets: Option<TargetCheck>,
    /// Every run, in the order they were made.
    pub runs: Vec<RunSummary>,
}

impl Report {
    /// Aggregates `runs`; latency targets are read at `latency_concurrency`, throughput
    /// targets at `throughput_concurrency`.
    pub fn new(
        meta: BTreeMap<String, String>,
        runs: Vec<RunSummary>,
        latency_concurrency: usize,
        throughput_concurrency: usize,
    ) -> Report {
        let summary = aggregate(&runs);
        Report {
            meta,
            valid: !runs.is_empty() && runs.iter().all(|run| run.errors == 0),
            targets: check_targets(&summary, &runs, latency_concurrency, throughput_concurrency),
            summary,
            runs,
        }
    }

    /// The aggregate for one target and concurrency.
    pub fn find(&self, target: &str, concurrency: usize) -> Option<&Aggregate> {
        find(&self.summary, target, concurrency)
    }
}

/// Finds one target's aggregate at one concurrency.
fn find<'a>(summary: &'a [Aggregate], target: &str, concurrency: usize) -> Option<&'a Aggregate> {
    summary
        .iter()
        .find(|entry| entry.target == target && entry.concurrency == concurrency)
}

/// Groups runs by target and concurrency (direct, floor, gateway first) and takes medians.
pub fn aggregate(runs: &[RunSummary]) -> Vec<Aggregate> {
    let mut groups: BTreeMap<(usize, &str, usize), Vec<&RunSummary>> = BTreeMap::new();
    for run in runs {
        let key = (
            display_rank(&run.target),
            run.target.as_str(),
            run.concurrency,
        );
        groups.entry(key).or_default().push(run);
    }
    groups
        .into_iter()
        .map(|((_, target, concurrency), group)| {
            let median_of = |metric: fn(&RunSummary) -> f64| {
                median(group.iter().map(|run| metric(run)).collect())
            };
            Aggregate {
                target: target.to_owned(),
                concurrency,
                rounds: group.len(),
                requests: group.iter().map(|run| run.requests).sum(),
                errors: group.iter().map(|run| run.errors).sum(),
                rps: median_of(|run| run.rps),
                p50_us: median_of(|run| run.p50_us),
                p90_us: median_of(|run| run.p90_us),
                p99_us: median_of(|run| run.p99_us),
                max_us: median_of(|run| run.max_us),
                cpu_us_per_request: median_cpu(&group),
            }
        })
        .collect()
}

/// The median CPU time per request of every process watched in any of `group`'s runs.
fn median_cpu(group: &[&RunSummary]) -> BTreeMap<String, f64> {
    let mut samples: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for run in group {
        for (label, micros) in &run.cpu_us_per_request {
            samples.entry(label).or_default().push(*micros);
        }
    }
    samples
        .into_iter()
        .map(|(label, values)| (label.to_owned(), median(values)))
        .collect()
}

/// Where a target goes in tables: direct, floor, gateway, then anything else.
fn display_rank(target: &str) -> usize {
    [DIRECT, FLOOR, GATEWAY]
        .iter()
        .position(|known| *known == target)
        .unwrap_or(usize::MAX)
}

/// The median (the mean of the middle two for an even count); 0 for no values.
fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn run(target: &str, concurrency: usize, rps: f64, p50_us: f64) -> RunSummary {
        RunSummary {
            target: target.into(),
            round: None,
            concurrency,
            requests: 100,
            errors: 0,
            duration_s: 1.0,
            rps,
            p50_us,
            p90_us: p50_us,
            p99_us: p50_us * 2.0,
            max_us: p50_us * 3.0,
            cpu_us_per_request: BTreeMap::from([("hop".to_owned(), rps / 10.0)]),
            first_error: None,
        }
    }

    #[test]
    fn medians_are_taken_per_target_and_concurrency() {
        let runs = vec![
            run(GATEWAY, 1, 10.0, 300.0),
            run(GATEWAY, 1, 30.0, 100.0),
            run(GATEWAY, 1, 20.0, 200.0),
            run(DIRECT, 1, 50.0, 50.0),
        ];
        let summary = aggregate(&runs);
        assert_eq!(summary[0].target, DIRECT);
        let gateway = find(&summary, GATEWAY, 1).unwrap();
        assert_eq!(
            (gateway.rounds, gateway.rps, gateway.p50_us),
            (3, 20.0, 200.0)
        );
        assert_eq!(gateway.requests, 300);
        assert_eq!(gateway.cpu_us_per_request["hop"], 2.0);
    }

    #[test]
    fn even_counts_average_the_middle_pair() {
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }

    #[test]
    fn one_error_invalidates_the_report() {
        let mut failed = run(GATEWAY, 1, 1.0, 1.0);
        failed.errors = 1;
        let report = Report::new(
            BTreeMap::new(),
            vec![run(DIRECT, 1, 1.0, 1.0), failed],
            1,
            32,
        );
        assert!(!report.valid);
    }
}
