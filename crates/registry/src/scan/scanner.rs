//! [`ToolScan`]: runs every rule over a server's tools, adds the external scanner's
//! findings, decides whether the server must stay disabled, and stores the result.

use std::sync::Arc;

use super::external::ExternalScanner;
use super::fields::{Kind, text_fields};
use super::rug_pull::{self, Approval};
use super::store::{ScanRecord, ScanStore};
use super::{Finding, Severity, instructions, shadowing, tools_digest, unicode};
use crate::error::StoreError;
use crate::model::{Server, Tool, now};

/// How the scan acts (`[scan]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSettings {
    /// Whether tool lists are scanned at all (`enabled`, default true). Off, nothing is
    /// scanned or disabled, and no earlier block stops a server from being enabled.
    pub enabled: bool,
    /// Findings of this severity or worse disable a server that is not approved as it
    /// is (`disable_on`, default high); `None` never disables.
    pub disable_on: Option<Severity>,
    /// The external scanner, if one is configured.
    pub external: Option<ExternalScanner>,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            enabled: true,
            disable_on: Some(Severity::High),
            external: None,
        }
    }
}

/// The built-in rules' findings for the tools of the server at `path`, given the other
/// registered servers and the server's approval, worst first.
pub fn builtin_findings(
    path: &str,
    tools: &[Tool],
    others: &[Server],
    approval: Option<&Approval>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for tool in tools {
        for field in text_fields(tool) {
            findings.extend(unicode::scan_field(&tool.name, &field));
            if field.kind == Kind::Prose {
                findings.extend(instructions::scan_field(&tool.name, &field));
            }
        }
    }
    findings.extend(shadowing::scan(path, tools, others));
    findings.extend(rug_pull::scan(tools, approval));
    sort(&mut findings);
    findings
}

/// Worst first, then by tool.
pub(super) fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.tool.cmp(&b.tool))
    });
}

/// The scan, with where it keeps its results. Cheap to clone.
#[derive(Clone)]
pub struct ToolScan {
    store: Arc<dyn ScanStore>,
    settings: Arc<ScanSettings>,
    /// Held while a scan record is read, changed and saved, so that two writers (a scan,
    /// an approval, a list a client was sent) do not undo each other's block. One for all
    /// servers: these writes are rare and short (findings are worked out before).
    writes: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for ToolScan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolScan")
            .field("settings", &self.settings)
            .finish()
    }
}

impl ToolScan {
    /// A scan acting by `settings`, keeping results in `store`.
    pub fn new(store: Arc<dyn ScanStore>, settings: ScanSettings) -> Self {
        ToolScan {
            store,
            settings: Arc::new(settings),
            writes: Arc::default(),
        }
    }

    /// The lock held while a scan record is read, changed and saved.
    pub(crate) async fn writing(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writes.lock().await
    }

    /// Whether tool lists are scanned.
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// Where results are kept.
    pub fn store(&self) -> &dyn ScanStore {
        self.store.as_ref()
    }

    /// Whether `tools` differ from what `record` scanned (or nothing was scanned yet).
    pub fn is_new(record: Option<&ScanRecord>, tools: &[Tool]) -> bool {
        record.is_none_or(|record| record.tools_digest != tools_digest(tools))
    }

    /// Scans `server` (with `tools`, its current list) against the `others`, stores the
    /// result and returns it. A server that was disabled by a scan stays so (its
    /// `blocked` reason is kept) until `approved` says an admin just approved it.
    pub async fn scan(
        &self,
        server: &Server,
        tools: &[Tool],
        others: &[Server],
        approved: bool,
    ) -> Result<ScanRecord, StoreError> {
        let approval = self.store.approval(&server.path).await?;
        let mut findings = builtin_findings(&server.path, tools, others, approval.as_ref());
        if let Some(external) = &self.settings.external {
            findings.extend(external.run(server, tools).await);
            sort(&mut findings);
        }
        let _writing = self.writing().await;
        let previous = self.store.scan_record(&server.path).await?;
        let blocked = match self.blocking(&findings, approval.as_ref(), tools) {
            Some(reason) => Some(reason),
            None if approved => None,
            None => previous.and_then(|record| record.blocked),
        };
        let record = ScanRecord {
            path: server.path.clone(),
            scanned_at: now(),
            tools_digest: tools_digest(tools),
            findings,
            blocked,
        };
        self.store.save_scan(&record).await?;
        Ok(record)
    }

    /// Why `findings` disable the server, if they do: one of them is at least as bad as
    /// `disable_on` and the tools are not what an admin approved.
    pub(super) fn blocking(
        &self,
        findings: &[Finding],
        approval: Option<&Approval>,
        tools: &[Tool],
    ) -> Option<String> {
        let threshold = self.settings.disable_on?;
        if approval.is_some_and(|approval| approval.covers(tools)) {
            return None;
        }
        let over: Vec<&Finding> = findings
            .iter()
            .filter(|finding| finding.severity >= threshold)
            .collect();
        let first = over.first()?;
        let tool = first
            .tool
            .as_deref()
            .map(|tool| format!(" in tool '{tool}'"))
            .unwrap_or_default();
        Some(format!(
            "disabled by the tool scan: {} finding(s) of severity {} or worse, first {} ({}){tool}: {}; an admin must approve the server",
            over.len(),
            threshold.as_str(),
            first.rule,
            first.severity.as_str(),
            first.message
        ))
    }
}

#[cfg(test)]
#[path = "scanner_tests.rs"]
mod tests;
