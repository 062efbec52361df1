//! Why a probe of an upstream server failed, worded for a health status line.

use std::time::Duration;

use crate::jsonrpc::RpcError;

/// Every way talking to an upstream server can fail.
///
/// The `Display` text is what users see after `unhealthy:` in a health status, so each
/// message is short and names the cause.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProbeError {
    /// The whole probe did not finish in time (including servers that hang on a stream).
    #[error("timeout after {}s", .0.as_secs_f64())]
    Timeout(Duration),
    /// Nothing listens at the address.
    #[error("connection refused")]
    ConnectionRefused,
    /// Any other connection failure (DNS, TLS, reset …).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The server requires credentials the probe does not have.
    #[error("authentication required ({0})")]
    AuthRequired(String),
    /// The server answered with an HTTP error status.
    #[error("HTTP {status}{}", detail_suffix(.detail))]
    HttpStatus {
        /// The status code.
        status: u16,
        /// A short excerpt of the body, if any.
        detail: String,
        /// A JSON-RPC error found in the body, if it held one.
        rpc: Option<RpcError>,
    },
    /// The server answered a request with a JSON-RPC error.
    #[error("server error {}: {}", .0.code, .0.message)]
    Rpc(RpcError),
    /// The server broke the protocol: bad JSON, wrong content type, missing response …
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A stdio server could not be started.
    #[error("cannot start process: {0}")]
    Spawn(String),
    /// The gateway already runs as many stdio server processes as it may.
    #[error(
        "cannot start process: the gateway already runs its maximum of {0} stdio server processes ([limits] max_stdio_processes)"
    )]
    TooManyProcesses(usize),
    /// A stdio server exited before answering.
    #[error("process exited ({status}){}", detail_suffix(.stderr))]
    ProcessExited {
        /// The exit status as text.
        status: String,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// The endpoint configuration cannot be used (bad header, bad URL …).
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl ProbeError {
    /// True when the failure means "bring credentials", not "the server is broken".
    pub fn is_auth_required(&self) -> bool {
        matches!(self, ProbeError::AuthRequired(_))
    }

    /// True when the failure ends the probe at once: trying another era cannot help.
    pub(crate) fn is_final(&self) -> bool {
        matches!(
            self,
            ProbeError::Timeout(_)
                | ProbeError::ConnectionRefused
                | ProbeError::Connect(_)
                | ProbeError::AuthRequired(_)
                | ProbeError::Config(_)
                | ProbeError::Spawn(_)
                | ProbeError::TooManyProcesses(_)
                | ProbeError::ProcessExited { .. }
        )
    }

    /// Classifies a reqwest transport error.
    pub(crate) fn from_transport(error: &reqwest::Error) -> ProbeError {
        if error.is_timeout() {
            return ProbeError::Connect("request timed out".into());
        }
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(current) = source {
            if let Some(io) = current.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::ConnectionRefused
            {
                return ProbeError::ConnectionRefused;
            }
            source = current.source();
        }
        if error.is_connect() {
            return ProbeError::Connect(root_cause(error));
        }
        ProbeError::Protocol(root_cause(error))
    }
}

/// The innermost error message, which is the informative one for reqwest errors
/// (`Connection refused (os error 111)` rather than `error sending request for url …`).
pub fn root_cause(error: &dyn std::error::Error) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
