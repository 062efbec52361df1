//! Serving client connections: the HTTP/1.1 and HTTP/2 protocol (hyper), HTTPS (rustls),
//! and the limits that keep one client, or many, from taking the gateway down: a cap on
//! open connections, how long a client may take to send a request's head (slowloris)
//! or stay idle between requests, how large that head may be, how many streams one
//! HTTP/2 connection may open, and how long a TLS handshake may take.
//!
//! [`crate::workers`] decides which thread serves a connection; this module serves it.

pub mod activity;
pub mod connection;
pub mod limits;
pub mod tls;

use std::time::Duration;

pub use connection::serve_connection;

use std::convert::Infallible;

use axum::body::Body;
use axum::response::Response;
use http::Request;

/// What answers the requests of every connection: the gateway's application as a tower
/// service (cloned per connection).
pub trait App:
    tower::Service<Request<Body>, Response = Response, Error = Infallible, Future: Send>
    + Clone
    + Send
    + 'static
{
}

impl<S> App for S where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static
{
}
pub use limits::{ConnectionPermit, OpenConnections};

/// Limits and timeouts of client connections (`[server]`).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Most client connections open at once; more are answered `503` and closed.
    pub max_connections: usize,
    /// How long a client may take to send a request's head, and how long a connection
    /// may stay idle (HTTP/1.1: between requests; HTTP/2: with no request in flight)
    /// before it is closed.
    pub header_read_timeout: Duration,
    /// Largest request head (request line and headers), in bytes; larger ones get `431`.
    pub max_header_bytes: usize,
    /// Most headers in one request.
    pub max_headers: usize,
    /// How long a TLS handshake may take.
    pub tls_handshake_timeout: Duration,
    /// Most streams (requests) open at once on one HTTP/2 connection.
    pub h2_max_concurrent_streams: u32,
    /// How often an idle HTTP/2 connection is pinged; one that does not answer within as
    /// long again is closed (a peer gone without a word).
    pub h2_keep_alive: Duration,
}

/// Smallest buffer hyper accepts for a request head.
pub const MIN_HEADER_BYTES: usize = 8 * 1024;

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 25_000,
            header_read_timeout: Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            tls_handshake_timeout: Duration::from_secs(10),
            h2_max_concurrent_streams: 256,
            h2_keep_alive: Duration::from_secs(30),
        }
    }
}

/// How connections are served: the limits, and HTTPS when configured.
#[derive(Clone)]
pub struct ServeOptions {
    /// Limits and timeouts.
    pub limits: ConnectionLimits,
    /// The TLS acceptor when the listener serves HTTPS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl ServeOptions {
    /// The options `settings` describe; with HTTPS, the certificate files are read now
    /// (a start with unreadable ones fails) and watched until `shutdown`.
    pub fn from_settings(
        settings: &crate::config_server::ServerSettings,
        shutdown: &tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<ServeOptions> {
        let tls = match &settings.tls {
            None => None,
            Some(files) => {
                let (config, certificate) = tls::server_config(files)?;
                tls::reload_on_change(files.clone(), certificate, shutdown.clone())?;
                Some(tokio_rustls::TlsAcceptor::from(config))
            }
        };
        Ok(ServeOptions {
            limits: settings.limits.clone(),
            tls,
        })
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}
