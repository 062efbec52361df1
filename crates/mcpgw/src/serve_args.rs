//! The flags of `mcpgw serve` (each also read from its `MCPGW_*` variable).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Flags of `mcpgw serve`; each overrides `MCPGW_*` and the config file.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML).
    #[arg(long, env = "MCPGW_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7860].
    #[arg(long, env = "MCPGW_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the database, keys and caches [default: ./mcpgw-data].
    #[arg(long, env = "MCPGW_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://FILE or postgres://USER:PASS@HOST/DB [default: sqlite in the data dir].
    #[arg(long, env = "MCPGW_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Public base URL of the gateway, used in metadata and rewritten URLs.
    #[arg(long, env = "MCPGW_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds between health-check rounds [default: 30].
    #[arg(long, env = "MCPGW_HEALTH_INTERVAL")]
    pub health_interval: Option<f64>,
    /// Seconds one health check may take [default: 10].
    #[arg(long, env = "MCPGW_HEALTH_TIMEOUT")]
    pub health_timeout: Option<f64>,
    /// The access policy, a `scopes.yml` (reloaded when it changes and on SIGHUP)
    /// [default: none: only admins may do anything].
    #[arg(long, env = "MCPGW_SCOPES_FILE")]
    pub scopes: Option<PathBuf>,
    /// Also start the example MCP servers and register them.
    #[arg(long)]
    pub demo: bool,
    /// Days the audit trail is kept; 0 keeps it forever [default: 90].
    #[arg(long, env = "MCPGW_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<u32>,
    /// Seconds open requests and streams get to finish after SIGTERM [default: 30].
    #[arg(long, env = "MCPGW_DRAIN_SECS")]
    pub drain_secs: Option<f64>,
    /// Seconds to keep accepting after SIGTERM while `/readyz` already answers 503, so
    /// that load balancers stop sending traffic before the listener closes [default: 0].
    #[arg(long, env = "MCPGW_DRAIN_DELAY_SECS")]
    pub drain_delay_secs: Option<f64>,
    /// Seconds between full re-reads of what other replicas may have changed, in case a
    /// change notification was lost [default: 30].
    #[arg(long, env = "MCPGW_RESYNC_SECS")]
    pub resync_secs: Option<f64>,
}
