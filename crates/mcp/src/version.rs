//! Protocol versions and the three eras of MCP over HTTP the gateway must speak.

use std::fmt;

/// The stateless protocol revision: per-request `_meta`, `server/discover`, no sessions.
pub const STATELESS_2026: &str = "2026-07-28";
/// The newest revision that uses the `initialize` handshake and `Mcp-Session-Id` sessions.
pub const STATEFUL_LATEST: &str = "2025-11-25";
/// The revision of the deprecated HTTP+SSE transport (`GET /sse` + `endpoint` event).
pub const LEGACY_SSE: &str = "2024-11-05";

/// JSON-RPC error code for a protocol version the server does not support (2026-07-28).
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// JSON-RPC error code for `Mcp-Method` / `Mcp-Name` headers that disagree with the body.
pub const HEADER_MISMATCH: i64 = -32020;

/// `_meta` key carrying the protocol version of a stateless request.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key carrying the client's identity on a stateless request.
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key carrying the client's capabilities on a stateless request.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key carrying the server's identity in a stateless result.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Which generation of MCP a server (or client) speaks.
///
/// The era is a property of the peer, detected by probing, never assumed from a previous
/// request of a different peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// 2026-07-28 and later: stateless Streamable HTTP (or stdio) with per-request `_meta`.
    Stateless,
    /// 2025-03-26 … 2025-11-25: `initialize` handshake, sessions on HTTP.
    Stateful,
    /// 2024-11-05 HTTP+SSE: a long-lived `GET` stream plus a POST message endpoint.
    LegacySse,
}

impl Era {
    /// Stable lowercase name used in storage, JSON and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Era::Stateless => "stateless",
            Era::Stateful => "stateful",
            Era::LegacySse => "legacy-sse",
        }
    }

    /// Parses the name produced by [`Era::as_str`].
    pub fn parse(name: &str) -> Option<Era> {
        match name {
            "stateless" => Some(Era::Stateless),
            "stateful" => Some(Era::Stateful),
            "legacy-sse" => Some(Era::LegacySse),
            _ => None,
        }
    }
}

impl fmt::Display for Era {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn era_names_round_trip() {
        for era in [Era::Stateless, Era::Stateful, Era::LegacySse] {
            assert_eq!(Era::parse(era.as_str()), Some(era));
        }
        assert_eq!(Era::parse("nonsense"), None);
    }
}
