//! What the scan keeps per server, and the persistence contract for it (implemented by
//! `mcpgw-store`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Approval, Finding, Severity};
use crate::error::StoreError;

/// The last scan of a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanRecord {
    /// The server.
    pub path: String,
    /// When it was scanned.
    pub scanned_at: DateTime<Utc>,
    /// [`super::tools_digest`] of the tools scanned, so that an unchanged list is not
    /// scanned again at every health check.
    pub tools_digest: String,
    /// What it found (the current set: each scan replaces the last).
    pub findings: Vec<Finding>,
    /// Why the scan disabled the server, until an admin approves it (`None`: not
    /// disabled by the scan).
    pub blocked: Option<String>,
}

/// A server's scan in a few words, for lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanSummary {
    /// The server.
    pub path: String,
    /// How many findings its last scan had.
    pub findings: usize,
    /// The worst of them.
    pub worst: Option<Severity>,
    /// Why the scan disabled it, if it did.
    pub blocked: Option<String>,
    /// Whether an admin approved it.
    pub approved: bool,
}

/// Durable storage of scans and approvals. Each call is atomic; writes about a server
/// that is not registered store nothing and return `false`.
#[async_trait]
pub trait ScanStore: Send + Sync + 'static {
    /// The last scan of `path`.
    async fn scan_record(&self, path: &str) -> Result<Option<ScanRecord>, StoreError>;

    /// Replaces `record.path`'s scan (findings and all).
    async fn save_scan(&self, record: &ScanRecord) -> Result<bool, StoreError>;

    /// Every scanned or approved server's summary.
    async fn scan_summaries(&self) -> Result<Vec<ScanSummary>, StoreError>;

    /// `path`'s approval.
    async fn approval(&self, path: &str) -> Result<Option<Approval>, StoreError>;

    /// Replaces `approval.path`'s approval.
    async fn save_approval(&self, approval: &Approval) -> Result<bool, StoreError>;
}
