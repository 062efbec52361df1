//! The pooled HTTP client used to reach upstream servers: keep-alive HTTP/1.1 and, where
//! the server offers it over TLS (ALPN), HTTP/2.
//!
//! Every new connection is checked against the [`NetworkPolicy`] (the SSRF guard): a name
//! is resolved by a [`GuardedResolver`] that drops denied addresses (so DNS rebinding
//! cannot reach them), an IP-literal URL is checked by the [`GuardedConnector`] before it
//! connects. Pooled connections are reused without another check; requests add nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mcpgw_netguard::{GuardedConnector, GuardedResolver, NetworkPolicy};

/// The upstream client type.
pub type UpstreamClient =
    Client<GuardedConnector<HttpsConnector<HttpConnector<GuardedResolver>>>, Body>;

/// Silence before TCP keep-alive probes start on an upstream connection.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
/// Time between keep-alive probes.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// Unanswered probes after which the connection is declared dead (so within about 60 s).
const KEEPALIVE_RETRIES: u32 = 3;

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Builds the client: connect timeout, TCP_NODELAY (small JSON-RPC messages must not wait
/// for Nagle), platform TLS roots, connections only where `network` allows.
pub fn build(
    connect_timeout: Duration,
    network: Arc<NetworkPolicy>,
) -> std::io::Result<UpstreamClient> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut http = HttpConnector::new_with_resolver(GuardedResolver::new(Arc::clone(&network)));
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    // A long-lived stream (an SSE session the gateway holds open) to a peer that vanished
    // without a FIN is found dead by TCP keep-alive instead of hanging forever.
    http.set_keepalive(Some(KEEPALIVE_IDLE));
    http.set_keepalive_interval(Some(KEEPALIVE_INTERVAL));
    http.set_keepalive_retries(Some(KEEPALIVE_RETRIES));
    http.enforce_http(false);
    let https = match mcpgw_mcp::client::upstream_tls() {
        // The organisation's CA and client certificate (`[upstream_tls]`).
        Some(tls) => {
            // hyper-rustls offers the protocols itself (and refuses a preset list).
            let mut config = (*tls).clone();
            config.alpn_protocols.clear();
            HttpsConnectorBuilder::new().with_tls_config(config)
        }
        None => HttpsConnectorBuilder::new()
            .try_with_platform_verifier()
            .map_err(std::io::Error::other)?,
    }
    .https_or_http()
    .enable_http1()
    .enable_http2()
    .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(GuardedConnector::new(https, network)))
}
