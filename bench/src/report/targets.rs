//! The targets, measured against the floor (the bare pass-through proxy), never
//! against the direct figure: gateway p50 at the latency concurrency ≤ floor + 25 µs, and
//! gateway throughput at the throughput concurrency ≥ 0.8 × floor.
//!
//! The verdict is taken on the medians across rounds. Because the machine is shared and
//! noisy, the same comparison is also made within each round (the gateway's run against
//! the floor's run of the same round, made minutes apart at most) and reported beside it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Aggregate, FLOOR, GATEWAY, find, median};
use crate::loadgen::RunSummary;

/// How much the gateway's p50 may exceed the floor's, microseconds.
pub const LATENCY_BUDGET_US: f64 = 25.0;
/// The share of the floor's throughput the gateway must reach.
pub const THROUGHPUT_SHARE: f64 = 0.8;

/// Both targets, with the numbers they were decided on.
#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    /// The latency target.
    pub latency: LatencyCheck,
    /// The throughput target.
    pub throughput: ThroughputCheck,
}

/// Gateway p50 against floor p50.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyCheck {
    /// Concurrency the p50s were measured at.
    pub concurrency: usize,
    /// Floor p50 (median across rounds), microseconds.
    pub floor_p50_us: f64,
    /// Gateway p50 (median across rounds), microseconds.
    pub gateway_p50_us: f64,
    /// Gateway minus floor, microseconds: what the verdict is taken on.
    pub overhead_us: f64,
    /// Gateway minus floor within each round, in round order.
    pub overhead_us_by_round: Vec<f64>,
    /// The median of `overhead_us_by_round`.
    pub overhead_us_paired_median: Option<f64>,
    /// The allowed overhead, microseconds.
    pub budget_us: f64,
    /// Whether the overhead is within budget.
    pub met: bool,
}

/// Gateway throughput against floor throughput.
#[derive(Debug, Clone, Serialize)]
pub struct ThroughputCheck {
    /// Concurrency the throughputs were measured at.
    pub concurrency: usize,
    /// Floor requests per second (median across rounds).
    pub floor_rps: f64,
    /// Gateway requests per second (median across rounds).
    pub gateway_rps: f64,
    /// Gateway divided by floor: what the verdict is taken on.
    pub ratio: f64,
    /// Gateway divided by floor within each round, in round order.
    pub ratio_by_round: Vec<f64>,
    /// The median of `ratio_by_round`.
    pub ratio_paired_median: Option<f64>,
    /// The required ratio.
    pub required_ratio: f64,
    /// Whether the ratio is reached.
    pub met: bool,
}

/// Checks both targets; `None` when the floor or the gateway was not measured at both
/// concurrencies.
pub fn check_targets(
    summary: &[Aggregate],
    runs: &[RunSummary],
    latency_concurrency: usize,
    throughput_concurrency: usize,
) -> Option<TargetCheck> {
    let floor_latency = find(summary, FLOOR, latency_concurrency)?;
    let gateway_latency = find(summary, GATEWAY, latency_concurrency)?;
    let floor_throughput = find(summary, FLOOR, throughput_concurrency)?;
    let gateway_throughput = find(summary, GATEWAY, throughput_concurrency)?;
    let overhead_us = round_to(gateway_latency.p50_us - floor_latency.p50_us, 10.0);
    let ratio = ratio_of(gateway_throughput.rps, floor_throughput.rps);
    let overhead_us_by_round = by_round(runs, latency_concurrency, |gateway, floor| {
        round_to(gateway.p50_us - floor.p50_us, 10.0)
    });
    let ratio_by_round = by_round(runs, throughput_concurrency, |gateway, floor| {
        ratio_of(gateway.rps, floor.rps)
    });
    Some(TargetCheck {
        latency: LatencyCheck {
            concurrency: latency_concurrency,
            floor_p50_us: floor_latency.p50_us,
            gateway_p50_us: gateway_latency.p50_us,
            overhead_us,
            overhead_us_paired_median: paired_median(&overhead_us_by_round),
            overhead_us_by_round,
            budget_us: LATENCY_BUDGET_US,
            met: overhead_us <= LATENCY_BUDGET_US,
        },
        throughput: ThroughputCheck {
            concurrency: throughput_concurrency,
            floor_rps: floor_throughput.rps,
            gateway_rps: gateway_throughput.rps,
            ratio,
            ratio_paired_median: paired_median(&ratio_by_round),
            ratio_by_round,
            required_ratio: THROUGHPUT_SHARE,
            met: ratio >= THROUGHPUT_SHARE,
        },
    })
}

/// `compare(gateway, floor)` for every round that has both runs at `concurrency`.
fn by_round(
    runs: &[RunSummary],
    concurrency: usize,
    compare: impl Fn(&RunSummary, &RunSummary) -> f64,
) -> Vec<f64> {
    let mut rounds: BTreeMap<usize, (Option<&RunSummary>, Option<&RunSummary>)> = BTreeMap::new();
    for run in runs.iter().filter(|run| run.concurrency == concurrency) {
        let Some(round) = run.round else { continue };
        let pair = rounds.entry(round).or_default();
        match run.target.as_str() {
            GATEWAY => pair.0 = Some(run),
            FLOOR => pair.1 = Some(run),
            _ => {}
        }
    }
    rounds
        .into_values()
        .filter_map(|pair| match pair {
            (Some(gateway), Some(floor)) => Some(compare(gateway, floor)),
            _ => None,
        })
        .collect()
}

/// The median of per-round values, if there are any.
fn paired_median(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| median(values.to_vec()))
}

/// `part / whole` to three decimals; 0 when `whole` is 0.
fn ratio_of(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        round_to(part / whole, 1000.0)
    } else {
        0.0
    }
}

/// Rounds to `1 / scale` (e.g. scale 10 → one decimal).
fn round_to(value: f64, scale: f64) -> f64 {
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::super::{aggregate, tests::run};
    use super::*;

    fn in_round(mut summary: RunSummary, round: usize) -> RunSummary {
        summary.round = Some(round);
        summary
    }

    #[test]
    fn targets_compare_the_gateway_with_the_floor() {
        let runs = vec![
            in_round(run(FLOOR, 1, 5000.0, 100.0), 1),
            in_round(run(GATEWAY, 1, 4000.0, 130.0), 1),
            in_round(run(FLOOR, 32, 10000.0, 1000.0), 1),
            in_round(run(GATEWAY, 32, 8500.0, 1200.0), 1),
            in_round(run(FLOOR, 1, 5000.0, 120.0), 2),
            in_round(run(GATEWAY, 1, 4000.0, 130.0), 2),
        ];
        let check = check_targets(&aggregate(&runs), &runs, 1, 32).unwrap();
        assert_eq!(check.latency.overhead_us, 20.0);
        assert_eq!(check.latency.overhead_us_by_round, vec![30.0, 10.0]);
        assert_eq!(check.latency.overhead_us_paired_median, Some(20.0));
        assert!(check.latency.met);
        assert_eq!(check.throughput.ratio, 0.85);
        assert_eq!(check.throughput.ratio_by_round, vec![0.85]);
        assert!(check.throughput.met);
    }

    #[test]
    fn missing_targets_mean_no_check() {
        let runs = vec![run(FLOOR, 1, 5000.0, 100.0)];
        assert!(check_targets(&aggregate(&runs), &runs, 1, 32).is_none());
    }
}
