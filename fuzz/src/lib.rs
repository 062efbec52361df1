//! Shared code of the cargo-fuzz targets (`scripts/fuzz` runs them).
//!
//! Each module serves the targets of one part of the gateway: what they check beyond
//! "does not panic" lives here when more than one target needs it, or when it is long
//! enough to read on its own.

pub mod jsonrpc;
pub mod jwt;
pub mod policy;
pub mod sse;
