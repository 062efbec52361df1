//! Servers that do not speak Streamable HTTP themselves, served to clients that do (and
//! to legacy SSE clients): stdio processes the gateway runs, and legacy HTTP+SSE servers
//! behind `/{server}/mcp`.
//!
//! Each such server is one shared upstream connection, a [`channel::Channel`], kept by the
//! [`pool::BridgePool`]: started on first use (or at gateway start when `eager`),
//! initialised once by the gateway, restarted with backoff when it dies, replaced when its
//! definition changes. The frontends translate client transports into channel messages:
//! [`streamable`] for `/{server}/mcp`, [`legacy`] for `/{server}/sse` on stdio servers.
//!
//! Sharing one connection has a price, which is why Streamable HTTP servers are proxied
//! request by request instead: a client's `initialize` is answered with what the server
//! said to the gateway, per-session server state (log level, subscriptions) is common to
//! all clients, and server-to-client requests (sampling, elicitation) are refused.

pub mod channel;
pub mod legacy;
pub mod pool;
pub mod sse;
pub mod stdio;
pub mod streamable;

use crate::error::GatewayError;

/// Why a bridged server could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The process could not be started, or the SSE session could not be opened.
    #[error("{reason}")]
    Start {
        /// The server's path.
        server: String,
        /// Why.
        reason: String,
    },
    /// The process exited or the upstream stream ended.
    #[error("its connection has closed")]
    Closed(String),
    /// The server did not complete the gateway's `initialize`.
    #[error("{reason}")]
    Handshake {
        /// The server's path.
        server: String,
        /// Why.
        reason: String,
    },
    /// The server failed recently and is not retried yet.
    #[error("it failed ({reason}) and is retried in {seconds}s")]
    BackingOff {
        /// The server's path.
        server: String,
        /// The last failure.
        reason: String,
        /// Seconds until the next attempt.
        seconds: u64,
    },
}

impl BridgeError {
    /// The server this error is about.
    pub fn server(&self) -> &str {
        match self {
            BridgeError::Start { server, .. }
            | BridgeError::Closed(server)
            | BridgeError::Handshake { server, .. }
            | BridgeError::BackingOff { server, .. } => server,
        }
    }
}

impl From<BridgeError> for GatewayError {
    fn from(error: BridgeError) -> Self {
        GatewayError::Upstream {
            server: error.server().to_owned(),
            reason: error.to_string(),
        }
    }
}
