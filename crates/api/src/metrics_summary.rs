//! `GET /api/metrics/summary?since=&until=&server=`: per server and per tool, calls, error
//! rate, p50/p95 latency and distinct clients over a window (default: the last 24 hours),
//! from the analytics tables; only servers the caller may list.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use chrono::{DateTime, Utc};
use mcpgw_auth::Principal;
use mcpgw_policy::UiAction;
use mcpgw_telemetry::analytics::{SummaryQuery, ToolSummary, analytics};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Access;
use crate::{ApiError, AppState};

/// The window when none is given, in milliseconds.
const DEFAULT_WINDOW_MILLIS: i64 = 86_400_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    since: Option<String>,
    until: Option<String>,
    server: Option<String>,
}

/// A time parameter: RFC 3339.
fn time(field: &'static str, text: Option<&str>) -> Result<Option<i64>, ApiError> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(text)
            .map(|time| time.timestamp_millis())
            .map_err(|_| ApiError::invalid_field(field, "must be an RFC 3339 time"))
    })
    .transpose()
}

/// The summary.
pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params: Params =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).map_err(|error| {
            ApiError::bad_request(format!("{error}; the parameters are since, until, server"))
        })?;
    let access = Access::of(&state, &principal);
    access.authorize(UiAction::List, None)?;
    let until =
        time("until", params.until.as_deref())?.unwrap_or_else(|| Utc::now().timestamp_millis());
    let since = time("since", params.since.as_deref())?.unwrap_or(until - DEFAULT_WINDOW_MILLIS);
    if since >= until {
        return Err(ApiError::invalid_field("since", "must be before until"));
    }
    let Some(analytics) = analytics() else {
        return Err(ApiError::bad_request("this gateway keeps no analytics"));
    };
    let query = SummaryQuery {
        since,
        until,
        server: params.server.clone(),
    };
    let (servers, tools) = analytics.summary(&query).await.map_err(ApiError::from)?;
    // Only what the caller may list; a server no longer registered only for admins.
    let registered: HashMap<String, mcpgw_registry::Server> = state
        .registry
        .list()
        .await?
        .into_iter()
        .map(|server| (server.path.clone(), server))
        .collect();
    let visible = |summary: &ToolSummary| match registered.get(&summary.server) {
        Some(server) => access.can_list(server),
        None => principal.is_admin,
    };
    let servers: Vec<&ToolSummary> = servers.iter().filter(|s| visible(s)).collect();
    // Tools it may not call are not named to it, as everywhere in the registry.
    let tools: Vec<&ToolSummary> = tools
        .iter()
        .filter(|s| visible(s) && access.may_see_usage(&s.server, &s.tool))
        .collect();
    let at =
        |millis: i64| DateTime::<Utc>::from_timestamp_millis(millis).map(|time| time.to_rfc3339());
    Ok(Json(json!({
        "since": at(since),
        "until": at(until),
        "servers": servers,
        "tools": tools,
    })))
}
