//! The data plane: per-server MCP routes that authenticate, inspect and forward every
//! message to the registered upstream, streaming responses through as they arrive.
//!
//! A request takes one path, in this order, each step one function:
//! [`route::parse`] (normalised path → server and endpoint) → `authenticate` (who) →
//! [`mcpgw_mcp::inspect`] (what, read once) → `authorize` (may they) → forward
//! ([`streamable`] for Streamable HTTP, [`legacy`] for the 2024-11-05 HTTP+SSE transport).
//! Routing data comes from an in-memory [`RoutingTable`] kept in sync with the registry,
//! so the hot path never touches the database.
//!
//! This crate owns no registry rules and no HTTP API; it must not buffer response bodies.

pub mod aggregate;
mod audit;
mod authorize;
pub mod bridge;
mod challenge;
mod config;
mod connect_reply;
pub mod egress;
mod error;
mod forward;
mod handler;
pub mod held_body;
mod idle;
mod ids;
pub mod legacy;
pub mod limits;
mod list_filter;
pub mod observe;
pub mod observed_lists;
pub mod origin;
pub mod route;
pub mod session_directory;
mod session_owners;
mod sse_filter;
mod sse_inject;
mod sse_rewrite;
pub mod stream_quota;
pub mod streamable;
mod table;
pub mod tool_changes;
pub mod trace;
mod upstream;

pub use authorize::MessageDecision;
pub use config::GatewayConfig;
pub use error::GatewayError;
pub use handler::Gateway;
pub use table::RoutingTable;
