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

use serde_json::{Value, json};

use crate::error::GatewayError;
use pool::Running;

/// What the gateway does with one client message on a shared connection.
pub(crate) enum Action {
    /// Answer at once with this (a client's `initialize`, answered with what the server
    /// told the gateway).
    Replay(Value),
    /// Nothing to do (the client's `notifications/initialized`; a client's response to a
    /// server request, which the gateway refused already).
    Absorb,
    /// A request to send upstream.
    Request(Value),
    /// A notification to send upstream.
    Notify(Value),
}

/// Stateful protocol revisions a client may ask for; the gateway, which translates every
/// message anyway, answers an older one in its own terms.
const STATEFUL_REVISIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// Whether a client asking for `requested` is answered with it rather than with what the
/// server negotiated with the gateway: a known revision no newer than the negotiated one
/// (an older client would otherwise be told a version it cannot speak, and hang up).
fn answers_as(requested: &str, negotiated: Option<&str>) -> bool {
    STATEFUL_REVISIONS.contains(&requested)
        && negotiated.is_some_and(|negotiated| requested < negotiated)
}

/// Sorts one client message. A client's `initialize` never reaches a shared server: it
/// would re-initialise the connection under every other client.
pub(crate) fn classify(message: Value, running: &Running) -> Action {
    let method = message.get("method").and_then(Value::as_str);
    let initialized = running.initialize.is_some();
    match (method, message.get("id")) {
        (Some("initialize"), Some(id)) if initialized => {
            let mut result = running.initialize.clone().unwrap_or(Value::Null);
            let requested = message
                .pointer("/params/protocolVersion")
                .and_then(Value::as_str);
            if let (Some(requested), Some(negotiated)) =
                (requested, result.get_mut("protocolVersion"))
                && answers_as(requested, negotiated.as_str())
            {
                *negotiated = Value::from(requested);
            }
            Action::Replay(json!({"jsonrpc": "2.0", "id": id, "result": result}))
        }
        (Some("notifications/initialized"), None) if initialized => Action::Absorb,
        (Some(_), Some(_)) => Action::Request(message),
        (Some(_), None) => Action::Notify(message),
        (None, _) => Action::Absorb,
    }
}

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
    /// The request carries an older definition of the server than the one running.
    #[error("its definition changed while the request was read; retry")]
    Redefined(String),
    /// The server has not taken a message for too long.
    #[error("it has not read its input for {seconds}s")]
    Stalled {
        /// The server's path.
        server: String,
        /// How long it was given.
        seconds: u64,
    },
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
            | BridgeError::Redefined(server)
            | BridgeError::Stalled { server, .. }
            | BridgeError::Handshake { server, .. }
            | BridgeError::BackingOff { server, .. } => server,
        }
    }
}

impl From<BridgeError> for GatewayError {
    fn from(error: BridgeError) -> Self {
        match error {
            // Not down for good: 503 with `Retry-After`, so clients wait instead of failing.
            BridgeError::BackingOff {
                ref server,
                seconds,
                ..
            } => GatewayError::Restarting {
                server: server.clone(),
                reason: error.to_string(),
                retry_after: seconds,
            },
            _ => GatewayError::Upstream {
                server: error.server().to_owned(),
                reason: error.to_string(),
            },
        }
    }
}
