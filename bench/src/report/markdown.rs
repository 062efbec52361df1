//! The report as markdown: one row per target, then the hop costs and the targets.

use std::fmt::Write as _;

use super::{Aggregate, DIRECT, FLOOR, GATEWAY, MACHINE, Report};

/// Renders the table and the verdicts. Latency columns are read at
/// `latency_concurrency`, throughput columns at `throughput_concurrency`.
pub fn markdown(
    report: &Report,
    latency_concurrency: usize,
    throughput_concurrency: usize,
) -> String {
    let (low, high) = (latency_concurrency, throughput_concurrency);
    let mut out = String::new();
    if !report.valid {
        out.push_str("**INVALID: some runs had errors (see `runs[].first_error`); do not use these numbers.**\n\n");
    }
    let _ = writeln!(
        out,
        "| target | c={low} p50 µs | c={low} p99 µs | c={low} rps | c={high} rps | c={high} p50 µs | c={high} p99 µs |"
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    let mut targets: Vec<&str> = Vec::new();
    for entry in &report.summary {
        if !targets.contains(&entry.target.as_str()) {
            targets.push(&entry.target);
        }
    }
    for target in targets {
        let at_low = report.find(target, low);
        let at_high = report.find(target, high);
        let name = if target == FLOOR {
            "passthrough (floor)"
        } else {
            target
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            cell(at_low, |a| a.p50_us),
            cell(at_low, |a| a.p99_us),
            cell(at_low, |a| a.rps),
            cell(at_high, |a| a.rps),
            cell(at_high, |a| a.p50_us),
            cell(at_high, |a| a.p99_us),
        );
    }
    out.push('\n');
    cpu_table(&mut out, report);
    hop_cost(&mut out, report, low, high);
    verdicts(&mut out, report);
    out
}

/// CPU time per request of each watched process and of the whole machine, when any
/// was watched.
fn cpu_table(out: &mut String, report: &Report) {
    let mut processes: Vec<&str> = Vec::new();
    let mut machine_watched = false;
    for entry in &report.summary {
        for label in entry.cpu_us_per_request.keys() {
            if label == MACHINE {
                machine_watched = true;
            } else if !processes.contains(&label.as_str()) {
                processes.push(label);
            }
        }
    }
    if processes.is_empty() && !machine_watched {
        return;
    }
    out.push_str(
        "CPU time per request, µs (measured window only; processes: all their threads):\n\n",
    );
    let mut header = format!("| target | c | {} | processes", processes.join(" | "));
    if machine_watched {
        header.push_str(" | whole machine | anything else");
    }
    let columns = processes.len() + if machine_watched { 3 } else { 1 };
    let _ = writeln!(out, "{header} |\n|---|---:|{}", "---:|".repeat(columns));
    for entry in &report.summary {
        let cpu = &entry.cpu_us_per_request;
        let mut cells: Vec<String> = processes
            .iter()
            .map(|label| micros(cpu.get(*label).copied()))
            .collect();
        let total: f64 = processes.iter().filter_map(|label| cpu.get(*label)).sum();
        cells.push(micros(Some(total)));
        if machine_watched {
            let machine = cpu.get(MACHINE).copied();
            cells.push(micros(machine));
            cells.push(micros(machine.map(|machine| machine - total)));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            entry.target,
            entry.concurrency,
            cells.join(" | ")
        );
    }
    out.push('\n');
}

/// Microseconds to one decimal, or a dash.
fn micros(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |micros| format!("{micros:.1}"))
}

/// A number rounded for the table, or a dash when not measured.
fn cell(entry: Option<&Aggregate>, metric: fn(&Aggregate) -> f64) -> String {
    entry.map_or_else(|| "–".to_owned(), |entry| format!("{:.0}", metric(entry)))
}

/// What one extra bare hop costs on this machine (floor against direct).
fn hop_cost(out: &mut String, report: &Report, low: usize, high: usize) {
    if let (Some(direct), Some(floor)) = (report.find(DIRECT, low), report.find(FLOOR, low)) {
        let _ = writeln!(
            out,
            "- One bare hop (floor − direct) at c={low}: {:+.0} µs p50.",
            floor.p50_us - direct.p50_us
        );
    }
    if let (Some(direct), Some(floor)) = (report.find(DIRECT, high), report.find(FLOOR, high))
        && direct.rps > 0.0
    {
        let _ = writeln!(
            out,
            "- Floor throughput at c={high}: {:.2} × direct.",
            floor.rps / direct.rps
        );
    }
    if let (Some(floor), Some(gateway)) = (report.find(FLOOR, high), report.find(GATEWAY, high)) {
        let _ = writeln!(
            out,
            "- Gateway p99 at c={high}: {:+.0} µs over the floor.",
            gateway.p99_us - floor.p99_us
        );
    }
}

/// The two targets, met or missed.
fn verdicts(out: &mut String, report: &Report) {
    let Some(targets) = &report.targets else {
        out.push_str("- Targets not checked: the floor or the gateway was not measured at both concurrencies.\n");
        return;
    };
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let latency = &targets.latency;
    let _ = writeln!(
        out,
        "- Target gateway p50 ≤ floor + {:.0} µs at c={}: gateway − floor = {:+.1} µs → {}{}.",
        latency.budget_us,
        latency.concurrency,
        latency.overhead_us,
        verdict(latency.met),
        per_round(
            &latency.overhead_us_by_round,
            latency.overhead_us_paired_median,
            signed_micros
        )
    );
    let throughput = &targets.throughput;
    let _ = writeln!(
        out,
        "- Target gateway rps ≥ {:.2} × floor at c={}: {:.3} × floor → {}{}.",
        throughput.required_ratio,
        throughput.concurrency,
        throughput.ratio,
        verdict(throughput.met),
        per_round(
            &throughput.ratio_by_round,
            throughput.ratio_paired_median,
            ratio
        )
    );
}

/// ` (within each round: a, b, c; median m)`, or nothing when rounds were not recorded.
fn per_round(values: &[f64], median: Option<f64>, show: fn(f64) -> String) -> String {
    let Some(median) = median else {
        return String::new();
    };
    let values: Vec<String> = values.iter().map(|value| show(*value)).collect();
    format!(
        " (within each round: {}; median {})",
        values.join(", "),
        show(median)
    )
}

/// A signed microsecond difference.
fn signed_micros(value: f64) -> String {
    format!("{value:+.1}")
}

/// A ratio.
fn ratio(value: f64) -> String {
    format!("{value:.3}")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::tests::run;
    use super::*;

    fn report_of(runs: Vec<crate::loadgen::RunSummary>) -> Report {
        Report::new(BTreeMap::new(), runs, 1, 32)
    }

    #[test]
    fn the_table_has_a_row_per_target_and_the_verdicts() {
        let mut gateway = run(GATEWAY, 1, 4000.0, 130.0);
        gateway.cpu_us_per_request.insert(MACHINE.to_owned(), 500.0);
        let report = report_of(vec![
            run(DIRECT, 1, 6000.0, 80.0),
            run(FLOOR, 1, 5000.0, 100.0),
            gateway,
            run(FLOOR, 32, 10000.0, 1000.0),
            run(GATEWAY, 32, 7000.0, 1200.0),
        ]);
        let text = markdown(&report, 1, 32);
        assert!(text.contains("| passthrough (floor) | 100 | 200 | 5000 | 10000 | 1000 | 2000 |"));
        assert!(text.contains("| direct | 80 | 160 | 6000 | – | – | – |"));
        assert!(text.contains("| gateway | 1 | 400.0 | 400.0 | 500.0 | 100.0 |"));
        assert!(text.contains("+30.0 µs → MISSED"));
        assert!(text.contains("0.700 × floor → MISSED"));
        assert!(!text.contains("INVALID"));
    }

    #[test]
    fn errors_are_announced_first() {
        let mut failed = run(GATEWAY, 1, 1.0, 1.0);
        failed.errors = 3;
        let text = markdown(&report_of(vec![failed]), 1, 32);
        assert!(text.starts_with("**INVALID"));
        assert!(text.contains("Targets not checked"));
    }
}
