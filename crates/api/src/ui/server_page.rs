//! `GET /ui/servers/{path}`: one server: its health (live), what it is and where it runs,
//! its endpoints through the gateway, its tools with their descriptions and schemas, its
//! traffic over the last day, recent calls, published versions, and the actions the
//! viewer's `UI-Scopes` allow (and only those).

use askama::Template;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mcpgw_auth::discovery::base_url;
use mcpgw_policy::UiAction;
use mcpgw_registry::Server;

use crate::access::{authorized_server, server_ref};
use crate::ui::activity::{Activity, activity_of};
use crate::ui::error::or_error_page;
use crate::ui::frame::{Frame, Section, render};
use crate::ui::rich_text::{SchemaRow, description_html, schema_pretty, schema_rows};
use crate::ui::rows::{ServerRow, human_time};
use crate::ui::viewer::Viewer;
use crate::view::redacted_url;
use crate::{ApiError, AppState};

/// A tool as its section of the page shows it.
pub struct ToolView {
    /// Its name on the server.
    pub name: String,
    /// Its name on the aggregated endpoint, if it is offered there.
    pub aggregated: Option<String>,
    /// Its title, if any.
    pub title: String,
    /// The description's first line, for the collapsed view.
    pub summary: String,
    /// The description, as safe HTML.
    pub description_html: String,
    /// The arguments, one row per property.
    pub input_rows: Vec<SchemaRow>,
    /// The argument schema as JSON.
    pub input_json: String,
    /// The result's properties, if declared.
    pub output_rows: Vec<SchemaRow>,
    /// The result schema as JSON, if declared.
    pub output_json: Option<String>,
    /// Behaviour hints that are set (`read-only`, `destructive` …).
    pub hints: Vec<&'static str>,
}

/// One span of the health history.
pub struct HistoryRow {
    /// The verdict (`healthy`, `unhealthy` …).
    pub status: &'static str,
    /// Why it was not healthy.
    pub reason: String,
    /// When it began.
    pub from: String,
    /// How long it lasted (or has lasted, for the current one).
    pub lasted: String,
}

/// One published version.
pub struct VersionView {
    /// The version string.
    pub version: String,
    /// `active`, `deprecated` or `deleted`.
    pub status: String,
    /// When it was published.
    pub published: String,
    /// Whether it is the newest.
    pub latest: bool,
}

#[derive(Template)]
#[template(path = "server.html")]
struct ServerPage {
    frame: Frame,
    row: ServerRow,
    target: String,
    target_label: &'static str,
    license: String,
    version: String,
    server_info: String,
    protocol: String,
    egress: String,
    mcp_url: String,
    sse_url: String,
    aggregate_url: String,
    tools: Vec<ToolView>,
    versions: Vec<VersionView>,
    history: Vec<HistoryRow>,
    activity: Activity,
    can_modify: bool,
    can_check: bool,
    updated: String,
    /// The tool scan's findings and buttons.
    scan: crate::ui::scan_view::ScanView,
}

/// The page.
pub async fn page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    or_error_page(
        &state,
        &viewer,
        render_page(&state, &viewer, &path, &headers).await,
    )
}

async fn render_page(
    state: &AppState,
    viewer: &Viewer,
    path: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (server, access) =
        authorized_server(state, &viewer.principal, path, UiAction::List).await?;
    let base = base_url(state.public_url.as_deref(), headers).unwrap_or_default();
    let aggregated = (state.aggregate_names)(&server.path);
    let tools = server
        .tools
        .iter()
        .map(|tool| ToolView {
            name: tool.name.clone(),
            aggregated: aggregated
                .iter()
                .find(|(original, _)| *original == tool.name)
                .map(|(_, name)| name.clone()),
            // MCP's display order: `title`, then `annotations.title`.
            title: tool
                .title
                .clone()
                .or_else(|| {
                    tool.annotations
                        .as_ref()
                        .and_then(|annotations| annotations.get("title"))
                        .and_then(|title| title.as_str())
                        .map(str::to_owned)
                })
                .unwrap_or_default(),
            summary: tool
                .description
                .as_deref()
                .and_then(|text| text.lines().find(|line| !line.trim().is_empty()))
                .unwrap_or_default()
                .replace(['`', '*'], "")
                .trim()
                .to_owned(),
            description_html: description_html(tool.description.as_deref().unwrap_or("")),
            input_rows: schema_rows(&tool.input_schema),
            input_json: schema_pretty(&tool.input_schema),
            output_rows: tool
                .output_schema
                .as_ref()
                .map(schema_rows)
                .unwrap_or_default(),
            output_json: tool.output_schema.as_ref().map(schema_pretty),
            hints: hints(tool.annotations.as_ref()),
        })
        .collect();
    let versions = state.registry.versions_of(&server.path).await?;
    let newest = versions.iter().map(|v| v.seq).max();
    let versions = versions
        .iter()
        .rev()
        .map(|v| VersionView {
            version: v.version.clone(),
            status: v.status.as_str().to_owned(),
            published: human_time(v.published_at),
            latest: Some(v.seq) == newest,
        })
        .collect();
    let history = history_rows(
        &state.registry.health_history(&server.path).await?,
        mcpgw_registry::now(),
    );
    let activity = activity_of(state, &server, &viewer.principal, &access).await;
    let scan = crate::ui::scan_view::ScanView::load(state, &server, viewer, &access).await?;
    let reference = server_ref(&server);
    let can_modify = access.allows(UiAction::Modify, Some(reference));
    let (target_label, target) = target_of(&server, can_modify);
    let mut row = ServerRow::of(&server, &access);
    row.back = format!("/ui/servers/{}", server.path);
    let page = ServerPage {
        frame: Frame::new(viewer, &access, server.name.clone(), Section::Servers),
        row,
        target,
        target_label,
        license: server.license.clone().unwrap_or_default(),
        version: server.version.clone().unwrap_or_default(),
        server_info: server_info(&server),
        protocol: protocol(&server),
        egress: match &server.egress {
            mcpgw_registry::Egress::None => String::new(),
            mcpgw_registry::Egress::Passthrough => {
                "each caller's own credential (in Authorization; the gateway's in \
                 X-Authorization)"
                    .to_owned()
            }
            mcpgw_registry::Egress::TokenExchange { client_id, .. } => format!(
                "each caller's identity-provider token, exchanged as {client_id} (RFC 8693)"
            ),
            mcpgw_registry::Egress::OauthUser { provider, scope } => format!(
                "each user's own {provider} account (connect it under Accounts){}",
                scope
                    .as_deref()
                    .map(|scope| format!(", scopes {scope}"))
                    .unwrap_or_default()
            ),
            mcpgw_registry::Egress::OauthClient {
                client_id, scope, ..
            } => format!(
                "OAuth client credentials as {client_id}{}",
                scope
                    .as_deref()
                    .map(|scope| format!(", scopes {scope}"))
                    .unwrap_or_default()
            ),
        },
        mcp_url: format!("{base}/{}/mcp", server.path),
        sse_url: format!("{base}/{}/sse", server.path),
        aggregate_url: format!("{base}/mcp"),
        tools,
        versions,
        history,
        activity,
        can_modify,
        can_check: access.allows(UiAction::HealthCheck, Some(reference)),
        updated: human_time(server.updated_at),
        scan,
    };
    Ok(render(StatusCode::OK, &page))
}

/// Where the gateway reaches the server: its URL (password redacted) or its command line.
/// Arguments often carry secrets (`--api-key …`): only those who may change the server
/// see them.
fn target_of(server: &Server, show_arguments: bool) -> (&'static str, String) {
    if server.transport.is_http() {
        (
            "URL",
            server.url.as_deref().map(redacted_url).unwrap_or_default(),
        )
    } else {
        let mut line = server.command.clone().unwrap_or_default();
        if !show_arguments && !server.args.is_empty() {
            line.push_str(" (arguments hidden)");
            return ("Command", line);
        }
        for arg in &server.args {
            line.push(' ');
            line.push_str(arg);
        }
        ("Command", line)
    }
}

/// `name version` from the server's `serverInfo`.
fn server_info(server: &Server) -> String {
    let Some(info) = &server.server_info else {
        return String::new();
    };
    let field = |key: &str| info.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    format!("{} {}", field("name"), field("version"))
        .trim()
        .to_owned()
}

/// The protocol version and era of the last check.
fn protocol(server: &Server) -> String {
    let health = &server.health;
    match (&health.protocol_version, &health.era) {
        (Some(version), Some(era)) => format!("{version} ({era})"),
        (Some(version), None) => version.clone(),
        (None, Some(era)) => era.clone(),
        (None, None) => String::new(),
    }
}

/// The behaviour hints a tool's annotations set to true.
fn hints(annotations: Option<&serde_json::Value>) -> Vec<&'static str> {
    let Some(annotations) = annotations else {
        return Vec::new();
    };
    [
        ("readOnlyHint", "read-only"),
        ("destructiveHint", "destructive"),
        ("idempotentHint", "idempotent"),
        ("openWorldHint", "open world"),
    ]
    .into_iter()
    .filter(|(key, _)| annotations.get(*key).and_then(|v| v.as_bool()) == Some(true))
    .map(|(_, label)| label)
    .collect()
}

/// The history's spans, newest first: each lasts until the next change (the newest, until
/// now).
fn history_rows(
    events: &[mcpgw_registry::HealthEvent],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<HistoryRow> {
    events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            // Events are newest first: the one before in the list is the next change.
            let until = index
                .checked_sub(1)
                .and_then(|newer| events.get(newer))
                .map_or(now, |newer| newer.at);
            HistoryRow {
                status: event.status.as_str(),
                reason: event.reason.clone().unwrap_or_default(),
                from: human_time(event.at),
                lasted: duration_text((until - event.at).num_seconds()),
            }
        })
        .collect()
}

/// `3 d 4 h`, `2 h 5 min`, `4 min`, `12 s`.
fn duration_text(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min")
    } else {
        format!("{seconds} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};
    use mcpgw_registry::{HealthEvent, HealthState};

    #[test]
    fn each_span_lasts_until_the_next_change() {
        let now = Utc::now();
        let start = now - Duration::hours(3);
        let events = [
            HealthEvent {
                at: start + Duration::minutes(90),
                status: HealthState::Healthy,
                reason: None,
            },
            HealthEvent {
                at: start,
                status: HealthState::Unhealthy,
                reason: Some("connection refused".into()),
            },
        ];
        let rows = history_rows(&events, now);
        assert_eq!(rows[0].status, "healthy");
        assert_eq!(rows[0].lasted, "1 h 30 min");
        assert_eq!(rows[1].reason, "connection refused");
        assert_eq!(rows[1].lasted, "1 h 30 min");
        assert_eq!(duration_text(3 * 86_400 + 7_200), "3 d 2 h");
        assert_eq!(duration_text(42), "42 s");
    }
}
