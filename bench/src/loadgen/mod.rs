//! The load generator: `concurrency` workers, each on its own keep-alive connection,
//! send the same request back to back for a warm-up and then for the measured duration.

mod check;
mod cpu;
mod request;
mod summary;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use http::Uri;
use tokio::time::Instant;

pub use cpu::CpuWatch;
pub use request::{EchoCall, TOOL};
pub use summary::RunSummary;
use worker::{Schedule, WorkerOutcome};

/// What to measure and how.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The MCP endpoint to call, e.g. `http://127.0.0.1:8080/toolbox/mcp`.
    pub url: Uri,
    /// Name of the target in the report (`direct`, `passthrough`, `gateway`).
    pub label: String,
    /// Which round of a benchmark this run belongs to, if any (recorded, not used).
    pub round: Option<usize>,
    /// Number of concurrent workers, one connection each.
    pub concurrency: usize,
    /// How long to send before measuring.
    pub warmup: Duration,
    /// How long to measure.
    pub duration: Duration,
    /// Bearer token, if the target needs one.
    pub token: Option<String>,
    /// The echo tool's name at the target.
    pub tool: String,
    /// The text `echo` is asked to send back.
    pub message: String,
    /// Processes whose CPU time per request is reported.
    pub cpu_watches: Vec<CpuWatch>,
    /// The kernel's clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
    pub clock_ticks_per_second: u64,
}

/// Delay between spawning the workers and the start of the warm-up, so that every worker
/// is scheduled before the clock runs.
const START_DELAY: Duration = Duration::from_millis(20);

/// Runs the load and summarises what was measured.
pub async fn run(settings: &Settings) -> anyhow::Result<RunSummary> {
    anyhow::ensure!(settings.concurrency > 0, "concurrency must be at least 1");
    let call = Arc::new(EchoCall::new(
        &settings.url,
        settings.token.as_deref(),
        &settings.tool,
        &settings.message,
    )?);
    let started = Instant::now() + START_DELAY;
    let schedule = Schedule {
        start: started,
        measure_from: started + settings.warmup,
        until: started + settings.warmup + settings.duration,
    };
    let cpu_sampler = tokio::spawn(cpu::sample_window(
        settings.cpu_watches.clone(),
        schedule.measure_from,
        schedule.until,
    ));
    let workers: Vec<_> = (0..settings.concurrency)
        .map(|_| tokio::spawn(worker::run(Arc::clone(&call), schedule)))
        .collect();
    let mut outcomes = Vec::with_capacity(workers.len());
    for worker in workers {
        outcomes.push(worker.await.context("a worker panicked")??);
    }
    let cpu_ticks = cpu_sampler.await.context("the CPU sampler panicked")??;
    let mut summary = summarise(settings, schedule, outcomes)?;
    summary.cpu_us_per_request =
        cpu::micros_per_request(cpu_ticks, settings.clock_ticks_per_second, summary.requests);
    Ok(summary)
}

/// Merges the workers' histograms and counts into one summary.
fn summarise(
    settings: &Settings,
    schedule: Schedule,
    outcomes: Vec<WorkerOutcome>,
) -> anyhow::Result<RunSummary> {
    let mut latencies = worker::new_histogram()?;
    let mut errors = 0;
    let mut first_error = None;
    let mut last_finish = schedule.measure_from;
    for outcome in outcomes {
        latencies
            .add(&outcome.latencies)
            .context("merging latency histograms")?;
        errors += outcome.errors;
        first_error = first_error.or(outcome.first_error);
        last_finish = last_finish.max(outcome.finished);
    }
    let window = last_finish.duration_since(schedule.measure_from);
    Ok(summary::from_histogram(
        settings,
        &latencies,
        errors,
        first_error,
        window,
    ))
}
