//! The registry domain: which MCP servers exist, how to reach them, their tools and health.
//!
//! [`RegistryService`] is the one entry point for every change (register, update, toggle,
//! refresh, remove); it validates input ([`ServerInput`]), persists through the [`Store`]
//! trait, and learns tools and health by probing servers with the `mcpgw-mcp` clients
//! ([`HealthChecker`] runs that in the background).
//!
//! This crate knows nothing of HTTP routing or SQL: handlers live in `mcpgw-api`, storage
//! implementations in `mcpgw-store`.

mod egress;
mod error;
mod follow;
mod health;
pub mod import;
mod input;
mod lease;
mod model;
mod probe;
pub mod scan;
mod search;
mod service;
mod store;
mod upstream_auth;
mod validation;
pub mod versions;

pub use egress::Egress;
pub use error::{ErrorKind, RegistryError, StoreError};
pub use follow::{Followed, follow};
pub use health::{HealthCheckConfig, HealthChecker};
pub use input::{REDACTED, ServerInput, TagsInput};
pub use lease::{Lease, LeaseStore, LeaseTiming};
pub use model::{Health, HealthEvent, HealthState, HealthSummary, Server, Tool, Transport, now};
pub use probe::{CheckOutcome, Prober};
pub use search::{
    Candidates, LexicalIndex, LiveSearchCatalog, SEMANTIC_WEIGHT, Scored, SearchCatalog,
    SearchMode, SemanticIndex, SemanticSlot, ToolDocument, ToolHit, VectorIndex, best_cosine,
    document, find_tools, fuse, matched_fields, rank_by_scores, rank_candidates, rank_tools,
    rank_tools_hybrid, rank_tools_weighted, score_candidates, server_matched_fields, server_text,
    tool_summary, tool_text, tool_texts, usable_servers,
};
pub use service::{ChangeHook, RegistryService};
pub use store::{EmbeddingStore, Store};
pub use upstream_auth::{
    EgressCaller, EgressFailure, EgressTarget, Granted, SharedUpstreamAuth, UpstreamAuth,
};
pub use validation::RESERVED_PATHS;
