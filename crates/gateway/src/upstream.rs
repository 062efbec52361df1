//! The pooled HTTP client used to reach upstream servers: keep-alive HTTP/1.1 and, where
//! the server offers it over TLS (ALPN), HTTP/2.

use std::time::Duration;

use axum::body::Body;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The upstream client type.
pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, Body>;

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Builds the client: connect timeout, TCP_NODELAY (small JSON-RPC messages must not wait
/// for Nagle), platform TLS roots.
pub fn build(connect_timeout: Duration) -> std::io::Result<UpstreamClient> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    http.enforce_http(false);
    let https = HttpsConnectorBuilder::new()
        .try_with_platform_verifier()
        .map_err(std::io::Error::other)?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(https))
}
