//! The `[limits]` settings: request rates per principal and per server, how many requests
//! and event streams may be open at once, and how many stdio server processes may run.

use anyhow::bail;
use mcpgw_gateway::limits::Rate;
use serde::Deserialize;

/// The `[limits]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    principal_requests_per_second: Option<f64>,
    principal_burst: Option<f64>,
    server_requests_per_second: Option<f64>,
    server_burst: Option<f64>,
    max_concurrent_requests: Option<usize>,
    max_streams: Option<usize>,
    max_streams_per_principal: Option<usize>,
    max_stdio_processes: Option<usize>,
}

/// Default requests in flight at once (answers not yet started).
const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 10_000;
/// Default event streams open at once.
const DEFAULT_MAX_STREAMS: usize = 20_000;
/// Default event streams one principal may hold open (5 % of the default total: room for
/// an agent fleet sharing one token, not for one caller to take every place).
const DEFAULT_MAX_STREAMS_PER_PRINCIPAL: usize = 1_000;
/// Default stdio server processes at once.
const DEFAULT_MAX_STDIO_PROCESSES: usize = 256;

/// The `[limits]` settings, resolved.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Each principal's request rate (off unless configured).
    pub principal_rate: Option<Rate>,
    /// Each server's request rate (off unless configured).
    pub server_rate: Option<Rate>,
    /// Requests being answered at once; more get `503` with `Retry-After`.
    pub max_concurrent_requests: usize,
    /// Event streams open at once; a `GET` opening one more gets `503`.
    pub max_streams: usize,
    /// Event streams one principal may hold open; a `GET` opening one more gets `429`.
    pub max_streams_per_principal: usize,
    /// stdio server processes running at once.
    pub max_stdio_processes: usize,
}

impl LimitSettings {
    /// The section over the defaults.
    pub fn resolve(section: &LimitsSection) -> anyhow::Result<Self> {
        Ok(LimitSettings {
            principal_rate: rate(
                "principal",
                section.principal_requests_per_second,
                section.principal_burst,
            )?,
            server_rate: rate(
                "server",
                section.server_requests_per_second,
                section.server_burst,
            )?,
            max_concurrent_requests: count(
                "max_concurrent_requests",
                section.max_concurrent_requests,
                DEFAULT_MAX_CONCURRENT_REQUESTS,
            )?,
            max_streams: count("max_streams", section.max_streams, DEFAULT_MAX_STREAMS)?,
            max_streams_per_principal: count(
                "max_streams_per_principal",
                section.max_streams_per_principal,
                DEFAULT_MAX_STREAMS_PER_PRINCIPAL,
            )?,
            max_stdio_processes: count(
                "max_stdio_processes",
                section.max_stdio_processes,
                DEFAULT_MAX_STDIO_PROCESSES,
            )?,
        })
    }
}

/// A rate from `<who>_requests_per_second` and `<who>_burst` (default: one second's worth,
/// at least 1).
fn rate(who: &str, per_second: Option<f64>, burst: Option<f64>) -> anyhow::Result<Option<Rate>> {
    let Some(per_second) = per_second else {
        if burst.is_some() {
            bail!("limits {who}_burst needs {who}_requests_per_second");
        }
        return Ok(None);
    };
    if !(per_second.is_finite() && per_second > 0.0 && per_second <= 1_000_000.0) {
        bail!(
            "limits {who}_requests_per_second must be above 0 and at most 1000000, not {per_second}"
        );
    }
    let burst = burst.unwrap_or(per_second.max(1.0));
    if !(burst.is_finite() && (1.0..=10_000_000.0).contains(&burst)) {
        bail!("limits {who}_burst must be between 1 and 10000000, not {burst}");
    }
    Ok(Some(Rate { per_second, burst }))
}

/// A positive count with a default.
fn count(name: &str, value: Option<usize>, default: usize) -> anyhow::Result<usize> {
    match value {
        None => Ok(default),
        Some(count @ 1..=10_000_000) => Ok(count),
        Some(count) => bail!("limits {name} must be between 1 and 10000000, not {count}"),
    }
}
