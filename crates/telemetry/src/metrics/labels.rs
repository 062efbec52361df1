//! Label sets of the exported metrics, and [`Bounded`], which keeps a label's values few:
//! whatever a client sends (a tool name, its client name, a method) becomes a label value
//! only while that label has fewer than [`MAX_VALUES_PER_LABEL`] distinct values, so a
//! client cannot grow the exposition without end.

use std::collections::HashSet;
use std::sync::RwLock;

use prometheus_client::encoding::EncodeLabelSet;

/// Distinct values one label may take; later new values are reported as [`OTHER`].
pub const MAX_VALUES_PER_LABEL: usize = 150;
/// Longest label value kept, in characters.
pub const MAX_LABEL_CHARS: usize = 96;
/// The value of a label past its bound.
pub const OTHER: &str = "_other";
/// The value of a label with nothing to say (an empty or absent value).
pub const UNSET: &str = "_unset";

/// The values one label has taken so far.
#[derive(Debug, Default)]
pub struct Bounded {
    seen: RwLock<HashSet<String>>,
}

impl Bounded {
    /// `raw` as a label value: characters outside `[A-Za-z0-9-_.:/]` become `_`, cut to
    /// [`MAX_LABEL_CHARS`]; [`UNSET`] when empty, [`OTHER`] once the label is full.
    pub fn value(&self, raw: &str) -> String {
        let clean: String = raw
            .chars()
            .take(MAX_LABEL_CHARS)
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.:/".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if clean.is_empty() {
            return UNSET.to_owned();
        }
        if self.seen.read().is_ok_and(|seen| seen.contains(&clean)) {
            return clean;
        }
        match self.seen.write() {
            Ok(mut seen) if seen.len() < MAX_VALUES_PER_LABEL || seen.contains(&clean) => {
                seen.insert(clean.clone());
                clean
            }
            _ => OTHER.to_owned(),
        }
    }
}

/// `mcp_auth_requests_total`, `mcp_auth_request_duration_seconds`: the Python gateway's
/// labels (`method` is the authentication method).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthLabels {
    pub server: String,
    pub method: String,
    pub success: String,
}

/// `mcp_tool_executions_total`, `mcp_tool_execution_duration_seconds`: one per MCP
/// message, as the Python gateway counts them (`method` is the JSON-RPC method,
/// `tool_name` the tool of a `tools/call` and the method otherwise).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolLabels {
    pub method: String,
    pub server_name: String,
    pub server_path: String,
    pub tool_name: String,
    pub success: String,
    pub client_name: String,
    pub client_version: String,
}

/// `mcp_tool_discovery_total`, `mcp_tool_discovery_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DiscoveryLabels {
    /// `intelligent_tool_finder` or `api`.
    pub source: String,
    /// `hybrid` or `lexical`.
    pub mode: String,
}

/// `mcp_health_checks_total`, `mcp_health_check_duration_seconds`: the Python registry's
/// labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HealthLabels {
    /// `/health/{server}`.
    pub endpoint: String,
    /// `200` when healthy, `500` otherwise (as the Python registry reports it).
    pub status_code: String,
    pub healthy: String,
}

/// `mcp_protocol_latency_seconds`: the Python gateway's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FlowLabels {
    pub flow_step: String,
    pub server_name: String,
}

/// Requests by route kind and status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: String,
    pub status: String,
}

/// A route kind (`server_mcp`, `aggregate_mcp`, `api`, …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

/// The limit that refused a request or closed a connection.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub limit: String,
}

/// A registered server, by path.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServerLabels {
    pub server: String,
}

/// A refresh of an issuer's signing keys.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JwksLabels {
    pub issuer: String,
    /// `ok` or `error`.
    pub outcome: String,
}

/// An access decision.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// `mcp` (a message) or `api` (a registry action).
    pub source: String,
    /// `allowed` or `denied`.
    pub decision: String,
}

/// A background writer (`audit`, `analytics`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriterLabels {
    pub writer: String,
}

/// `"true"` or `"false"`, lower case as the Python exporters write it.
pub fn flag(value: bool) -> String {
    if value { "true" } else { "false" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cleaned_and_bounded() {
        let bounded = Bounded::default();
        assert_eq!(bounded.value("tools/call"), "tools/call");
        assert_eq!(bounded.value("name with spaces\"{}"), "name_with_spaces___");
        assert_eq!(bounded.value(""), UNSET);
        assert_eq!(bounded.value(&"x".repeat(200)).len(), MAX_LABEL_CHARS);
        for n in 0..MAX_VALUES_PER_LABEL {
            bounded.value(&format!("v{n}"));
        }
        assert_eq!(bounded.value("one-too-many"), OTHER);
        assert_eq!(bounded.value("v7"), "v7", "known values stay");
        assert_eq!(bounded.value("tools/call"), "tools/call");
    }
}
