//! `GET /ui/admin/audit` (admins only): the audit trail, newest first, with the filters of
//! `GET /api/audit` (read by the same code, so they mean the same) and "older" pages.

use askama::Template;
use axum::extract::{Extension, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use mcpgw_telemetry::audit::AuditCursor;

use crate::access::Access;
use crate::audit::parse_query;
use crate::auth_layer::admin_for;
use crate::ui::error::or_error_page;
use crate::ui::frame::{Frame, Section, render};
use crate::ui::rows::human_millis;
use crate::ui::viewer::Viewer;
use crate::{ApiError, AppState};

/// Records per page.
const PAGE: &str = "50";

/// The filters as typed, to show them back.
#[derive(Default)]
struct Filters {
    source: String,
    principal: String,
    server: String,
    method: String,
    tool: String,
    decision: String,
    since: String,
    until: String,
}

/// One record.
struct Row {
    at: String,
    source: &'static str,
    principal: String,
    auth: String,
    server: String,
    method: String,
    tool: String,
    allowed: bool,
    reason: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    filters: Filters,
    rows: Vec<Row>,
    older: Option<String>,
    error: String,
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
    admin_for(&viewer.principal, "read the audit log")?;
    // A form sends every field; the empty ones are no filter.
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .filter(|(key, value)| !value.trim().is_empty() && key != "limit")
        .map(|(key, value)| (key, value.trim().to_owned()))
        .collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let filters = Filters {
        source: field("source"),
        principal: field("principal"),
        server: field("server"),
        method: field("method"),
        tool: field("tool"),
        decision: field("decision"),
        since: field("since"),
        until: field("until"),
    };
    let query_text = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .append_pair("limit", PAGE)
        .finish();
    let access = Access::of(state, &viewer.principal);
    let frame = Frame::new(viewer, &access, "Audit log", Section::Admin);
    let (rows, older, error, status) = match parse_query(&query_text) {
        Err(error) => (Vec::new(), None, error.message, error.status),
        Ok(query) => {
            let page = state.audit.query(&query).await?;
            let older = page.next_cursor.as_ref().map(|cursor| {
                let kept: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields.iter().filter(|(key, _)| key != "cursor"))
                    .append_pair("cursor", &AuditCursor::encode(cursor))
                    .finish();
                format!("/ui/admin/audit?{kept}")
            });
            let rows = page
                .entries
                .into_iter()
                .map(|entry| {
                    let record = entry.record;
                    Row {
                        at: human_millis(record.at),
                        source: record.source.as_str(),
                        principal: record.principal,
                        auth: record.auth,
                        server: record.server,
                        method: record.method,
                        tool: record.target.unwrap_or_default(),
                        allowed: record.allowed,
                        reason: record.reason,
                    }
                })
                .collect();
            (rows, older, String::new(), StatusCode::OK)
        }
    };
    let page = AuditPage {
        frame,
        filters,
        rows,
        older,
        error,
    };
    Ok(render(status, &page))
}
