//! `loadgen`: sends a small stateless `tools/call echo` to one URL at a fixed concurrency
//! and prints one JSON line (see [`mcpgw_bench::loadgen::RunSummary`]). Exits with
//! status 2 when any request failed: the line is still printed, but the run is invalid.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use http::Uri;
use mcpgw_bench::loadgen::{self, CpuWatch, Settings};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(about = "Measure latency and throughput of a stateless MCP tools/call")]
struct Args {
    /// The MCP endpoint, e.g. http://127.0.0.1:8080/toolbox/mcp.
    #[arg(long)]
    url: Uri,
    /// Name of the target in the output.
    #[arg(long, default_value = "target")]
    label: String,
    /// The benchmark round this run belongs to (recorded in the output).
    #[arg(long)]
    round: Option<usize>,
    /// Concurrent connections, each sending back to back.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Seconds of warm-up (sent, checked, not measured).
    #[arg(long, default_value_t = 1.0)]
    warmup_secs: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 5.0)]
    duration_secs: f64,
    /// Bearer token to send.
    #[arg(long, env = "LOADGEN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The echo tool's name at the target (`toolbox__echo` on the aggregated `/mcp`).
    #[arg(long, default_value = mcpgw_bench::loadgen::TOOL)]
    tool: String,
    /// Text for `echo` to send back.
    #[arg(long, default_value = "hello from loadgen")]
    message: String,
    /// Report CPU time per request: LABEL=PID for a process, LABEL=self for this one,
    /// LABEL=machine for all CPUs; repeatable.
    #[arg(long = "cpu", value_name = "LABEL=PID")]
    cpu_watches: Vec<CpuWatch>,
    /// Clock ticks per second of /proc CPU times (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clock_ticks: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let settings = Settings {
        url: args.url,
        label: args.label,
        round: args.round,
        concurrency: args.concurrency,
        warmup: Duration::try_from_secs_f64(args.warmup_secs)?,
        duration: Duration::try_from_secs_f64(args.duration_secs)?,
        token: args.token,
        tool: args.tool,
        message: args.message,
        cpu_watches: args.cpu_watches,
        clock_ticks_per_second: args.clock_ticks,
    };
    let summary = loadgen::run(&settings).await?;
    println!("{}", serde_json::to_string(&summary)?);
    if let Some(error) = &summary.first_error {
        eprintln!(
            "loadgen: {} errors against {}; first: {error}",
            summary.errors, settings.label
        );
    }
    Ok(if summary.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
