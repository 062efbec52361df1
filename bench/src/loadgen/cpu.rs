//! CPU time spent during the measured window, per request: on a small machine where
//! client, hop and server share the cores, this is what throughput is made of. Processes
//! are read from `/proc/PID/stat` (user + system time of all their threads), the whole
//! machine from `/proc/stat` (every busy CPU tick, whoever spent it), both in clock ticks.
//! The machine's figure minus the processes' shows how much else ran: other processes,
//! and kernel work not charged to any process.

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::{Context as _, bail};
use tokio::time::Instant;

/// Where CPU time is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuSource {
    /// The load generator itself.
    OwnProcess,
    /// Another process, by id.
    Process(u32),
    /// All CPUs of the machine.
    Machine,
}

/// What to watch, named for the report: `LABEL=PID`, `LABEL=self` or `LABEL=machine`
/// on the command line.
#[derive(Debug, Clone)]
pub struct CpuWatch {
    /// Name in the report, e.g. `hop` or `upstream`.
    pub label: String,
    /// Where its time is read from.
    pub source: CpuSource,
}

impl FromStr for CpuWatch {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<CpuWatch> {
        let Some((label, source)) = text.split_once('=') else {
            bail!("expected LABEL=PID, LABEL=self or LABEL=machine, got {text:?}");
        };
        let source = match source {
            "self" => CpuSource::OwnProcess,
            "machine" => CpuSource::Machine,
            pid => CpuSource::Process(
                pid.parse()
                    .with_context(|| format!("bad PID in {text:?}"))?,
            ),
        };
        Ok(CpuWatch {
            label: label.to_owned(),
            source,
        })
    }
}

/// Reads the CPU time spent so far, in clock ticks.
pub fn cpu_ticks(source: CpuSource) -> anyhow::Result<u64> {
    match source {
        CpuSource::OwnProcess => process_ticks("/proc/self/stat"),
        CpuSource::Process(pid) => process_ticks(&format!("/proc/{pid}/stat")),
        CpuSource::Machine => machine_ticks(),
    }
}

/// User + system time of a process (`/proc/PID/stat` fields 14 and 15).
fn process_ticks(path: &str) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) may hold spaces; fields are counted after its `)`.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("unexpected {path}"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let field = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .with_context(|| format!("{path} has too few fields"))?
            .parse()
            .with_context(|| format!("{path}: field {} is not a number", index + 3))
    };
    Ok(field(11)? + field(12)?)
}

/// Busy time of all CPUs: the `cpu` line of `/proc/stat` without idle and iowait
/// (user, nice, system, irq, softirq, steal; guest time is already inside user).
fn machine_ticks() -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = stat
        .lines()
        .find(|line| line.starts_with("cpu "))
        .context("/proc/stat has no cpu line")?;
    let values = line
        .split_whitespace()
        .skip(1)
        .map(|value| value.parse::<u64>().context("/proc/stat: not a number"))
        .collect::<anyhow::Result<Vec<u64>>>()?;
    const BUSY: [usize; 6] = [0, 1, 2, 5, 6, 7];
    Ok(BUSY
        .iter()
        .map(|&index| values.get(index).copied().unwrap_or(0))
        .sum())
}

/// Samples every watch at the start and at the end of the measured window.
pub async fn sample_window(
    watches: Vec<CpuWatch>,
    from: Instant,
    until: Instant,
) -> anyhow::Result<BTreeMap<String, u64>> {
    tokio::time::sleep_until(from).await;
    let before = read_all(&watches)?;
    tokio::time::sleep_until(until).await;
    let after = read_all(&watches)?;
    Ok(watches
        .iter()
        .zip(before.iter().zip(after))
        .map(|(watch, (start, end))| (watch.label.clone(), end.saturating_sub(*start)))
        .collect())
}

/// Reads every watch once.
fn read_all(watches: &[CpuWatch]) -> anyhow::Result<Vec<u64>> {
    watches
        .iter()
        .map(|watch| cpu_ticks(watch.source))
        .collect()
}

/// Converts ticks spent over `requests` requests to microseconds per request.
pub fn micros_per_request(
    ticks: BTreeMap<String, u64>,
    clock_ticks_per_second: u64,
    requests: u64,
) -> BTreeMap<String, f64> {
    ticks
        .into_iter()
        .map(|(label, ticks)| {
            let micros = ticks as f64 * 1e6 / clock_ticks_per_second.max(1) as f64;
            let per_request = if requests > 0 {
                micros / requests as f64
            } else {
                0.0
            };
            (label, (per_request * 10.0).round() / 10.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_parse() {
        let watch: CpuWatch = "hop=42".parse().unwrap();
        assert_eq!(
            (watch.label.as_str(), watch.source),
            ("hop", CpuSource::Process(42))
        );
        let own: CpuWatch = "client=self".parse().unwrap();
        assert_eq!(own.source, CpuSource::OwnProcess);
        let all: CpuWatch = "machine=machine".parse().unwrap();
        assert_eq!(all.source, CpuSource::Machine);
        assert!("nopid".parse::<CpuWatch>().is_err());
    }

    #[test]
    fn own_and_machine_cpu_time_are_readable() {
        cpu_ticks(CpuSource::OwnProcess).unwrap();
        cpu_ticks(CpuSource::Machine).unwrap();
    }

    #[test]
    fn ticks_become_micros_per_request() {
        let ticks = BTreeMap::from([("hop".to_owned(), 100)]);
        let per_request = micros_per_request(ticks, 100, 20_000);
        assert_eq!(per_request["hop"], 50.0);
    }
}
