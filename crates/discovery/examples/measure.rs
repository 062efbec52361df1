//! Measures (does not assert) the embedder on this machine: load time, time to embed one
//! short query, and resident memory. Run with a release build:
//!
//! ```sh
//! cargo run --release -p mcpgw-discovery --example measure -- <model-dir>
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mcpgw_discovery::{Embedder, MiniLm};

/// `VmRSS` and `VmHWM` (peak) of this process in MiB, from `/proc/self/status` (Linux).
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
            .map_or_else(|| "?".to_owned(), |kib| format!("{:.0} MiB", kib / 1024.0))
    };
    format!("rss {}, peak {}", field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: measure <model-dir>")?;
    println!("before load: {}", memory());
    let started = Instant::now();
    let model = MiniLm::load(&dir)?;
    println!("load: {:?} ({})", started.elapsed(), memory());

    let query = "what time is it in Tokyo";
    let started = Instant::now();
    model.embed(&[query])?;
    println!("first query: {:?}", started.elapsed());
    let mut times = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        model.embed(&[query])?;
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "one short query ({} runs): p50 {:?}, p90 {:?}, p99 {:?} ({})",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99),
        memory()
    );

    let description = "Get the current time in a given IANA timezone and convert it between \
                       zones; returns ISO 8601 with the UTC offset and the zone's name.";
    let texts: Vec<&str> = std::iter::repeat_n(description, 256).collect();
    let started = Instant::now();
    model.embed(&texts)?;
    let elapsed = started.elapsed();
    println!(
        "256 tool descriptions (~30 word pieces each): {elapsed:?}, {:.0} texts/s ({})",
        256.0 / elapsed.as_secs_f64(),
        memory()
    );
    Ok(())
}
