//! Storage for the registry: one [`SqlStore`] implementing `mcpgw_registry::Store` on
//! SQLite (the embedded default) and PostgreSQL (for several replicas).
//!
//! Both databases are reached through sqlx's `Any` driver with portable SQL and one set of
//! versioned migrations (`migrations/`), so the two backends cannot drift apart; the few
//! backend differences (SQLite's WAL and busy timeout) are set when connecting.
//! The same database keeps the gateway's tokens, users and sessions (`mcpgw-auth`'s store
//! traits), the audit trail (`mcpgw-telemetry`'s `AuditStore`) and the cached embeddings of
//! tool search (`mcpgw_registry::EmbeddingStore`) and the published server versions
//! (`mcpgw_registry::versions::VersionStore`).
//! This crate holds no domain rules: validation belongs to `mcpgw-registry`.

mod analytics;
mod audit;
mod changes;
mod connect;
mod connections;
mod connections_reseal;
mod embeddings;
mod file_guard;
mod health_events;
mod leases;
mod mcp_sessions;
mod multi_row;
mod origins;
mod reseal;
mod rows;
mod secrets;
mod sessions;
mod signing_keys;
mod sql_store;
mod tokens;
mod tool_scans;
mod users;
mod versions;

pub use changes::{ChangeBus, Topic};
pub use connect::{Backend, connect};
pub use mcp_sessions::StoredMcpSession;
pub use secrets::Secrets;
pub use sql_store::SqlStore;
