//! The `[cluster]` settings: stopping a replica gracefully, and how often replicas re-read
//! what the others may have changed.

use std::time::Duration;

use serde::Deserialize;

use crate::cli::ServeArgs;
use crate::config::seconds;

/// The `[cluster]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    drain_secs: Option<f64>,
    drain_delay_secs: Option<f64>,
    resync_secs: Option<f64>,
}

/// Default time open requests and streams get to finish after SIGTERM.
const DEFAULT_DRAIN: Duration = Duration::from_secs(30);
/// Default time between full re-reads of the state other replicas change.
const DEFAULT_RESYNC: Duration = Duration::from_secs(30);

/// The `[cluster]` settings, resolved.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// How long open requests and streams get to finish after SIGTERM (`drain_secs`,
    /// `MCPGW_DRAIN_SECS`, `--drain-secs`).
    pub drain: Duration,
    /// How long to keep accepting after SIGTERM while `/readyz` answers 503
    /// (`drain_delay_secs`, `MCPGW_DRAIN_DELAY_SECS`; default 0).
    pub drain_delay: Duration,
    /// How often everything other replicas may change is read again, in case a change
    /// notification was lost (`resync_secs`, `MCPGW_RESYNC_SECS`).
    pub resync: Duration,
}

impl ClusterSettings {
    /// Flags and environment (`args`) over the file's `section`, over the defaults.
    pub fn resolve(args: &ServeArgs, section: &ClusterSection) -> anyhow::Result<Self> {
        Ok(ClusterSettings {
            drain: seconds("cluster drain_secs", args.drain_secs.or(section.drain_secs))?
                .unwrap_or(DEFAULT_DRAIN),
            drain_delay: match args.drain_delay_secs.or(section.drain_delay_secs) {
                // 0 (the default) closes the listener at once.
                Some(0.0) => Duration::ZERO,
                other => seconds("cluster drain_delay_secs", other)?.unwrap_or_default(),
            },
            resync: seconds(
                "cluster resync_secs",
                args.resync_secs.or(section.resync_secs),
            )?
            .unwrap_or(DEFAULT_RESYNC),
        })
    }
}
