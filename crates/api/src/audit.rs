//! `GET /api/audit` (admins): the audit trail, newest first, filtered by exact values and
//! a time range, in pages joined by an opaque cursor.

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use mcpgw_auth::Principal;
use mcpgw_telemetry::TelemetryError;
use mcpgw_telemetry::audit::{AuditCursor, AuditEntry, AuditQuery, AuditSource, MAX_LIMIT};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth_layer::admin_only;
use crate::{ApiError, AppState};

/// Records per page when `limit` is not given.
const DEFAULT_LIMIT: u32 = 100;

/// The query parameters, as text so each gets its own precise error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    source: Option<String>,
    principal: Option<String>,
    server: Option<String>,
    method: Option<String>,
    tool: Option<String>,
    decision: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

impl From<TelemetryError> for ApiError {
    fn from(error: TelemetryError) -> Self {
        match error {
            TelemetryError::Invalid { field, message } => ApiError::invalid_field(field, message),
            TelemetryError::Store(_) | TelemetryError::Corrupt(_) => {
                // Details (database errors) go to the log, not to the caller.
                tracing::error!(%error, "audit trail unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the audit trail is unavailable; try again",
                )
            }
        }
    }
}

/// `GET /api/audit?principal=&server=&method=&tool=&decision=allow|deny&since=&until=
/// &limit=&cursor=`: `{"count", "records": [...], "next_cursor"}`.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    admin_only(&principal)?;
    let query = parse_query(raw.as_deref().unwrap_or(""))?;
    let page = state.audit.query(&query).await?;
    let records: Vec<Value> = page.entries.iter().map(view).collect();
    Ok(Json(json!({
        "count": records.len(),
        "records": records,
        "next_cursor": page.next_cursor.as_ref().map(AuditCursor::encode),
    })))
}

/// Turns the query string into an [`AuditQuery`]: an unknown parameter or a bad value is
/// a 422 naming it, a query string that cannot be decoded a 400.
pub fn parse_query(raw: &str) -> Result<AuditQuery, ApiError> {
    let params: AuditParams = serde_urlencoded::from_str(raw).map_err(|error| {
        let message = error.to_string();
        match message.strip_prefix("unknown field `") {
            Some(rest) => ApiError::invalid_field(
                rest.split('`').next().unwrap_or_default(),
                "unknown parameter; use source, principal, server, method, tool, decision, since, \
                 until, limit or cursor",
            ),
            None => ApiError::bad_request(format!("malformed query string: {message}")),
        }
    })?;
    let allowed = match params.decision.as_deref() {
        None => None,
        Some("allow") => Some(true),
        Some("deny") => Some(false),
        Some(other) => {
            return Err(ApiError::invalid_field(
                "decision",
                format!("'{other}' is neither allow nor deny"),
            ));
        }
    };
    let since = params
        .since
        .as_deref()
        .map(|t| time("since", t))
        .transpose()?;
    let until = params
        .until
        .as_deref()
        .map(|t| time("until", t))
        .transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(ApiError::invalid_field("until", "must be later than since"));
    }
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<u32>() {
            Ok(limit @ 1..=MAX_LIMIT) => limit,
            _ => {
                return Err(ApiError::invalid_field(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}, not '{text}'"),
                ));
            }
        },
    };
    let cursor = params
        .cursor
        .as_deref()
        .map(AuditCursor::parse)
        .transpose()?;
    let source = match params.source.as_deref() {
        None => None,
        Some(text) => Some(AuditSource::parse(text).ok_or_else(|| {
            ApiError::invalid_field("source", format!("'{text}': use mcp or api"))
        })?),
    };
    Ok(AuditQuery {
        source,
        owner: None,
        principal: params.principal,
        server: params.server,
        method: params.method,
        target: params.tool,
        allowed,
        since,
        until,
        limit,
        cursor,
    })
}

/// An RFC 3339 time as milliseconds since the epoch.
fn time(field: &str, text: &str) -> Result<i64, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_millis())
        .map_err(|error| {
            ApiError::invalid_field(
                field,
                format!("'{text}' is not an RFC 3339 time like 2026-01-02T03:04:05Z ({error})"),
            )
        })
}

/// One record as the API shows it.
fn view(entry: &AuditEntry) -> Value {
    let record = &entry.record;
    let time = DateTime::<Utc>::from_timestamp_millis(record.at)
        .map(|time| time.to_rfc3339_opts(SecondsFormat::Millis, true));
    json!({
        "id": entry.id,
        "time": time,
        "at": record.at,
        "source": record.source.as_str(),
        "principal": record.principal,
        "owner": record.owner,
        "auth": record.auth,
        "client_id": record.client_id,
        "server": record.server,
        "method": record.method,
        "tool": record.target,
        "decision": if record.allowed { "allow" } else { "deny" },
        "reason": record.reason,
        "request_id": record.request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_is_read_and_bad_ones_name_themselves() {
        let query = parse_query(
            "principal=bob&server=box&method=tools%2Fcall&tool=x&decision=deny\
             &since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00%2B01:00&limit=5",
        )
        .unwrap();
        assert_eq!(query.principal.as_deref(), Some("bob"));
        assert_eq!(query.method.as_deref(), Some("tools/call"));
        assert_eq!(query.target.as_deref(), Some("x"));
        assert_eq!(query.allowed, Some(false));
        assert_eq!(query.since, Some(1_767_225_600_000));
        assert_eq!(query.until, Some(1_767_308_400_000));
        assert_eq!(query.limit, 5);
        assert_eq!(parse_query("").unwrap().limit, DEFAULT_LIMIT);
        for (raw, field) in [
            ("decision=maybe", "decision"),
            ("since=yesterday", "since"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=x", "limit"),
            ("cursor=nope", "cursor"),
            ("colour=red", "colour"),
            (
                "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
                "until",
            ),
        ] {
            let error = parse_query(raw).unwrap_err();
            assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY, "{raw}");
            assert!(error.message.starts_with(field), "{raw}: {}", error.message);
        }
    }
}
