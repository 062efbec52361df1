//! The scan's side of [`RegistryService`]: scanning after a check finds a new tool list,
//! disabling what the scan blocks, refusing to enable it until approved, approving,
//! rescanning, and reading findings.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    Approval, Finding, ScanRecord, ScanSummary, Severity, ToolScan, tool_digests, tools_digest,
    worst,
};
use crate::error::RegistryError;
use crate::input::ServerInput;
use crate::model::{Server, Tool, now};
use crate::service::RegistryService;

/// An approval as the API shows it (without the digests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalInfo {
    /// Who approved.
    pub approved_by: String,
    /// When.
    pub approved_at: DateTime<Utc>,
    /// How many tools were approved.
    pub tools: usize,
    /// Whether the server's tools are still those approved.
    pub current: bool,
}

/// A server's last scan as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    /// The server.
    pub path: String,
    /// Whether this gateway scans tool lists (`[scan] enabled`).
    pub scan_enabled: bool,
    /// When it was last scanned (`None`: never).
    pub scanned_at: Option<DateTime<Utc>>,
    /// How many findings.
    pub count: usize,
    /// The worst severity among them.
    pub worst: Option<Severity>,
    /// Why the scan disabled the server, until an admin approves it.
    pub blocked: Option<String>,
    /// The admin's approval, if any.
    pub approval: Option<ApprovalInfo>,
    /// The findings, worst first.
    pub findings: Vec<Finding>,
    /// The digest of the tool list these findings are about (the current list when it
    /// was never scanned or the scan is off): given back to [`RegistryService::approve`], it makes the
    /// approval cover exactly what was reviewed.
    pub tools_digest: String,
}

impl RegistryService {
    fn tool_scan(&self) -> Result<&ToolScan, RegistryError> {
        self.scanning()
            .ok_or_else(|| RegistryError::invalid("scan", "this gateway has no tool scan"))
    }

    /// `path`'s last scan and approval.
    pub async fn findings(&self, path: &str) -> Result<ScanReport, RegistryError> {
        let server = self.get(path).await?;
        let scan = self.tool_scan()?;
        let record = scan.store().scan_record(&server.path).await?;
        let approval = scan.store().approval(&server.path).await?;
        Ok(report(&server, scan.enabled(), record, approval))
    }

    /// Every scanned server's summary, by path.
    pub async fn scan_summaries(&self) -> Result<HashMap<String, ScanSummary>, RegistryError> {
        let Some(scan) = self.scanning() else {
            return Ok(HashMap::new());
        };
        Ok(scan
            .store()
            .scan_summaries()
            .await?
            .into_iter()
            .map(|summary| (summary.path.clone(), summary))
            .collect())
    }

    /// Scans `path`'s current tools again now (with the other servers as they are now,
    /// and the external scanner), disabling it if it must be.
    pub async fn rescan(&self, path: &str) -> Result<ScanReport, RegistryError> {
        let server = self.get(path).await?;
        if !self.tool_scan()?.enabled() {
            return Err(RegistryError::invalid(
                "scan",
                "the tool scan is turned off ([scan] enabled = false)",
            ));
        }
        self.scan_and_act(&server, &server.tools, false).await?;
        self.findings(&server.path).await
    }

    /// Approves `path`'s tools as they are now, on behalf of `by`: records their digests,
    /// lifts the scan's block, and enables the server again if the scan had disabled it.
    /// Any later change of those tools is a rug pull.
    ///
    /// With `reviewed` (a report's [`ScanReport::tools_digest`]), the approval is refused
    /// (conflict) unless the tools are still the ones that report was about: a server
    /// cannot swap its tools between an admin reading the findings and approving them.
    pub async fn approve(
        &self,
        path: &str,
        by: &str,
        reviewed: Option<&str>,
    ) -> Result<(Server, ScanReport), RegistryError> {
        let server = self.get(path).await?;
        let scan = self.tool_scan()?;
        let previous = scan.store().scan_record(&server.path).await?;
        if let Some(reviewed) = reviewed {
            let current = tools_digest(&server.tools);
            if reviewed != current {
                return Err(RegistryError::Conflict(format!(
                    "the tools of server '{}' are not the ones reviewed (tools_digest {reviewed}, now {current}); read its findings again (rescan if they are older than the tools) and approve what they show",
                    server.path
                )));
            }
        }
        let was_blocked = previous
            .as_ref()
            .is_some_and(|record| record.blocked.is_some());
        let approval = Approval {
            path: server.path.clone(),
            approved_by: by.to_owned(),
            approved_at: now(),
            digests: tool_digests(&server.tools),
        };
        if !scan.store().save_approval(&approval).await? {
            return Err(RegistryError::NotFound(server.path));
        }
        if scan.enabled() {
            let others = self.list().await?;
            scan.scan(&server, &server.tools, &others, true).await?;
        } else {
            let _writing = scan.writing().await;
            if let Some(mut record) = scan.store().scan_record(&server.path).await? {
                record.blocked = None;
                scan.store().save_scan(&record).await?;
            }
        }
        tracing::info!(path = %server.path, approved_by = by, tools = server.tools.len(), "server's tools approved");
        let server = if was_blocked && !server.enabled {
            self.set_enabled(&server.path, true).await?
        } else {
            server
        };
        let report = self.findings(&server.path).await?;
        Ok((server, report))
    }

    /// Refuses to enable `path` while the scan blocks it.
    pub(crate) async fn refuse_if_blocked(&self, path: &str) -> Result<(), RegistryError> {
        let Some(scan) = self.scanning().filter(|scan| scan.enabled()) else {
            return Ok(());
        };
        match scan
            .store()
            .scan_record(path)
            .await?
            .and_then(|record| record.blocked)
        {
            Some(reason) => Err(RegistryError::Blocked {
                path: path.to_owned(),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// After a check listed `tools` for `server`: scans them if they are new (or the
    /// server is enabled though blocked). A failure is logged and the check stands; the
    /// next check finds the list still unscanned and scans it. (Not retried here: this
    /// runs inside a registration's request, which must fail fast when the database is
    /// away, not wait out an outage.)
    pub(crate) async fn scan_checked(&self, server: &Server, tools: &[Tool]) {
        let Some(scan) = self.scanning().filter(|scan| scan.enabled()) else {
            return;
        };
        let result = async {
            let record = scan.store().scan_record(&server.path).await?;
            let blocked_but_enabled = server.enabled
                && record
                    .as_ref()
                    .is_some_and(|record| record.blocked.is_some());
            if ToolScan::is_new(record.as_ref(), tools) || blocked_but_enabled {
                self.scan_and_act(server, tools, false).await?;
            }
            Ok::<_, RegistryError>(())
        };
        if let Err(error) = result.await {
            tracing::warn!(path = %server.path, %error, "could not scan the server's tools");
        }
    }

    /// Scans `tools` of `server`, stores the result, and disables the server if the scan
    /// blocks it.
    async fn scan_and_act(
        &self,
        server: &Server,
        tools: &[Tool],
        approved: bool,
    ) -> Result<ScanRecord, RegistryError> {
        let scan = self.tool_scan()?;
        let others = self.list().await?;
        let record = scan.scan(server, tools, &others, approved).await?;
        if let Some(worst) = worst(&record.findings) {
            tracing::info!(path = %server.path, findings = record.findings.len(), worst = worst.as_str(), "tool scan findings");
        }
        self.disable_if_blocked(server, &record).await?;
        Ok(record)
    }

    /// Disables `server` if `record` (its scan) blocks it and it is still enabled.
    pub(super) async fn disable_if_blocked(
        &self,
        server: &Server,
        record: &ScanRecord,
    ) -> Result<(), RegistryError> {
        let Some(reason) = &record.blocked else {
            return Ok(());
        };
        if self.get(&server.path).await?.enabled {
            tracing::warn!(path = %server.path, %reason, "server disabled");
            let input = ServerInput {
                enabled: Some(false),
                ..ServerInput::default()
            };
            self.update(&server.path, input).await?;
        }
        Ok(())
    }
}

/// The report of `server`'s scan.
fn report(
    server: &Server,
    scan_enabled: bool,
    record: Option<ScanRecord>,
    approval: Option<Approval>,
) -> ScanReport {
    let approval = approval.map(|approval| ApprovalInfo {
        current: approval.covers(&server.tools),
        approved_by: approval.approved_by,
        approved_at: approval.approved_at,
        tools: approval.digests.len(),
    });
    // With the scan off, stored findings are history: what an approval covers is the
    // current list.
    let current_digest = tools_digest(&server.tools);
    match record {
        Some(record) => ScanReport {
            path: server.path.clone(),
            scan_enabled,
            scanned_at: Some(record.scanned_at),
            count: record.findings.len(),
            worst: worst(&record.findings),
            blocked: record.blocked,
            approval,
            findings: record.findings,
            tools_digest: if scan_enabled {
                record.tools_digest
            } else {
                current_digest
            },
        },
        None => ScanReport {
            path: server.path.clone(),
            scan_enabled,
            scanned_at: None,
            count: 0,
            worst: None,
            blocked: None,
            approval,
            findings: Vec::new(),
            tools_digest: current_digest,
        },
    }
}
