//! `report`: aggregates the JSON lines `loadgen` printed during `bench/run.sh` (median
//! across rounds), writes the result as JSON and prints it as a markdown table. Exits
//! with status 2 when any run had errors: such a result is recorded but invalid.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Parser;
use mcpgw_bench::loadgen::RunSummary;
use mcpgw_bench::report::{Report, markdown};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(about = "Aggregate benchmark runs into bench/results/latest.json and a markdown table")]
struct Args {
    /// File of `loadgen` JSON lines, one run each.
    #[arg(long)]
    runs: PathBuf,
    /// Where to write the JSON report.
    #[arg(long)]
    out: PathBuf,
    /// Metadata to record, KEY=VALUE (repeatable): machine, commit, command, settings.
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    meta: Vec<String>,
    /// Concurrency at which latency (p50/p99) is judged.
    #[arg(long, default_value_t = 1)]
    latency_concurrency: usize,
    /// Concurrency at which throughput is judged.
    #[arg(long, default_value_t = 32)]
    throughput_concurrency: usize,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let runs = read_runs(&args.runs)?;
    let meta = parse_meta(&args.meta)?;
    let report = Report::new(
        meta,
        runs,
        args.latency_concurrency,
        args.throughput_concurrency,
    );
    let json = serde_json::to_string_pretty(&report).context("serialising the report")?;
    std::fs::write(&args.out, json + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    print!(
        "{}",
        markdown(
            &report,
            args.latency_concurrency,
            args.throughput_concurrency
        )
    );
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Reads one [`RunSummary`] per non-empty line.
fn read_runs(path: &PathBuf) -> anyhow::Result<Vec<RunSummary>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(index, line)| {
            serde_json::from_str(line).with_context(|| {
                format!(
                    "{} line {}: not a loadgen result",
                    path.display(),
                    index + 1
                )
            })
        })
        .collect()
}

/// Splits `KEY=VALUE` pairs.
fn parse_meta(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut meta = BTreeMap::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("--meta needs KEY=VALUE, got {pair:?}");
        };
        meta.insert(key.to_owned(), value.to_owned());
    }
    Ok(meta)
}
