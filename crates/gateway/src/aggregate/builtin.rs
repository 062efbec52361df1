//! The gateway's own tools, offered on `/mcp` beside the servers' tools and alone on
//! `/mcpgw/mcp` (where users of the Python gateway's `mcpgw` server look for them).
//!
//! Calling one is decided like a call to a server named `mcpgw` (so a `scopes.yml`
//! written for the Python gateway keeps working); the registry tools are then gated by
//! the same `UI-Scopes` permissions as the REST API. `invoke_mcp_tool` calls as the
//! caller: no token or password is ever passed as an argument.

use serde_json::{Value, json};

/// The path the built-in tools are decided under in `scopes.yml`, and served at.
pub const SERVER: &str = "mcpgw";

/// One built-in tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Finds the tools that best match a task described in plain words.
    Finder,
    /// Calls any tool the caller may call, by server and tool name.
    Invoke,
    /// Lists the servers the caller may see.
    ListServices,
    /// The tools of one server.
    ServiceTools,
    /// Health of every server the caller may see.
    Healthcheck,
    /// Checks one server now and refreshes its tools.
    Refresh,
    /// Enables or disables a server.
    Toggle,
    /// Registers a server.
    Register,
    /// Removes a server.
    Remove,
}

impl Builtin {
    /// Every built-in tool, in the order they are listed.
    pub const ALL: [Builtin; 9] = [
        Builtin::Finder,
        Builtin::Invoke,
        Builtin::ListServices,
        Builtin::ServiceTools,
        Builtin::Healthcheck,
        Builtin::Refresh,
        Builtin::Toggle,
        Builtin::Register,
        Builtin::Remove,
    ];

    /// The tool's name.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Finder => "intelligent_tool_finder",
            Builtin::Invoke => "invoke_mcp_tool",
            Builtin::ListServices => "list_services",
            Builtin::ServiceTools => "get_service_tools",
            Builtin::Healthcheck => "healthcheck",
            Builtin::Refresh => "refresh_service",
            Builtin::Toggle => "toggle_service",
            Builtin::Register => "register_service",
            Builtin::Remove => "remove_service",
        }
    }

    /// The built-in tool called `name`.
    pub fn parse(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|tool| tool.name() == name)
    }

    /// The MCP tool object clients list.
    pub fn definition(self) -> Value {
        let path = json!({"type": "string", "description": "The server's path, e.g. \"currenttime\" or \"/currenttime\""});
        let (description, properties, required, read_only): (&str, Value, &[&str], bool) =
            match self {
                Builtin::Finder => (
                    "Finds the tools best suited to a task described in plain words, among every tool you may call. Returns the best matches first, each with its server (service_path), its input schema and a similarity score; call one with invoke_mcp_tool or by its aggregated_name.",
                    json!({
                        "natural_language_query": {"type": "string", "description": "What you want to do, in plain words"},
                        "top_k_services": {"type": "integer", "minimum": 1, "maximum": 100, "default": 3, "description": "How many of the most relevant servers to consider"},
                        "top_n_tools": {"type": "integer", "minimum": 1, "maximum": 100, "default": 1, "description": "How many tools to return"}
                    }),
                    &["natural_language_query"],
                    true,
                ),
                Builtin::Invoke => (
                    "Calls a tool of a registered server through the gateway, as you (your own authentication is used).",
                    json!({
                        "server_name": {"type": "string", "description": "The server's path (service_path from intelligent_tool_finder)"},
                        "tool_name": {"type": "string", "description": "The tool's name on that server"},
                        "arguments": {"type": "object", "description": "The tool's arguments", "default": {}}
                    }),
                    &["server_name", "tool_name"],
                    false,
                ),
                Builtin::ListServices => (
                    "Lists the MCP servers registered in the gateway that you may see, with their health and number of tools.",
                    json!({}),
                    &[],
                    true,
                ),
                Builtin::ServiceTools => (
                    "Lists the tools of one server that you may call, with their schemas.",
                    json!({"service_path": path}),
                    &["service_path"],
                    true,
                ),
                Builtin::Healthcheck => (
                    "Health of every server you may see, as of its last check: status, reason, last check, protocol era, number of tools.",
                    json!({}),
                    &[],
                    true,
                ),
                Builtin::Refresh => (
                    "Checks one server now and refreshes its tool list (needs health_check_service).",
                    json!({"service_path": path}),
                    &["service_path"],
                    false,
                ),
                Builtin::Toggle => (
                    "Enables or disables a server (needs toggle_service). Without `enabled`, flips it.",
                    json!({"service_path": path, "enabled": {"type": "boolean"}}),
                    &["service_path"],
                    false,
                ),
                Builtin::Register => (
                    "Registers an MCP server (needs register_service). Takes the REST API's fields (path, name, description, url, transport, command, args, env, headers, tags, license, version, enabled) and the Python registry's (server_name, proxy_pass_url).",
                    json!({
                        "path": {"type": "string"}, "name": {"type": "string"}, "server_name": {"type": "string"},
                        "description": {"type": "string"}, "url": {"type": "string"}, "proxy_pass_url": {"type": "string"},
                        "transport": {"type": "string", "enum": ["streamable-http", "sse", "stdio"]},
                        "command": {"type": "string"}, "args": {"type": "array", "items": {"type": "string"}},
                        "env": {"type": "object"}, "headers": {"type": "object"},
                        "tags": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
                        "license": {"type": "string"}, "version": {"type": "string"}, "enabled": {"type": "boolean"}
                    }),
                    &["path"],
                    false,
                ),
                Builtin::Remove => (
                    "Removes a registered server (needs modify_service).",
                    json!({"service_path": path}),
                    &["service_path"],
                    false,
                ),
            };
        json!({
            "name": self.name(),
            "description": description,
            "inputSchema": {"type": "object", "properties": properties, "required": required},
            "annotations": {"readOnlyHint": read_only, "destructiveHint": matches!(self, Builtin::Remove | Builtin::Toggle)},
            "_meta": {super::catalog::META_SERVER: SERVER, super::catalog::META_TOOL: self.name()}
        })
    }
}

/// The built-in tools' names, which upstream tools are never offered under.
pub const NAMES: &[&str] = &[
    "intelligent_tool_finder",
    "invoke_mcp_tool",
    "list_services",
    "get_service_tools",
    "healthcheck",
    "refresh_service",
    "toggle_service",
    "register_service",
    "remove_service",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_listed_once_and_parse_back() {
        let names: Vec<&str> = Builtin::ALL.iter().map(|tool| tool.name()).collect();
        assert_eq!(names, NAMES);
        for tool in Builtin::ALL {
            assert_eq!(Builtin::parse(tool.name()), Some(tool));
            assert_eq!(tool.definition()["inputSchema"]["type"], "object");
        }
        assert_eq!(Builtin::parse("nope"), None);
    }
}
