//! # mcpgw example MCP servers
//!
//! Small, self-contained [Model Context Protocol](https://modelcontextprotocol.io) servers
//! written with the official Rust SDK (`rmcp`). The mcpgw gateway uses them for its
//! `--demo` mode, its integration tests and its benchmarks.
//!
//! Two servers are provided:
//!
//! * [`ExampleServer::CurrentTime`] (`currenttime`): one tool,
//!   `current_time_by_timezone`, that tells the current time in an IANA timezone.
//! * [`ExampleServer::Toolbox`] (`toolbox`): a dozen small tools that exercise the
//!   protocol features a gateway has to pass through untouched: structured output
//!   (`outputSchema` + `structuredContent`), tool error results (`isError`), progress
//!   notifications streamed while a call runs, long-running calls, annotations.
//!
//! Both can be served over Streamable HTTP ([`serve_http`]) or stdio ([`serve_stdio`]).
//! Over HTTP they answer the session-based protocol revisions (`initialize` +
//! `Mcp-Session-Id`, up to `2025-11-25`) and the stateless `2026-07-28` revision
//! (`server/discover` plus per-request `_meta`), which `rmcp` always serves without
//! sessions.
//!
//! As standalone processes they run through the gateway binary:
//! `mcpgw example-server <currenttime|toolbox> [--stdio | --listen ADDR] [--stateless]`.

#![warn(missing_docs)]

mod currenttime;
mod serve;
mod toolbox;

pub use currenttime::CurrentTime;
pub use serve::{MCP_PATH, serve_http, serve_stdio};
pub use toolbox::Toolbox;

/// Which example server to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleServer {
    /// `currenttime`: tells the current time in an IANA timezone.
    CurrentTime,
    /// `toolbox`: assorted tools exercising structured output, errors and progress.
    Toolbox,
}

impl ExampleServer {
    /// Every example server, in a stable order.
    pub const ALL: [ExampleServer; 2] = [ExampleServer::CurrentTime, ExampleServer::Toolbox];

    /// The server's short name, as used on the command line and in `serverInfo.name`.
    pub fn name(self) -> &'static str {
        match self {
            ExampleServer::CurrentTime => "currenttime",
            ExampleServer::Toolbox => "toolbox",
        }
    }

    /// Looks a server up by its [`name`](Self::name) (exact, case-sensitive match).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|server| server.name() == name)
    }

    /// A one-line description, suitable for registry listings.
    pub fn description(self) -> &'static str {
        match self {
            ExampleServer::CurrentTime => {
                "Tells the current date and time in any IANA timezone (example server)"
            }
            ExampleServer::Toolbox => {
                "Assorted demo tools: echo, arithmetic with structured output, text utilities, \
                 base64, UUIDs, random numbers, progress streaming, errors and delays \
                 (example server)"
            }
        }
    }
}

impl std::fmt::Display for ExampleServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::ExampleServer;

    #[test]
    fn names_round_trip() {
        for server in ExampleServer::ALL {
            assert_eq!(ExampleServer::from_name(server.name()), Some(server));
            assert!(!server.description().is_empty());
            assert!(!server.description().contains('\n'));
        }
        assert_eq!(ExampleServer::from_name("nope"), None);
        assert_eq!(ExampleServer::CurrentTime.name(), "currenttime");
        assert_eq!(ExampleServer::Toolbox.to_string(), "toolbox");
    }
}
