//! Turns a registered server into an MCP endpoint, probes it, and reads the verdict.

use std::sync::Arc;
use std::time::Duration;

use mcpgw_mcp::client::{Endpoint, ProbeOptions, ProbeReport, guarded_http_client, http_client};
use mcpgw_mcp::{ProbeError, probe};
use mcpgw_netguard::NetworkPolicy;
use serde_json::Value;

use crate::error::RegistryError;
use crate::model::{Health, HealthState, Server, Tool, Transport};

/// Longest health reason stored: it is upstream-controlled text, kept in the database and
/// returned in every listing.
const MAX_REASON_CHARS: usize = 300;

fn truncate(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// What one check of a server found.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// The verdict to store.
    pub health: Health,
    /// `serverInfo`, when the check succeeded.
    pub server_info: Option<Value>,
    /// The tool list, when the check succeeded.
    pub tools: Option<Vec<Tool>>,
}

/// Checks servers by speaking MCP to them. Cheap to clone (shares one HTTP pool).
#[derive(Clone)]
pub struct Prober {
    options: ProbeOptions,
    /// Tokens for servers with an egress mode.
    auth: Option<crate::upstream_auth::SharedUpstreamAuth>,
    /// Where servers may be reached (the SSRF guard): checked at registration and by
    /// every connection of `options.http`.
    network: Arc<NetworkPolicy>,
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober")
            .field("options", &self.options)
            .field("auth", &self.auth.is_some())
            .field("network", &self.network)
            .finish()
    }
}

impl Prober {
    /// A prober whose checks each finish within `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, ProbeError> {
        Ok(Prober {
            options: ProbeOptions {
                http: http_client(timeout)?,
                timeout,
                client_name: "mcpgw".to_owned(),
                client_version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            auth: None,
            network: Arc::default(),
        })
    }

    /// The same prober, connecting only where `network` allows (and checking
    /// registrations against it, see [`Prober::refuse_denied_url`]).
    pub fn with_network(mut self, network: Arc<NetworkPolicy>) -> Result<Self, ProbeError> {
        self.options.http = guarded_http_client(self.options.timeout, Arc::clone(&network))?;
        self.network = network;
        Ok(self)
    }

    /// Refuses a server whose URL is a denied IP literal or a name that resolves (also) to
    /// a denied address: the SSRF guard at registration, with a message saying how to
    /// allow it. A name that does not resolve yet is accepted (each connection is checked).
    pub(crate) async fn refuse_denied_url(&self, server: &Server) -> Result<(), RegistryError> {
        let Some(url) = server
            .url
            .as_deref()
            .and_then(|url| url::Url::parse(url).ok())
        else {
            return Ok(());
        };
        if server.transport == Transport::Stdio {
            return Ok(());
        }
        self.network
            .check_url_resolved(&url)
            .await
            .map_err(|denied| RegistryError::invalid("url", denied.to_string()))
    }

    /// The same prober, obtaining egress tokens with `auth`.
    pub fn with_auth(mut self, auth: crate::upstream_auth::SharedUpstreamAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Probes `server` once and interprets the result. Never fails: a failure is a verdict.
    pub async fn check(&self, server: &Server) -> CheckOutcome {
        let result = match self.endpoint(server).await {
            Ok(endpoint) => probe(&endpoint, &self.options).await,
            Err(error) => Err(error),
        };
        let now = Some(crate::model::now());
        match result {
            Ok(report) => healthy_outcome(report, now),
            Err(error) => CheckOutcome {
                health: Health {
                    status: if error.is_auth_required() {
                        HealthState::AuthRequired
                    } else {
                        HealthState::Unhealthy
                    },
                    reason: Some(truncate(error.to_string(), MAX_REASON_CHARS)),
                    last_checked: now,
                    era: None,
                    protocol_version: None,
                },
                server_info: None,
                tools: None,
            },
        }
    }
}

impl Prober {
    /// `server`'s endpoint, with the `Authorization` its egress mode obtains.
    async fn endpoint(&self, server: &Server) -> Result<Endpoint, ProbeError> {
        let mut endpoint = endpoint_of(server)?;
        // An IP-literal URL is refused before connecting (names are checked as they
        // resolve): a server registered before `[network]` denied its address.
        if let Endpoint::StreamableHttp { url, .. } | Endpoint::LegacySse { url, .. } = &endpoint {
            self.network
                .check_url(url)
                .map_err(|denied| ProbeError::Connect(denied.to_string()))?;
        }
        // Only the gateway's own tokens: a passthrough server's check carries no user's
        // credential (and reads as asking for one).
        if !matches!(server.egress, crate::egress::Egress::OauthClient { .. }) {
            return Ok(endpoint);
        }
        let Some(auth) = &self.auth else {
            return Err(ProbeError::Config(
                "this gateway cannot obtain egress tokens".into(),
            ));
        };
        let target = crate::upstream_auth::EgressTarget {
            path: &server.path,
            revision: server.revision,
            url: server.url.as_deref().unwrap_or_default(),
            egress: &server.egress,
            caller: None,
        };
        let granted = auth
            .authorization(target)
            .await
            .map_err(|reason| ProbeError::Config(format!("cannot obtain a token: {reason}")))?;
        if let Endpoint::StreamableHttp { headers, .. } | Endpoint::LegacySse { headers, .. } =
            &mut endpoint
        {
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
            headers.push(("Authorization".to_owned(), granted.authorization));
            headers.extend(granted.headers);
        }
        Ok(endpoint)
    }
}

fn healthy_outcome(
    report: ProbeReport,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> CheckOutcome {
    CheckOutcome {
        health: Health {
            status: HealthState::Healthy,
            reason: None,
            last_checked: now,
            era: Some(report.era.as_str().to_owned()),
            protocol_version: Some(report.protocol_version),
        },
        server_info: report.server_info,
        tools: Some(report.tools.into_iter().map(Tool::from_wire).collect()),
    }
}

/// The MCP endpoint of a registered server.
pub fn endpoint_of(server: &Server) -> Result<Endpoint, ProbeError> {
    let headers: Vec<(String, String)> = server
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let url = || -> Result<url::Url, ProbeError> {
        let raw = server
            .url
            .as_deref()
            .ok_or_else(|| ProbeError::Config("no url".into()))?;
        url::Url::parse(raw).map_err(|error| ProbeError::Config(format!("bad url: {error}")))
    };
    Ok(match server.transport {
        Transport::StreamableHttp => Endpoint::StreamableHttp {
            url: url()?,
            headers,
        },
        Transport::Sse => Endpoint::LegacySse {
            url: url()?,
            headers,
        },
        Transport::Stdio => Endpoint::Stdio {
            command: server
                .command
                .clone()
                .ok_or_else(|| ProbeError::Config("no command".into()))?,
            args: server.args.clone(),
            env: server.env_pairs(),
        },
    })
}
