//! The tool scan on the registry API (issue 13), under the names the Python registry uses
//! where it has them:
//! - `GET /api/servers/{path}/findings` (also `/security-scan`): the last scan's findings,
//!   for whoever may see the server, without findings about tools it may not call;
//! - `POST /api/servers/{path}/rescan`: scans again now (`health_check_service`);
//! - `POST /api/servers/{path}/approve`: an admin approves the tools as they are, which
//!   re-enables a server the scan disabled (admins only). The body may name the report it
//!   approves, `{"tools_digest": "<the findings' tools_digest>"}`: the approval is then
//!   refused (409) if the tools are no longer those.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use mcpgw_auth::Principal;
use mcpgw_policy::UiAction;
use mcpgw_registry::scan::{ScanReport, ScanSummary};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Access, authorized_server};
use crate::auth_layer::admin_for;
use crate::body::{body_bytes, parse_json};
use crate::error::ServerPath;
use crate::{ApiError, AppState};

/// `report` as a caller with `access` may see it: findings about tools it may not call
/// are left out (and counted by what is left), as the tools themselves are.
pub fn visible(access: &Access, mut report: ScanReport) -> ScanReport {
    let filter = access.tool_filter(&report.path);
    if !filter.allows_everything() {
        report.findings.retain(|finding| {
            finding
                .tool
                .as_deref()
                .is_none_or(|tool| filter.allows(tool))
        });
        report.count = report.findings.len();
        report.worst = mcpgw_registry::scan::worst(&report.findings);
    }
    report
}

/// [`visible`] `report` as JSON.
pub fn report_json(access: &Access, report: ScanReport) -> Value {
    serde_json::to_value(visible(access, report)).unwrap_or(Value::Null)
}

/// A server's scan in a few words, as the server list and `show` carry it under `scan`
/// (`null`: never scanned).
pub fn summary_json(summary: Option<&ScanSummary>) -> Value {
    match summary {
        None => Value::Null,
        Some(summary) => json!({
            "findings": summary.findings,
            "worst": summary.worst,
            "blocked": summary.blocked,
            "approved": summary.approved,
        }),
    }
}

/// `GET /api/servers/{path}/findings` (`list_service`).
pub async fn findings(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
) -> Result<Json<Value>, ApiError> {
    let (server, access) = authorized_server(&state, &principal, &path, UiAction::List).await?;
    let report = state.registry.findings(&server.path).await?;
    Ok(Json(report_json(&access, report)))
}

/// `POST /api/servers/{path}/rescan` (`health_check_service`): the new findings.
pub async fn rescan(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
) -> Result<Json<Value>, ApiError> {
    let (server, access) =
        authorized_server(&state, &principal, &path, UiAction::HealthCheck).await?;
    let report = state.registry.rescan(&server.path).await?;
    Ok(Json(report_json(&access, report)))
}

/// The optional body of `POST /api/servers/{path}/approve`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    /// The `tools_digest` of the findings the admin reviewed.
    tools_digest: Option<String>,
}

/// `POST /api/servers/{path}/approve` (admins): the findings after the approval, and
/// whether the server is enabled now.
pub async fn approve(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body_bytes(body)?;
    let wanted: ApproveBody = if body.trim_ascii().is_empty() {
        ApproveBody::default()
    } else {
        parse_json(&body)?
    };
    let (server, access) = authorized_server(&state, &principal, &path, UiAction::List).await?;
    admin_for(
        &principal,
        &format!("approve the tools of server '{}'", server.path),
    )?;
    let (server, report) = state
        .registry
        .approve(
            &server.path,
            &principal.subject,
            wanted.tools_digest.as_deref(),
        )
        .await?;
    let mut body = report_json(&access, report);
    body["enabled"] = json!(server.enabled);
    Ok(Json(body))
}
