//! `GET /ui/search?q=&type=`: the search box of every page. Tools and servers ranked as
//! `GET /api/search` ranks them (words and meaning once a model is loaded), each with its
//! score, the fields that matched and the matching text highlighted, one click from the
//! tool on its server's page.

use askama::Template;
use axum::extract::{Extension, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use crate::access::Access;
use crate::search::{Wanted, search};
use crate::ui::error::or_error_page;
use crate::ui::frame::{Frame, Section, render};
use crate::ui::highlight::highlight;
use crate::ui::viewer::Viewer;
use crate::{ApiError, AppState};

/// Results of each kind on the page.
const LIMIT: usize = 20;

#[derive(Debug, Default, Deserialize)]
struct Params {
    #[serde(default)]
    q: String,
    #[serde(default, rename = "type")]
    kind: String,
}

/// A tool found.
struct ToolHit {
    server_path: String,
    server_name: String,
    tool: String,
    score: String,
    matched: String,
    description_html: String,
}

/// A server found.
struct ServerHit {
    path: String,
    name: String,
    score: String,
    matched: String,
    description_html: String,
    matching_tools: Vec<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    frame: Frame,
    q: String,
    kind: String,
    mode: String,
    tools: Vec<ToolHit>,
    servers: Vec<ServerHit>,
    searched: bool,
}

/// The page.
pub async fn page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Response {
    or_error_page(
        &state,
        &viewer,
        render_page(&state, &viewer, raw.as_deref().unwrap_or("")).await,
    )
}

async fn render_page(state: &AppState, viewer: &Viewer, raw: &str) -> Result<Response, ApiError> {
    let params: Params = serde_urlencoded::from_str(raw)
        .map_err(|error| ApiError::bad_request(format!("bad search: {error}")))?;
    let access = Access::of(state, &viewer.principal);
    let mut frame = Frame::new(viewer, &access, "Search", Section::Search);
    frame.query = params.q.clone();
    let (tools_wanted, servers_wanted) = match params.kind.as_str() {
        "tool" => (true, false),
        "server" => (false, true),
        _ => (true, true),
    };
    let mut page = SearchPage {
        frame,
        q: params.q.clone(),
        kind: params.kind.clone(),
        mode: String::new(),
        tools: Vec::new(),
        servers: Vec::new(),
        searched: false,
    };
    if params.q.trim().is_empty() {
        return Ok(render(StatusCode::OK, &page));
    }
    let wanted = Wanted {
        query: &params.q,
        tools: tools_wanted,
        servers: servers_wanted,
        limit: LIMIT,
        tags: Vec::new(),
    };
    let found = search(state, &viewer.principal, wanted).await?;
    let query = params.q.as_str();
    let text = |value: &Value, key: &str| value[key].as_str().unwrap_or_default().to_owned();
    let matched = |value: &Value| {
        value["matched"]
            .as_array()
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let score = |value: &Value| format!("{:.3}", value["score"].as_f64().unwrap_or(0.0));
    page.searched = true;
    page.mode = match found["search_mode"].as_str() {
        Some("hybrid") => "ranked by words and meaning".to_owned(),
        _ => "ranked by words (no embedding model is loaded)".to_owned(),
    };
    page.tools = found["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|hit| ToolHit {
            server_path: text(hit, "server_path"),
            server_name: text(hit, "server_name"),
            tool: text(hit, "tool_name"),
            score: score(hit),
            matched: matched(hit),
            description_html: highlight(&text(hit, "description"), query),
        })
        .collect();
    page.servers = found["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|hit| ServerHit {
            path: text(hit, "path"),
            name: text(hit, "name"),
            score: score(hit),
            matched: matched(hit),
            description_html: highlight(&text(hit, "description"), query),
            matching_tools: hit["matching_tools"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        })
        .collect();
    Ok(render(StatusCode::OK, &page))
}
