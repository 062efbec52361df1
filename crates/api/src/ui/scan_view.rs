//! The tool scan in the web UI: a badge for each server in the list (worst severity,
//! or "blocked"), and on the server's page its findings with an Approve button for
//! admins and a Rescan button for whoever may check the server. Both buttons are plain
//! form posts carrying the session's CSRF token (the CSP allows no inline script).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use mcpgw_policy::UiAction;
use mcpgw_registry::Server;
use mcpgw_registry::scan::ScanSummary;

use crate::access::{Access, authorized_server, server_ref};
use crate::auth_layer::admin_for;
use crate::findings::visible;
use crate::ui::actions::checked_form;
use crate::ui::error::or_error_page;
use crate::ui::frame::see_other;
use crate::ui::rows::human_time;
use crate::ui::viewer::Viewer;
use crate::{ApiError, AppState};

/// A server's scan badge in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanBadge {
    /// `high`, `medium`, `low` or `blocked`: the badge's class.
    pub level: &'static str,
    /// What it says.
    pub label: String,
    /// Its tooltip (why the server is blocked, or what the scan found).
    pub title: String,
}

impl ScanBadge {
    /// The badge for `summary`, if there is anything to show.
    pub fn of(summary: Option<&ScanSummary>) -> Option<ScanBadge> {
        let summary = summary?;
        if let Some(reason) = &summary.blocked {
            return Some(ScanBadge {
                level: "blocked",
                label: "blocked by tool scan".to_owned(),
                title: reason.clone(),
            });
        }
        let worst = summary.worst?;
        Some(ScanBadge {
            level: worst.as_str(),
            label: format!("scan: {}", worst.as_str()),
            title: format!(
                "{} tool scan finding(s), worst {}{}",
                summary.findings,
                worst.as_str(),
                if summary.approved { " (approved)" } else { "" }
            ),
        })
    }
}

/// One finding as the page shows it.
pub struct FindingRow {
    /// `high`, `medium` or `low`.
    pub severity: &'static str,
    /// The rule.
    pub rule: String,
    /// The tool, or empty.
    pub tool: String,
    /// Where in the tool, or empty.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// The text, invisible characters spelled out, or empty.
    pub excerpt: String,
}

/// The scan section of a server's page.
pub struct ScanView {
    /// Whether this gateway scans at all.
    pub enabled: bool,
    /// When the server was last scanned, or empty.
    pub scanned_at: String,
    /// Why the scan keeps the server disabled, or empty.
    pub blocked: String,
    /// Who approved the tools and when, or empty.
    pub approval: String,
    /// The findings the viewer may see.
    pub findings: Vec<FindingRow>,
    /// The viewer is an admin (the Approve button).
    pub can_approve: bool,
    /// The digest of the tool list the findings shown are about: the Approve form sends
    /// it back, so that what is approved is what the admin saw.
    pub tools_digest: String,
    /// The viewer may check the server (the Rescan button).
    pub can_rescan: bool,
}

impl ScanView {
    /// `server`'s scan as `viewer` (with `access`) may see it.
    pub async fn load(
        state: &AppState,
        server: &Server,
        viewer: &Viewer,
        access: &Access,
    ) -> Result<ScanView, ApiError> {
        let report = visible(access, state.registry.findings(&server.path).await?);
        let approval = report
            .approval
            .as_ref()
            .map(|approval| {
                format!(
                    "approved by {} at {}{}",
                    approval.approved_by,
                    human_time(approval.approved_at),
                    if approval.current {
                        ""
                    } else {
                        "; the tools changed since"
                    }
                )
            })
            .unwrap_or_default();
        Ok(ScanView {
            enabled: report.scan_enabled,
            scanned_at: report.scanned_at.map(human_time).unwrap_or_default(),
            blocked: report.blocked.unwrap_or_default(),
            approval,
            findings: report
                .findings
                .into_iter()
                .map(|finding| FindingRow {
                    severity: finding.severity.as_str(),
                    rule: finding.rule,
                    tool: finding.tool.unwrap_or_default(),
                    field: finding.field.unwrap_or_default(),
                    message: finding.message,
                    excerpt: finding.excerpt.unwrap_or_default(),
                })
                .collect(),
            can_approve: viewer.principal.is_admin,
            tools_digest: report.tools_digest,
            can_rescan: report.scan_enabled
                && access.allows(UiAction::HealthCheck, Some(server_ref(server))),
        })
    }
}

/// `POST /ui/servers/{path}/approve` (admins): approves the tools, back to the page.
pub async fn approve(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let done = async {
        let fields = checked_form(&state, &viewer, &headers, body)?;
        let (server, _) =
            authorized_server(&state, &viewer.principal, &path, UiAction::List).await?;
        admin_for(
            &viewer.principal,
            &format!("approve the tools of server '{}'", server.path),
        )?;
        state
            .registry
            .approve(
                &server.path,
                &viewer.principal.subject,
                fields.get("tools_digest"),
            )
            .await?;
        Ok(see_other(&format!("/ui/servers/{}#scan", server.path)))
    };
    or_error_page(&state, &viewer, done.await)
}

/// `POST /ui/servers/{path}/rescan` (`health_check_service`): scans again, back to the
/// page.
pub async fn rescan(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let done = async {
        checked_form(&state, &viewer, &headers, body)?;
        let (server, _) =
            authorized_server(&state, &viewer.principal, &path, UiAction::HealthCheck).await?;
        state.registry.rescan(&server.path).await?;
        Ok(see_other(&format!("/ui/servers/{}#scan", server.path)))
    };
    or_error_page(&state, &viewer, done.await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpgw_registry::scan::Severity;

    fn summary(worst: Option<Severity>, blocked: Option<&str>) -> ScanSummary {
        ScanSummary {
            path: "svc".into(),
            findings: 2,
            worst,
            blocked: blocked.map(str::to_owned),
            approved: false,
        }
    }

    #[test]
    fn badges_say_blocked_first_then_the_worst_severity() {
        assert_eq!(ScanBadge::of(None), None);
        assert_eq!(ScanBadge::of(Some(&summary(None, None))), None);
        let medium = ScanBadge::of(Some(&summary(Some(Severity::Medium), None))).unwrap();
        assert_eq!(
            (medium.level, medium.label.as_str()),
            ("medium", "scan: medium")
        );
        let blocked = ScanBadge::of(Some(&summary(
            Some(Severity::High),
            Some("disabled by the tool scan"),
        )))
        .unwrap();
        assert_eq!(blocked.level, "blocked");
        assert_eq!(blocked.title, "disabled by the tool scan");
    }
}
