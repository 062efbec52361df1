//! CPU time other processes spend during the measured window, per request: on a small
//! machine where client, hop and server share the cores, this is what throughput is
//! made of. Read from `/proc/PID/stat` (user + system time of all threads, in clock ticks).

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::{Context as _, bail};
use tokio::time::Instant;

/// A process to watch, named for the report: `LABEL=PID` on the command line; `self`
/// as the PID means the load generator itself.
#[derive(Debug, Clone)]
pub struct CpuWatch {
    /// Name in the report, e.g. `hop` or `upstream`.
    pub label: String,
    /// The process, or `None` for the load generator itself.
    pub pid: Option<u32>,
}

impl FromStr for CpuWatch {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<CpuWatch> {
        let Some((label, pid)) = text.split_once('=') else {
            bail!("expected LABEL=PID, got {text:?}");
        };
        let pid = match pid {
            "self" => None,
            number => Some(
                number
                    .parse()
                    .with_context(|| format!("bad PID in {text:?}"))?,
            ),
        };
        Ok(CpuWatch {
            label: label.to_owned(),
            pid,
        })
    }
}

/// Reads the user + system CPU time of a process so far, in clock ticks.
pub fn cpu_ticks(pid: Option<u32>) -> anyhow::Result<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
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

/// Samples every watched process at the start and at the end of the measured window.
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

/// Reads every watched process once.
fn read_all(watches: &[CpuWatch]) -> anyhow::Result<Vec<u64>> {
    watches.iter().map(|watch| cpu_ticks(watch.pid)).collect()
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
        assert_eq!((watch.label.as_str(), watch.pid), ("hop", Some(42)));
        let own: CpuWatch = "client=self".parse().unwrap();
        assert_eq!(own.pid, None);
        assert!("nopid".parse::<CpuWatch>().is_err());
    }

    #[test]
    fn own_cpu_time_is_readable() {
        cpu_ticks(None).unwrap();
    }

    #[test]
    fn ticks_become_micros_per_request() {
        let ticks = BTreeMap::from([("hop".to_owned(), 100)]);
        let per_request = micros_per_request(ticks, 100, 20_000);
        assert_eq!(per_request["hop"], 50.0);
    }
}
