//! A registered server as the pages show it: the fields of a card or a table row, the
//! attributes the filters and the live updates look for, and what the viewer may do.

use chrono::{DateTime, Utc};
use mcpgw_policy::UiAction;
use mcpgw_registry::Server;
use serde::Serialize;

use crate::access::{Access, server_ref};

/// One server in a list.
#[derive(Debug, Clone)]
pub struct ServerRow {
    /// Its path (`/{path}/mcp`).
    pub path: String,
    /// Display name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// `streamable-http`, `sse` or `stdio`.
    pub transport: &'static str,
    /// Tools the viewer may call.
    pub num_tools: usize,
    /// Whether it is routed to and checked.
    pub enabled: bool,
    /// The live health fields.
    pub live: LiveHealth,
    /// The viewer may enable and disable it.
    pub can_toggle: bool,
    /// Lower-cased name, path, description and tags, for the text filter.
    pub search_text: String,
    /// The page its enable switch returns to.
    pub back: String,
    /// Its tool-scan badge, where the page shows one.
    pub scan: Option<crate::ui::scan_view::ScanBadge>,
}

/// The fields of a server that change without anyone editing it, sent to open pages as
/// they change (`/ui/events`) and rendered the same way on the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveHealth {
    /// The server's path, to find it on the page.
    pub path: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// `healthy`, `unhealthy`, `auth-required`, `unknown`, or `disabled`.
    pub health: &'static str,
    /// Why it is not healthy.
    pub reason: String,
    /// When it was last checked (RFC 3339), or empty.
    pub last_checked: String,
    /// The same time for people (`2026-12-02 13:04:05 UTC`), or `never`.
    pub last_checked_text: String,
    /// Tools the viewer may call.
    pub num_tools: usize,
}

impl LiveHealth {
    /// `server`'s live fields as `access` may see them (only the tools it may call are
    /// counted), without copying the server.
    pub fn seen_by(server: &Server, access: &Access) -> Self {
        let filter = access.tool_filter(&server.path);
        LiveHealth {
            num_tools: server
                .tools
                .iter()
                .filter(|tool| filter.allows(&tool.name))
                .count(),
            ..LiveHealth::of(server)
        }
    }

    /// `server`'s live fields (its tools already filtered for the viewer).
    pub fn of(server: &Server) -> Self {
        LiveHealth {
            path: server.path.clone(),
            enabled: server.enabled,
            health: if server.enabled {
                server.health.status.as_str()
            } else {
                "disabled"
            },
            reason: server.health.reason.clone().unwrap_or_default(),
            last_checked: server
                .health
                .last_checked
                .map(|at| at.to_rfc3339())
                .unwrap_or_default(),
            last_checked_text: server
                .health
                .last_checked
                .map_or_else(|| "never".to_owned(), human_time),
            num_tools: server.tools.len(),
        }
    }
}

impl ServerRow {
    /// `server` (as the viewer may see it) for a list.
    pub fn of(server: &Server, access: &Access) -> Self {
        let search_text = format!(
            "{} {} {} {}",
            server.name,
            server.path,
            server.description,
            server.tags.join(" ")
        )
        .to_lowercase();
        ServerRow {
            path: server.path.clone(),
            name: server.name.clone(),
            description: server.description.clone(),
            tags: server.tags.clone(),
            transport: server.transport.as_str(),
            num_tools: server.tools.len(),
            enabled: server.enabled,
            live: LiveHealth::of(server),
            can_toggle: access.allows(UiAction::Toggle, Some(server_ref(server))),
            search_text,
            back: "/ui/servers".to_owned(),
            scan: None,
        }
    }

    /// The tags as the filter's `data-tags` attribute: a JSON array, so that any tag
    /// (one with a comma, through the JSON API) survives.
    pub fn tag_list(&self) -> String {
        serde_json::to_string(&self.tags).unwrap_or_else(|_| "[]".to_owned())
    }
}

/// A time for people, in UTC to the second.
pub fn human_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// [`human_time`] of milliseconds since the epoch (empty if out of range).
pub fn human_millis(millis: i64) -> String {
    DateTime::from_timestamp_millis(millis)
        .map(human_time)
        .unwrap_or_default()
}
