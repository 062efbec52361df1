//! What one audit record says: who, what, on which server, allowed or not, and why.

use serde::{Deserialize, Serialize};

/// Where a decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditSource {
    /// An MCP message on a server route (`/{server}/mcp`, `/sse`, `/messages`).
    Mcp,
    /// A registry action on the REST API.
    Api,
}

impl AuditSource {
    /// `mcp` or `api`, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditSource::Mcp => "mcp",
            AuditSource::Api => "api",
        }
    }

    /// The inverse of [`AuditSource::as_str`].
    pub fn parse(text: &str) -> Option<AuditSource> {
        match text {
            "mcp" => Some(AuditSource::Mcp),
            "api" => Some(AuditSource::Api),
            _ => None,
        }
    }
}

/// One access decision, as plain data: callers fill it from their own types (a principal,
/// a policy decision) so this crate needs none of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When it was decided, in milliseconds since the Unix epoch.
    pub at: i64,
    /// MCP route or registry API.
    pub source: AuditSource,
    /// The caller's subject (`admin`, a JWT `sub`, …).
    pub principal: String,
    /// A key for the caller that no other caller shares (subjects are unique only per
    /// issuer): `issuer#sub`, `mcpgw:admin-token`, ….
    pub owner: String,
    /// How the caller authenticated: `admin_token`, `gateway_token`, `jwt`, `anonymous`,
    /// `password`, `oidc_login`.
    pub auth: String,
    /// The OAuth client the credential was issued to, if it names one.
    pub client_id: Option<String>,
    /// The server's path.
    pub server: String,
    /// The MCP method (`tools/call`, `(response)` for an answer to the server) or the
    /// registry action (`list_service`, …).
    pub method: String,
    /// The tool or prompt name, or resource URI, the method is about.
    pub target: Option<String>,
    /// Whether it was allowed.
    pub allowed: bool,
    /// Why, in the policy's words.
    pub reason: String,
    /// The JSON-RPC id of the message as written (`1`, `"abc"`), if it had one.
    pub request_id: Option<String>,
}

/// A stored record with the id that orders it among records of the same millisecond.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unique id, assigned by the writer before the first attempt, so that a retried
    /// batch cannot be stored twice; it starts with the time, so ids of later records
    /// mostly sort after earlier ones.
    pub id: String,
    /// The record.
    #[serde(flatten)]
    pub record: AuditRecord,
}

/// Milliseconds since the Unix epoch now, for [`AuditRecord::at`].
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
