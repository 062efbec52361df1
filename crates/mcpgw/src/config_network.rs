//! The `[network]` settings: where the gateway may connect on a server's behalf (the SSRF
//! guard, `mcpgw-netguard`).
//!
//! ```toml
//! [network]
//! deny_networks = ["10.0.0.0/8"]           # also closed, besides the built-in ones
//! allow_networks = ["169.254.169.254/32"]  # re-opened, even a built-in one
//! ```
//!
//! `MCPGW_DENY_NETWORKS` / `MCPGW_ALLOW_NETWORKS` (comma-separated) replace the file's
//! lists.

use std::sync::Arc;

use anyhow::Context;
use mcpgw_netguard::NetworkPolicy;
use serde::Deserialize;

/// The `[network]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    #[serde(default)]
    deny_networks: Vec<String>,
    #[serde(default)]
    allow_networks: Vec<String>,
}

/// The environment over the file's `section`, over the built-in denied networks.
pub fn resolve(section: &NetworkSection) -> anyhow::Result<Arc<NetworkPolicy>> {
    let deny = from_env("MCPGW_DENY_NETWORKS").unwrap_or_else(|| section.deny_networks.clone());
    let allow = from_env("MCPGW_ALLOW_NETWORKS").unwrap_or_else(|| section.allow_networks.clone());
    let policy = NetworkPolicy::new(&deny, &allow)
        .context("invalid [network] configuration (MCPGW_DENY_NETWORKS, MCPGW_ALLOW_NETWORKS)")?;
    let (denied, allowed) = policy.configured();
    if !denied.is_empty() || !allowed.is_empty() {
        tracing::info!(
            deny_networks = ?denied,
            allow_networks = ?allowed,
            "outbound connections to servers: configured networks besides the built-in denied ones"
        );
    }
    Ok(Arc::new(policy))
}

/// A comma-separated list from the environment variable `name`, if it is set.
fn from_env(name: &str) -> Option<Vec<String>> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// The `[upstream_tls]` section: TLS towards upstream servers.
///
/// ```toml
/// [upstream_tls]
/// ca_file = "/etc/mcpgw/internal-ca.pem"          # trusted besides the system roots
/// client_cert_file = "/etc/mcpgw/gateway.pem"      # for servers requiring mutual TLS
/// client_key_file = "/etc/mcpgw/gateway.key"
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTlsSection {
    ca_file: Option<std::path::PathBuf>,
    client_cert_file: Option<std::path::PathBuf>,
    client_key_file: Option<std::path::PathBuf>,
}

/// The `[upstream_tls]` files (relative paths are relative to the config file's
/// directory), read and checked now so that a mistake stops the start.
pub fn upstream_tls(
    section: UpstreamTlsSection,
    config_dir: Option<&std::path::Path>,
) -> anyhow::Result<mcpgw_mcp::client::UpstreamTlsFiles> {
    let relative = |path: std::path::PathBuf| match config_dir {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path,
    };
    let files = mcpgw_mcp::client::UpstreamTlsFiles {
        ca_file: section.ca_file.map(relative),
        client_cert_file: section.client_cert_file.map(relative),
        client_key_file: section.client_key_file.map(relative),
    };
    mcpgw_mcp::client::client_config(&files).context("invalid [upstream_tls] configuration")?;
    Ok(files)
}
