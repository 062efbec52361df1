//! `GET /ui/servers`: every server the viewer may see, as cards or a dense table (the
//! choice is remembered in a cookie), filtered by text, tag, health and transport. The
//! filters work without script (a GET form); with it they apply as one types, and the
//! health of every server follows `/ui/events` without a reload.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use mcpgw_auth::session::cookie;
use mcpgw_policy::UiAction;
use serde::Deserialize;

use crate::access::Access;
use crate::ui::error::error_page;
use crate::ui::frame::{Frame, Section, render};
use crate::ui::rows::ServerRow;
use crate::ui::viewer::Viewer;
use crate::{ApiError, AppState};

/// The cookie remembering cards or table.
const VIEW_COOKIE: &str = "mcpgw_view";

/// The filters, from the query string.
#[derive(Debug, Default, Deserialize)]
struct Filters {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    health: String,
    #[serde(default)]
    transport: String,
    view: Option<String>,
}

#[derive(Template)]
#[template(path = "servers.html")]
struct ServersPage {
    frame: Frame,
    rows: Vec<ServerRow>,
    total: usize,
    tags: Vec<String>,
    q: String,
    tag: String,
    health: String,
    transport: String,
    table: bool,
}

/// The health states and transports the filters offer.
const HEALTH_STATES: [&str; 5] = [
    "healthy",
    "unhealthy",
    "auth-required",
    "unknown",
    "disabled",
];
const TRANSPORTS: [&str; 3] = ["streamable-http", "sse", "stdio"];

impl ServersPage {
    fn health_states(&self) -> &'static [&'static str] {
        &HEALTH_STATES
    }

    fn transports(&self) -> &'static [&'static str] {
        &TRANSPORTS
    }
}

/// The page.
pub async fn page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match render_page(&state, &viewer, &headers, query.as_deref()).await {
        Ok(response) => response,
        Err(error) => error_page(&state, &viewer, error),
    }
}

async fn render_page(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let filters: Filters = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|error| ApiError::bad_request(format!("bad filter: {error}")))?;
    let access = Access::of(state, &viewer.principal);
    access.authorize(UiAction::List, None)?;
    let servers = access.listable(state.registry.list().await?);
    let total = servers.len();
    let tags: BTreeSet<String> = servers.iter().flat_map(|s| s.tags.clone()).collect();
    let scans = state.registry.scan_summaries().await?;
    let rows: Vec<ServerRow> = servers
        .into_iter()
        .map(|server| {
            let mut row = ServerRow::of(&access.shown(server), &access);
            row.scan = crate::ui::scan_view::ScanBadge::of(scans.get(&row.path));
            row
        })
        .filter(|row| matches(row, &filters))
        .collect();
    let chosen = filters
        .view
        .as_deref()
        .filter(|v| matches!(*v, "cards" | "table"));
    let remembered = cookie::find(headers, VIEW_COOKIE);
    let table = chosen.or(remembered) == Some("table");
    let frame = Frame::new(viewer, &access, "Servers", Section::Servers);
    let page = ServersPage {
        frame,
        rows,
        total,
        tags: tags.into_iter().collect(),
        q: filters.q,
        tag: filters.tag,
        health: filters.health,
        transport: filters.transport,
        table,
    };
    let mut response = render(StatusCode::OK, &page);
    if let Some(view) = chosen {
        let value = format!("{VIEW_COOKIE}={view}; Path=/ui; Max-Age=31536000; SameSite=Lax");
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// Whether `row` passes every filter that is set.
fn matches(row: &ServerRow, filters: &Filters) -> bool {
    let words = filters.q.to_lowercase();
    words
        .split_whitespace()
        .all(|word| row.search_text.contains(word))
        && (filters.tag.is_empty() || row.tags.contains(&filters.tag))
        && (filters.health.is_empty() || row.live.health == filters.health)
        && (filters.transport.is_empty() || row.transport == filters.transport)
}
