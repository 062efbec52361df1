//! A server's traffic for its page: calls, error rate and latency over the last day (the
//! analytics tables), and its most recent calls from the audit trail: everyone's for an
//! admin (who may read the whole trail), the viewer's own for anyone else.

use mcpgw_registry::Server;
use mcpgw_telemetry::analytics::{SummaryQuery, analytics};
use mcpgw_telemetry::audit::{AuditQuery, AuditSource, now_millis};

use crate::AppState;
use crate::access::Access;
use crate::ui::rows::human_millis;

/// The window the figures cover.
const WINDOW_MILLIS: i64 = 86_400_000;
/// How many recent calls are listed.
const RECENT: u32 = 15;

/// One tool's (or method's) figures.
pub struct UsageRow {
    /// The tool, or the method for calls that name none.
    pub tool: String,
    /// Calls in the window.
    pub calls: u64,
    /// Share of failed calls, as a percentage.
    pub error_rate: String,
    /// Median latency.
    pub p50: String,
    /// 95th percentile latency.
    pub p95: String,
}

/// One recent call.
pub struct CallView {
    /// When (UTC).
    pub at: String,
    /// Who.
    pub principal: String,
    /// The MCP method.
    pub method: String,
    /// The tool or resource, if any.
    pub target: String,
    /// Whether the policy let it through.
    pub allowed: bool,
    /// Why.
    pub reason: String,
}

/// What the page shows of a server's traffic.
pub struct Activity {
    /// `None` when the gateway keeps no analytics; else the server's total first.
    pub usage: Option<Vec<UsageRow>>,
    /// Why figures are missing, if they are.
    pub usage_note: String,
    /// The most recent calls, newest first.
    pub recent: Vec<CallView>,
    /// Whose calls `recent` lists.
    pub recent_whose: &'static str,
}

/// `server`'s activity as `viewer` may see it. Failures to read are shown as a note, not
/// as a failed page: the rest of the page is still worth having.
pub async fn activity_of(
    state: &AppState,
    server: &Server,
    principal: &mcpgw_auth::Principal,
    access: &Access,
) -> Activity {
    let until = now_millis();
    let (usage, usage_note) = match analytics() {
        None => (
            None,
            "this gateway keeps no analytics ([metrics] analytics = false)".to_owned(),
        ),
        Some(analytics) => {
            let query = SummaryQuery {
                since: until - WINDOW_MILLIS,
                until,
                server: Some(server.path.clone()),
            };
            match analytics.summary(&query).await {
                Ok((servers, tools)) => {
                    let rows = servers
                        .iter()
                        .map(|s| usage_row("all calls", s))
                        .chain(
                            tools
                                .iter()
                                .filter(|t| access.may_see_usage(&server.path, &t.tool))
                                .map(|t| usage_row(&t.tool, t)),
                        )
                        .collect();
                    (Some(rows), String::new())
                }
                Err(error) => {
                    tracing::warn!(%error, "could not read the analytics for a server page");
                    (None, "the figures cannot be read right now".to_owned())
                }
            }
        }
    };
    let mut query = AuditQuery {
        source: Some(AuditSource::Mcp),
        server: Some(server.path.clone()),
        limit: RECENT,
        ..AuditQuery::default()
    };
    let recent_whose = if principal.is_admin {
        "everyone's"
    } else {
        query.owner = Some(principal.owner());
        "yours"
    };
    let recent = match state.audit.query(&query).await {
        Ok(page) => page
            .entries
            .into_iter()
            .map(|entry| {
                let record = entry.record;
                CallView {
                    at: human_millis(record.at),
                    principal: record.principal,
                    method: record.method,
                    target: record.target.unwrap_or_default(),
                    allowed: record.allowed,
                    reason: record.reason,
                }
            })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "could not read the audit trail for a server page");
            Vec::new()
        }
    };
    Activity {
        usage,
        usage_note,
        recent,
        recent_whose,
    }
}

fn usage_row(tool: &str, summary: &mcpgw_telemetry::analytics::ToolSummary) -> UsageRow {
    UsageRow {
        tool: tool.to_owned(),
        calls: summary.calls,
        error_rate: format!("{:.1} %", summary.error_rate * 100.0),
        p50: format!("{:.1} ms", summary.p50_ms),
        p95: format!("{:.1} ms", summary.p95_ms),
    }
}
