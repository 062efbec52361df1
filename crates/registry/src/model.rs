//! The registry's data model: servers, their tools and their health.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How the gateway reaches a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Streamable HTTP (stateless 2026-07-28 or stateful 2025-xx).
    StreamableHttp,
    /// The deprecated HTTP+SSE transport (2024-11-05).
    Sse,
    /// A local process started by the gateway, speaking JSON-RPC on stdin/stdout.
    Stdio,
}

impl Transport {
    /// The name used in the API, storage and CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::StreamableHttp => "streamable-http",
            Transport::Sse => "sse",
            Transport::Stdio => "stdio",
        }
    }

    /// Parses the name produced by [`Transport::as_str`].
    pub fn parse(name: &str) -> Option<Transport> {
        match name {
            "streamable-http" => Some(Transport::StreamableHttp),
            "sse" => Some(Transport::Sse),
            "stdio" => Some(Transport::Stdio),
            _ => None,
        }
    }

    /// True for the transports that need a URL.
    pub fn is_http(self) -> bool {
        !matches!(self, Transport::Stdio)
    }
}

/// The health verdict of the last check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HealthState {
    /// Not checked yet.
    Unknown,
    /// The server answered the MCP handshake and listed its tools.
    Healthy,
    /// The check failed; `reason` says why.
    Unhealthy,
    /// The server wants credentials the gateway's check does not carry.
    AuthRequired,
}

impl HealthState {
    /// The name used in the API and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Unknown => "unknown",
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
            HealthState::AuthRequired => "auth-required",
        }
    }

    /// Parses the name produced by [`HealthState::as_str`].
    pub fn parse(name: &str) -> Option<HealthState> {
        match name {
            "unknown" => Some(HealthState::Unknown),
            "healthy" => Some(HealthState::Healthy),
            "unhealthy" => Some(HealthState::Unhealthy),
            "auth-required" => Some(HealthState::AuthRequired),
            _ => None,
        }
    }
}

/// The outcome of the last health check of a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// The verdict.
    pub status: HealthState,
    /// Why it is not healthy (`timeout after 5s`, `connection refused`, `HTTP 503` …).
    pub reason: Option<String>,
    /// When the check finished.
    pub last_checked: Option<DateTime<Utc>>,
    /// The protocol era the server answered in (`stateless`, `stateful`, `legacy-sse`).
    pub era: Option<String>,
    /// The negotiated protocol version.
    pub protocol_version: Option<String>,
}

impl Health {
    /// The state of a server that was never checked.
    pub fn unknown() -> Self {
        Health {
            status: HealthState::Unknown,
            reason: None,
            last_checked: None,
            era: None,
            protocol_version: None,
        }
    }

    /// One line for humans: `healthy`, `unhealthy: <reason>`, `auth-required`.
    pub fn summary(&self) -> String {
        match &self.reason {
            Some(reason) if self.status == HealthState::Unhealthy => {
                format!("unhealthy: {reason}")
            }
            _ => self.status.as_str().to_owned(),
        }
    }
}

/// A change of a server's health: from `at` on, it was `status` (for `reason`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthEvent {
    /// When the check that found it finished.
    pub at: DateTime<Utc>,
    /// The verdict from then on.
    pub status: HealthState,
    /// Why it was not healthy.
    pub reason: Option<String>,
}

/// A tool as the server reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The tool's name, unique within its server.
    pub name: String,
    /// Display title, if the server gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the tool does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(rename = "inputSchema", default)]
    pub input_schema: Value,
    /// JSON Schema of the structured result, if declared.
    #[serde(
        rename = "outputSchema",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub output_schema: Option<Value>,
    /// Behaviour hints (`readOnlyHint`, `destructiveHint` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

impl Tool {
    /// Reads a tool as a server sent it, leniently: a server with one odd optional field
    /// still gets its tools listed, with what could be understood. Every reader of tool
    /// lists (checks, the lists clients are sent) reads them this way, so that the same
    /// tool has the same digest wherever it was seen.
    pub fn from_wire(value: Value) -> Tool {
        serde_json::from_value::<Tool>(value.clone()).unwrap_or_else(|_| Tool {
            name: value
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            title: None,
            description: value
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            input_schema: value.get("inputSchema").cloned().unwrap_or(Value::Null),
            output_schema: None,
            annotations: None,
        })
    }
}

/// A registered MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    /// URL segment and unique key (`/{path}/mcp`).
    pub path: String,
    /// Display name.
    pub name: String,
    /// What the server is for.
    pub description: String,
    /// How it is reached.
    pub transport: Transport,
    /// Upstream URL for HTTP transports.
    pub url: Option<String>,
    /// Program to start for stdio servers.
    pub command: Option<String>,
    /// Arguments of `command`.
    pub args: Vec<String>,
    /// Environment of `command`.
    pub env: BTreeMap<String, String>,
    /// Headers added to every upstream request.
    pub headers: BTreeMap<String, String>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// Licence of the server, as the registrant stated it.
    pub license: Option<String>,
    /// Version of the server, as the registrant stated it.
    pub version: Option<String>,
    /// Disabled servers are not routed to nor checked.
    pub enabled: bool,
    /// Started with the gateway rather than on first use (stdio servers).
    #[serde(default)]
    pub eager: bool,
    /// How the gateway authorises itself upstream beyond the configured headers.
    #[serde(default)]
    pub egress: crate::egress::Egress,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When its definition last changed.
    pub updated_at: DateTime<Utc>,
    /// The last health check.
    pub health: Health,
    /// `serverInfo` reported by the server at the last successful check.
    pub server_info: Option<Value>,
    /// The server's tools at the last successful check.
    pub tools: Vec<Tool>,
    /// When the tool list last changed.
    pub tools_updated_at: Option<DateTime<Utc>>,
    /// Bumped by every definition change; updates and check results are applied only to
    /// the revision they were computed from.
    pub revision: i64,
}

impl Server {
    /// The environment of a stdio server's command, as (name, value) pairs.
    pub fn env_pairs(&self) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }
}

/// Number of servers in each health state, for `/health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HealthSummary {
    /// All registered servers.
    pub total: usize,
    /// Disabled servers (not counted in the states below).
    pub disabled: usize,
    /// Enabled and healthy.
    pub healthy: usize,
    /// Enabled and unhealthy.
    pub unhealthy: usize,
    /// Enabled and asking for credentials.
    pub auth_required: usize,
    /// Enabled and not yet checked.
    pub unknown: usize,
}

impl HealthSummary {
    /// Adds `count` servers that are `enabled` (or not) and in `state`.
    pub fn add(&mut self, enabled: bool, state: HealthState, count: usize) {
        self.total += count;
        if !enabled {
            self.disabled += count;
            return;
        }
        match state {
            HealthState::Healthy => self.healthy += count,
            HealthState::Unhealthy => self.unhealthy += count,
            HealthState::AuthRequired => self.auth_required += count,
            HealthState::Unknown => self.unknown += count,
        }
    }
}

/// The current time at the precision the store keeps (milliseconds), so that what an
/// API call returns equals what a later read returns.
pub fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(3)
}
