//! MCP and JSON-RPC on the wire, as the gateway needs them.
//!
//! This crate owns the protocol knowledge shared by every other part of mcpgw: protocol
//! versions and eras ([`version`]), JSON-RPC message helpers ([`jsonrpc`]), incremental
//! server-sent-events decoding ([`sse`]), and the upstream clients that speak MCP to a
//! registered server over Streamable HTTP, legacy HTTP+SSE or stdio ([`client`]).
//!
//! It must not know about the registry, storage, policy or HTTP routing of the gateway:
//! it is a protocol library, usable on its own.

pub mod client;
pub mod inspect;
pub mod jsonrpc;
pub mod sse;
pub mod version;

pub use client::{Endpoint, ProbeError, ProbeReport, probe};
pub use version::Era;
