//! Reading the audit trail back: filters, keyset pagination, and the storage contract.

use async_trait::async_trait;

use crate::TelemetryError;
use crate::audit::record::AuditEntry;

/// The most records one page may hold.
pub const MAX_LIMIT: u32 = 1000;

/// Which records to return: every filter given must match (exact comparison), newest
/// first, at most `limit`, after `cursor` when paging on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// MCP routes or registry API.
    pub source: Option<crate::audit::AuditSource>,
    /// The caller's subject.
    pub principal: Option<String>,
    /// Who the caller is across issuers (`Principal::owner`): subjects are unique only per
    /// issuer, so "this person's records" filter on this.
    pub owner: Option<String>,
    /// The server's path.
    pub server: Option<String>,
    /// The method or registry action.
    pub method: Option<String>,
    /// The tool, prompt or resource.
    pub target: Option<String>,
    /// Only allowed (`true`) or only refused (`false`) decisions.
    pub allowed: Option<bool>,
    /// Records at or after this time (milliseconds since the epoch).
    pub since: Option<i64>,
    /// Records before this time (milliseconds since the epoch).
    pub until: Option<i64>,
    /// Page size, from 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// Where the previous page ended.
    pub cursor: Option<AuditCursor>,
}

/// The position after the last record of a page: records are ordered by time, then id,
/// both descending, so the next page is everything strictly before this pair. Stable
/// while records are appended (new ones sort before the first page) and pruned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    /// The last record's time.
    pub at: i64,
    /// The last record's id.
    pub id: String,
}

impl AuditCursor {
    /// The cursor after `entry`.
    pub fn after(entry: &AuditEntry) -> AuditCursor {
        AuditCursor {
            at: entry.record.at,
            id: entry.id.clone(),
        }
    }

    /// The cursor as the opaque text clients pass back (`next_cursor` → `cursor`).
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at, self.id)
    }

    /// Reads a cursor made by [`AuditCursor::encode`].
    pub fn parse(text: &str) -> Result<AuditCursor, TelemetryError> {
        let invalid = || TelemetryError::Invalid {
            field: "cursor",
            message: "not a cursor this gateway issued (pass next_cursor back unchanged)"
                .to_owned(),
        };
        let (at, id) = text.split_once('.').ok_or_else(invalid)?;
        let at: i64 = at.parse().map_err(|_| invalid())?;
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !id_ok {
            return Err(invalid());
        }
        Ok(AuditCursor {
            at,
            id: id.to_owned(),
        })
    }
}

/// One page of records and where the next one starts (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The records, newest first.
    pub entries: Vec<AuditEntry>,
    /// Pass this back for the next page.
    pub next_cursor: Option<AuditCursor>,
}

/// Where audit records are kept: the database in the gateway, a vector in tests.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Stores a batch, all or nothing; an entry whose id is already stored is skipped, so
    /// a batch retried after an unclear failure is not stored twice.
    async fn append_audit(&self, batch: &[AuditEntry]) -> Result<(), TelemetryError>;

    /// One page of the records matching `query`.
    async fn query_audit(&self, query: &AuditQuery) -> Result<AuditPage, TelemetryError>;

    /// Deletes the records older than `before` (milliseconds since the epoch); returns how
    /// many.
    async fn prune_audit(&self, before: i64) -> Result<u64, TelemetryError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let cursor = AuditCursor {
            at: 1_764_000_000_123,
            id: "0b5f2c1e-8d1a-4c3e-9a57-1f2e3d4c5b6a".into(),
        };
        assert_eq!(AuditCursor::parse(&cursor.encode()), Ok(cursor));
        for junk in ["", "12", "x.abc", "12.", "12.a b", "12.a'--"] {
            assert!(AuditCursor::parse(junk).is_err(), "{junk}");
        }
    }
}
