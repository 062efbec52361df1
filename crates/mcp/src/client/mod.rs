//! Upstream MCP clients: how mcpgw itself talks to a registered server.
//!
//! [`probe`] connects to a server in the newest era it supports, learns its identity and
//! its full tool list, and disconnects. It is what health checks and tool refreshes use.
//! The era is detected as the 2026-07-28 backward-compatibility rules describe: a modern
//! `server/discover` first, then the `initialize` handshake, then (for HTTP) the legacy
//! HTTP+SSE transport.
//!
//! [`HttpSession`] is the lasting counterpart for calls: one caller's connection to one
//! Streamable HTTP server, kept across requests (stateless, or a stateful session that is
//! re-established when the server loses it).

mod body;
mod error;
mod handshake;
mod http;
mod legacy_sse;
mod process_group;
mod process_slots;
mod response;
mod session;
mod session_wire;
mod spawn;
mod stderr_tail;
mod stdio;
mod stdio_env;
mod stdio_probe;
mod tls;

use std::time::Duration;

use serde_json::Value;
use url::Url;

pub use error::{ProbeError, root_cause};
pub use legacy_sse::resolve_endpoint;
pub use process_slots::{ProcessSlot, set_max_stdio_processes};
pub use session::{HttpSession, SessionOptions};
pub use spawn::{GroupHandle, ServerProcess, spawn_server};
pub use stdio_env::inherited as inherited_env;
pub use tls::{
    UpstreamTlsError, UpstreamTlsFiles, client_config, configure_upstream_tls, upstream_tls,
};

use crate::version::Era;

/// Where and how a server is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// Streamable HTTP (stateless 2026-07-28 or stateful 2025-xx; legacy SSE as fallback).
    StreamableHttp {
        /// The MCP endpoint URL.
        url: Url,
        /// Extra headers to send on every request.
        headers: Vec<(String, String)>,
    },
    /// The deprecated HTTP+SSE transport: `url` is the SSE stream endpoint.
    LegacySse {
        /// The SSE endpoint URL.
        url: Url,
        /// Extra headers to send on every request.
        headers: Vec<(String, String)>,
    },
    /// A local process speaking newline-delimited JSON-RPC on stdin/stdout.
    Stdio {
        /// Program to run.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Extra environment variables.
        env: Vec<(String, String)>,
    },
}

/// Settings for one probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Shared HTTP client (connection pool); see [`http_client`].
    pub http: reqwest::Client,
    /// Deadline for the whole probe, connection to last tool page.
    pub timeout: Duration,
    /// Name mcpgw announces as `clientInfo.name`.
    pub client_name: String,
    /// Version mcpgw announces as `clientInfo.version`.
    pub client_version: String,
}

/// What a successful probe learned about a server.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeReport {
    /// The era the server was reached in.
    pub era: Era,
    /// The negotiated protocol version.
    pub protocol_version: String,
    /// The server's `serverInfo` (name, version, title …) if it sent one.
    pub server_info: Option<Value>,
    /// The server's `instructions`, if any.
    pub instructions: Option<String>,
    /// Every tool the server lists, as the server described it, in its order.
    pub tools: Vec<Value>,
}

/// [`guarded_http_client`] with the built-in SSRF guard only (no `[network]` settings).
pub fn http_client(connect_timeout: Duration) -> Result<reqwest::Client, ProbeError> {
    guarded_http_client(connect_timeout, std::sync::Arc::default())
}

/// Builds the HTTP client used to reach upstream servers (rustls with the ring provider).
///
/// It never follows redirects: a registered server's secret headers must only ever go to
/// the URL that was registered, not to wherever a response points (possibly another
/// origin). A redirect is reported instead, with its target.
///
/// It connects only where `network` allows (the SSRF guard): names resolve through
/// `mcpgw_netguard::GuardedResolver`, and every new connection's peer is checked (an
/// IP-literal URL; callers check those before sending too, with
/// `NetworkPolicy::check_url`).
pub fn guarded_http_client(
    connect_timeout: Duration,
    network: std::sync::Arc<mcpgw_netguard::NetworkPolicy>,
) -> Result<reqwest::Client, ProbeError> {
    // Installing the process-wide provider is idempotent; a second call reports that one is
    // already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = mcpgw_netguard::guarded_client(network);
    if let Some(tls) = upstream_tls() {
        // The organisation's CA and client certificate (`[upstream_tls]`).
        builder = builder.tls_backend_preconfigured((*tls).clone());
    }
    builder
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| ProbeError::Config(format!("cannot build HTTP client: {error}")))
}

/// Connects to `endpoint`, detects its era, lists its tools and disconnects.
///
/// Everything up to the last tool page happens within `options.timeout`. Stopping a stdio
/// server comes after that deadline (and is bounded on its own), so a server that answered
/// in time is not reported as timed out because it is slow to exit.
pub async fn probe(endpoint: &Endpoint, options: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
    match endpoint {
        Endpoint::StreamableHttp { url, headers } => {
            within_deadline(options, http::probe_streamable(url, headers, options)).await
        }
        Endpoint::LegacySse { url, headers } => {
            within_deadline(options, legacy_sse::probe_legacy(url, headers, options)).await
        }
        Endpoint::Stdio { command, args, env } => {
            stdio_probe::probe_stdio(command, args, env, options).await
        }
    }
}

/// Runs `work` under the probe deadline.
pub(crate) async fn within_deadline<T>(
    options: &ProbeOptions,
    work: impl Future<Output = Result<T, ProbeError>>,
) -> Result<T, ProbeError> {
    tokio::time::timeout(options.timeout, work)
        .await
        .map_err(|_| ProbeError::Timeout(options.timeout))?
}
