//! The tool scan's tables (`mcpgw_registry::scan::ScanStore`): each server's last scan
//! (`tool_scans`) and its findings (`tool_findings`), and admins' approvals
//! (`tool_approvals`). They go with their server (see `health_events::delete_server`):
//! a server registered again at the same path starts unapproved.

use std::collections::BTreeMap;

use async_trait::async_trait;
use mcpgw_registry::StoreError;
use mcpgw_registry::scan::{Approval, Finding, ScanRecord, ScanStore, ScanSummary, Severity};
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::rows::{from_json, get, json_text, millis, time, unavailable};

/// A stored finding.
fn finding_from_row(row: &AnyRow) -> Result<Finding, StoreError> {
    let severity: String = get(row, "severity")?;
    Ok(Finding {
        rule: get(row, "rule")?,
        severity: Severity::parse(&severity)
            .ok_or_else(|| StoreError::Corrupt(format!("tool_findings.severity = {severity:?}")))?,
        tool: get(row, "tool")?,
        field: get(row, "field")?,
        excerpt: get(row, "excerpt")?,
        message: get(row, "message")?,
    })
}

#[async_trait]
impl ScanStore for SqlStore {
    async fn scan_record(&self, path: &str) -> Result<Option<ScanRecord>, StoreError> {
        let pool = self.pool();
        let Some(row) =
            sqlx::query("SELECT scanned_at, tools_digest, blocked FROM tool_scans WHERE path = $1")
                .bind(path)
                .fetch_optional(pool)
                .await
                .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let findings = sqlx::query(
            "SELECT rule, severity, tool, field, excerpt, message FROM tool_findings \
             WHERE path = $1 ORDER BY seq",
        )
        .bind(path)
        .fetch_all(pool)
        .await
        .map_err(unavailable)?
        .iter()
        .map(finding_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ScanRecord {
            path: path.to_owned(),
            scanned_at: time(get(&row, "scanned_at")?, "tool_scans.scanned_at")?,
            tools_digest: get(&row, "tools_digest")?,
            findings,
            blocked: get(&row, "blocked")?,
        }))
    }

    async fn save_scan(&self, record: &ScanRecord) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await.map_err(unavailable)?;
        if !self
            .lock_server(&mut tx, &record.path)
            .await
            .map_err(unavailable)?
        {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO tool_scans (path, scanned_at, tools_digest, blocked) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (path) DO UPDATE SET \
             scanned_at = excluded.scanned_at, tools_digest = excluded.tools_digest, \
             blocked = excluded.blocked",
        )
        .bind(&record.path)
        .bind(millis(record.scanned_at))
        .bind(&record.tools_digest)
        .bind(&record.blocked)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        sqlx::query("DELETE FROM tool_findings WHERE path = $1")
            .bind(&record.path)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        for (seq, finding) in record.findings.iter().enumerate() {
            sqlx::query(
                "INSERT INTO tool_findings (path, seq, rule, severity, tool, field, excerpt, \
                 message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&record.path)
            .bind(i64::try_from(seq).unwrap_or(i64::MAX))
            .bind(&finding.rule)
            .bind(finding.severity.as_str())
            .bind(&finding.tool)
            .bind(&finding.field)
            .bind(&finding.excerpt)
            .bind(&finding.message)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(true)
    }

    async fn scan_summaries(&self) -> Result<Vec<ScanSummary>, StoreError> {
        let pool = self.pool();
        let mut summaries: BTreeMap<String, ScanSummary> = BTreeMap::new();
        let blank = |path: &str| ScanSummary {
            path: path.to_owned(),
            findings: 0,
            worst: None,
            blocked: None,
            approved: false,
        };
        for row in sqlx::query("SELECT path, blocked FROM tool_scans")
            .fetch_all(pool)
            .await
            .map_err(unavailable)?
        {
            let path: String = get(&row, "path")?;
            let mut summary = blank(&path);
            summary.blocked = get(&row, "blocked")?;
            summaries.insert(path, summary);
        }
        for row in sqlx::query(
            "SELECT path, severity, COUNT(*) AS n FROM tool_findings GROUP BY path, severity",
        )
        .fetch_all(pool)
        .await
        .map_err(unavailable)?
        {
            let path: String = get(&row, "path")?;
            let severity: String = get(&row, "severity")?;
            let count: i64 = get(&row, "n")?;
            let summary = summaries
                .entry(path.clone())
                .or_insert_with(|| blank(&path));
            summary.findings += usize::try_from(count).unwrap_or(0);
            summary.worst = summary.worst.max(Severity::parse(&severity));
        }
        for row in sqlx::query("SELECT path FROM tool_approvals")
            .fetch_all(pool)
            .await
            .map_err(unavailable)?
        {
            let path: String = get(&row, "path")?;
            summaries
                .entry(path.clone())
                .or_insert_with(|| blank(&path))
                .approved = true;
        }
        Ok(summaries.into_values().collect())
    }

    async fn approval(&self, path: &str) -> Result<Option<Approval>, StoreError> {
        let row = sqlx::query(
            "SELECT approved_by, approved_at, digests FROM tool_approvals WHERE path = $1",
        )
        .bind(path)
        .fetch_optional(self.pool())
        .await
        .map_err(unavailable)?;
        let Some(row) = row else { return Ok(None) };
        let digests: String = get(&row, "digests")?;
        Ok(Some(Approval {
            path: path.to_owned(),
            approved_by: get(&row, "approved_by")?,
            approved_at: time(get(&row, "approved_at")?, "tool_approvals.approved_at")?,
            digests: from_json(&digests, "tool_approvals.digests")?,
        }))
    }

    async fn save_approval(&self, approval: &Approval) -> Result<bool, StoreError> {
        // Only for a registered server, which its removal waits for.
        let mut tx = self.begin_write().await.map_err(unavailable)?;
        if !self
            .lock_server(&mut tx, &approval.path)
            .await
            .map_err(unavailable)?
        {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO tool_approvals (path, approved_by, approved_at, digests) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (path) DO UPDATE SET approved_by = excluded.approved_by, \
             approved_at = excluded.approved_at, digests = excluded.digests",
        )
        .bind(&approval.path)
        .bind(&approval.approved_by)
        .bind(millis(approval.approved_at))
        .bind(json_text(&approval.digests)?)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(true)
    }
}
