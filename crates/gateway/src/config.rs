//! Limits and timeouts of the data plane.

use std::sync::Arc;
use std::time::Duration;

use mcpgw_netguard::NetworkPolicy;

/// Data-plane settings.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayConfig {
    /// Largest request body accepted on an MCP route (413 above).
    pub max_body_bytes: usize,
    /// Time to establish a connection to an upstream.
    pub connect_timeout: Duration,
    /// Time from sending a request upstream to receiving its response headers.
    pub first_byte_timeout: Duration,
    /// Longest silence allowed inside a streamed response body.
    pub idle_timeout: Duration,
    /// Longest time a request body may take to arrive once its head is in.
    pub body_read_timeout: Duration,
    /// The gateway's public base URL, for the metadata URLs clients are told about.
    pub public_url: Option<String>,
    /// Tell upstreams who is calling (`X-User`, `X-Client-Id`, `X-Scopes`, `X-Auth-Method`).
    pub forward_identity: bool,
    /// Where upstream connections may go (the SSRF guard, `[network]`); checked per new
    /// connection by the upstream client and the aggregated endpoint's client.
    pub network: Arc<NetworkPolicy>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            max_body_bytes: 4 * 1024 * 1024,
            connect_timeout: Duration::from_secs(5),
            first_byte_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(600),
            body_read_timeout: Duration::from_secs(60),
            public_url: None,
            forward_identity: false,
            network: Arc::default(),
        }
    }
}
