//! Published versions of servers, for the official MCP registry API (`/v0.1`): every
//! change to what a server publishes about itself (its metadata, not its health) is a new
//! version, old versions stay readable, and each has the official registry's lifecycle
//! status (active, deprecated, deleted). The newest published version of a server is its
//! latest.
//!
//! Versions are kept apart from the servers table: a server's row is its current
//! definition, a version row a published snapshot that outlives edits and deletion.

mod model;
mod publish;
mod publisher;

pub use model::{ServerVersion, VersionStatus, VersionStore};
pub use publish::{digest, next_version, published_metadata};
pub use publisher::{Publisher, REMOVED_MESSAGE};
