//! The rows of the analytics tables, as queued and as stored (with an id, so that a retried
//! batch is not stored twice, and the user's hash, computed off the request's path).

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::batch::Batched;

/// An authentication on an MCP route (`auth_metrics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthRow {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// The server's path (`mcp` for the aggregated endpoint, `_unknown` for no server).
    pub server: String,
    /// How the caller authenticated (`unknown` when it did not).
    pub method: String,
    /// Whether it did.
    pub success: bool,
    /// Who (hashed when stored).
    #[serde(skip)]
    pub user: Option<String>,
    /// The HTTP status of a refusal.
    pub error_code: Option<String>,
    /// How long authentication took.
    pub duration_ms: f64,
    /// The request's id.
    pub request_id: Option<String>,
}

/// One MCP message answered (`tool_metrics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolRow {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// The server's path.
    pub server_name: String,
    /// `/{server}/`.
    pub server_path: String,
    /// The tool of a `tools/call` (`_unset` for a tool the server does not list), else the
    /// method.
    pub tool_name: String,
    /// The JSON-RPC method.
    pub method: String,
    /// The client's `clientInfo`.
    pub client_name: Option<String>,
    /// Its version.
    pub client_version: Option<String>,
    /// Who (hashed when stored).
    #[serde(skip)]
    pub user: Option<String>,
    /// Whether it was answered without an error.
    pub success: bool,
    /// The HTTP status of a failure.
    pub error_code: Option<String>,
    /// From the request to the answer's first byte.
    pub duration_ms: f64,
    /// The request's id.
    pub request_id: Option<String>,
}

/// A tool search (`discovery_metrics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscoveryRow {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// The query, cut to 100 characters as the Python gateway keeps it.
    pub query: String,
    /// Tools returned.
    pub results_count: i64,
    /// The finder's `top_k_services` (the API's result limit for a search).
    pub top_k_services: i64,
    /// The finder's `top_n_tools`.
    pub top_n_tools: i64,
    /// `intelligent_tool_finder` or `api`.
    pub source: String,
    /// `hybrid` or `lexical`.
    pub mode: String,
    /// How long the search took.
    pub duration_ms: f64,
}

/// A row of one of the tables.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalyticsRow {
    /// `auth_metrics`.
    Auth(AuthRow),
    /// `tool_metrics`.
    Tool(ToolRow),
    /// `discovery_metrics`.
    Discovery(DiscoveryRow),
}

/// A row as stored: its id, the user's hash, the row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    /// Unique, starting with the time (as the audit trail's ids).
    pub id: String,
    /// [`user_hash`] of the row's user.
    pub user_hash: Option<String>,
    /// The row.
    pub row: AnalyticsRow,
}

/// The first 12 hex digits of the SHA-256 of `user`, as the Python gateway keeps users in
/// its analytics: enough to count and follow users, not to name them.
pub fn user_hash(user: &str) -> String {
    Sha256::digest(user.as_bytes())
        .iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl Batched for AnalyticsRow {
    type Stored = StoredRow;

    fn stored(self) -> StoredRow {
        let (at, user) = match &self {
            AnalyticsRow::Auth(row) => (row.at, row.user.as_deref()),
            AnalyticsRow::Tool(row) => (row.at, row.user.as_deref()),
            AnalyticsRow::Discovery(row) => (row.at, None),
        };
        StoredRow {
            id: crate::batch::entry_id(at),
            user_hash: user.map(user_hash),
            row: self,
        }
    }
}
