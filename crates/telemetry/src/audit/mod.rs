//! The audit trail: one [`AuditRecord`] per access decision (an MCP message on a server
//! route, a registry action), queued without blocking by [`AuditLog::record`] and written
//! in batches by a background task to an [`AuditStore`], which also answers queries
//! ([`AuditQuery`], newest first, keyset-paginated by [`AuditCursor`]) and prunes old
//! records.

mod log;
mod query;
mod record;

#[cfg(test)]
mod log_tests;

pub use log::{AuditConfig, AuditLog, AuditStats};
pub use query::{AuditCursor, AuditPage, AuditQuery, AuditStore, MAX_LIMIT};
pub use record::{AuditEntry, AuditRecord, AuditSource, now_millis};
