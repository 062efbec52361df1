//! Copy-ready configuration for the MCP clients people point at the gateway: the tokens
//! page shows one snippet per client so nobody has to work out each client's file format,
//! transport key or quoting rules by hand.
//!
//! Every snippet speaks Streamable HTTP and sends `Authorization: Bearer <token>`. Names,
//! URLs and tokens are never pasted into a snippet as raw text: JSON is serialized by
//! `serde_json`, the shell command single-quotes each argument, and the Python and
//! TypeScript programs embed JSON string literals (which both languages accept), so a value
//! holding quotes, backslashes, `$` or newlines cannot break out of its string.

use std::collections::BTreeMap;

use serde::Serialize;

/// Stands in for the token when the page does not show one, so the snippet still has the
/// right shape and the user sees exactly what to replace.
pub const TOKEN_PLACEHOLDER: &str = "<your token>";

/// What a snippet connects to: the same gateway address can be offered under different
/// config keys (the whole gateway, or one server behind it).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Config key the client lists the server under, e.g. `mcpgw` or `mcpgw-weather`.
    pub name: &'a str,
    /// Streamable HTTP endpoint, e.g. `http://127.0.0.1:7860/mcp`.
    pub url: &'a str,
    /// Bearer token; `None` puts [`TOKEN_PLACEHOLDER`] in its place.
    pub token: Option<&'a str>,
    /// No token at all: the client finds out how to sign in from the gateway's protected
    /// resource metadata (the MCP authorization flow). Only the clients that do that get a
    /// snippet; `token` is ignored.
    pub discovery: bool,
}

/// One client's configuration, ready to paste, with enough context to say where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// Stable id for tabs and anchors, e.g. `vscode`.
    pub client: &'static str,
    /// Name shown on the tab, e.g. `VS Code`.
    pub title: &'static str,
    /// Where the text goes, e.g. `.vscode/mcp.json` or `a terminal`.
    pub file: &'static str,
    /// Highlighting hint: `json`, `shell`, `python` or `typescript`.
    pub language: &'static str,
    /// The snippet itself.
    pub text: String,
}

/// The clients there are snippets for, by id, in the order pages show them.
pub const CLIENTS: [&str; 8] = [
    "vscode",
    "cursor",
    "claude-code",
    "cline",
    "roo-code",
    "json",
    "python",
    "typescript",
];

/// Every supported client's snippet for `target`, in the order the page shows them, so the
/// page has a single call to make and the formats stay in one reviewed place. With
/// `discovery`, the SDK programs are left out: signing in is then the client's own
/// OAuth flow, which a ten-line program does not do.
pub fn snippets(target: &Target) -> Vec<Snippet> {
    let token = target.token.unwrap_or(TOKEN_PLACEHOLDER);
    let bearer = format!("Bearer {token}");
    let authorization = (!target.discovery).then_some(bearer.as_str());
    let mut all = vec![
        vscode(target, authorization),
        cursor(target, authorization),
        claude_code(target, authorization),
        cline(target, authorization),
        roo_code(target, authorization),
        generic(target, authorization),
    ];
    if !target.discovery {
        all.push(python(target, token));
        all.push(typescript(target, token));
    }
    all
}

/// The snippet for `client` (one of [`CLIENTS`]), if there is one for `target`.
pub fn snippet(target: &Target, client: &str) -> Option<Snippet> {
    snippets(target)
        .into_iter()
        .find(|snippet| snippet.client == client)
}

/// One remote server entry; fields serialize in declaration order so `type` comes first.
#[derive(Serialize)]
struct HttpServer<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    transport: Option<&'static str>,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Headers<'a>>,
}

/// The only header the gateway needs.
#[derive(Serialize)]
struct Headers<'a> {
    #[serde(rename = "Authorization")]
    authorization: &'a str,
}

/// `{ "<top>": { "<name>": { "type"?, "url", "headers"? } } }`, pretty-printed.
fn server_json(
    top: &str,
    transport: Option<&'static str>,
    target: &Target,
    auth: Option<&str>,
) -> String {
    let server = HttpServer {
        transport,
        url: target.url,
        headers: auth.map(|authorization| Headers { authorization }),
    };
    let document = BTreeMap::from([(top, BTreeMap::from([(target.name, server)]))]);
    // Cannot fail: every map key is a string and every value a plain string field.
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

/// VS Code: `.vscode/mcp.json`, top-level `servers`, each remote server with
/// `"type": "http"`, `url` and `headers`. Source: VS Code "MCP configuration reference",
/// <https://code.visualstudio.com/docs/copilot/reference/mcp-configuration> (HTTP servers:
/// `type` `"http"`/`"sse"`, `url`, `headers`).
fn vscode(target: &Target, auth: Option<&str>) -> Snippet {
    Snippet {
        client: "vscode",
        title: "VS Code",
        file: ".vscode/mcp.json",
        language: "json",
        text: server_json("servers", Some("http"), target, auth),
    }
}

/// Cursor: `~/.cursor/mcp.json` (or `.cursor/mcp.json` in a project), `mcpServers` with a
/// `url` (Streamable HTTP, no `type` needed) and `headers`. Source: Cursor's MCP docs,
/// <https://cursor.com/docs/mcp> ("Remote server" example with `url` and `headers`).
fn cursor(target: &Target, auth: Option<&str>) -> Snippet {
    Snippet {
        client: "cursor",
        title: "Cursor",
        file: "~/.cursor/mcp.json",
        language: "json",
        text: server_json("mcpServers", None, target, auth),
    }
}

/// Claude Code: `claude mcp add --transport http <name> <url> --header "…"`, the header
/// after the URL exactly as documented (the option takes several values, so placing it
/// before the name would swallow the name). Source: <https://code.claude.com/docs/en/mcp>,
/// "Option 1: Add a remote HTTP server".
fn claude_code(target: &Target, auth: Option<&str>) -> Snippet {
    let mut text = format!(
        "claude mcp add --transport http {} {}",
        shell_quote(target.name),
        shell_quote(target.url),
    );
    if let Some(auth) = auth {
        let header = format!("Authorization: {auth}");
        text.push_str(&format!(" \\\n  --header {}", shell_quote(&header)));
    }
    text.push('\n');
    Snippet {
        client: "claude-code",
        title: "Claude Code",
        file: "a terminal",
        language: "shell",
        text,
    }
}

/// Cline: `cline_mcp_settings.json` (MCP Servers → Configure → "Configure MCP Servers"),
/// `mcpServers` with `"type": "streamableHttp"` — without a `type`, Cline falls back to the
/// legacy SSE transport. Sources: cline/cline `docs/mcp/configuring-mcp-servers.mdx`
/// ("Streamable HTTP configuration example") and `src/services/mcp/schemas.ts`
/// (`z.literal("streamableHttp")`, SSE listed first as the default).
fn cline(target: &Target, auth: Option<&str>) -> Snippet {
    Snippet {
        client: "cline",
        title: "Cline",
        file: "cline_mcp_settings.json",
        language: "json",
        text: server_json("mcpServers", Some("streamableHttp"), target, auth),
    }
}

/// Roo Code: global `mcp_settings.json` or project `.roo/mcp.json`, `mcpServers` with
/// `"type": "streamable-http"`, which Roo requires for every `url` entry. Sources:
/// <https://docs.roocode.com/features/mcp/using-mcp-in-roo> ("Streamable HTTP Transport":
/// `type` must be `"streamable-http"`) and RooCodeInc/Roo-Code `src/services/mcp/McpHub.ts`
/// ("Configuration with 'url' must explicitly specify 'type'").
fn roo_code(target: &Target, auth: Option<&str>) -> Snippet {
    Snippet {
        client: "roo-code",
        title: "Roo Code",
        file: "mcp_settings.json or .roo/mcp.json",
        language: "json",
        text: server_json("mcpServers", Some("streamable-http"), target, auth),
    }
}

/// Any other client, or a script: the connection as one JSON object (`name`, `url`,
/// `transport`, and `headers` when a token is used), for tools that take their settings
/// from a file the user writes.
fn generic(target: &Target, auth: Option<&str>) -> Snippet {
    #[derive(Serialize)]
    struct Connection<'a> {
        name: &'a str,
        url: &'a str,
        transport: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        headers: Option<Headers<'a>>,
    }
    let connection = Connection {
        name: target.name,
        url: target.url,
        transport: "streamable-http",
        headers: auth.map(|authorization| Headers { authorization }),
    };
    let mut text = serde_json::to_string_pretty(&connection).unwrap_or_default();
    text.push('\n');
    Snippet {
        client: "json",
        title: "JSON",
        file: "any client's settings",
        language: "json",
        text,
    }
}

/// Python SDK (`mcp` on PyPI, v2): `streamable_http_client(url, http_client=…)` yielding
/// `(read, write)`; headers and timeouts live on the `httpx2.AsyncClient` it is given.
/// v2 removed v1's `streamablehttp_client(url, headers=…)` and moved from `httpx` to
/// `httpx2`. Sources: modelcontextprotocol/python-sdk `docs/migration.md`
/// ("`streamablehttp_client` removed"), the v2.0.0b2 release notes ("httpx is replaced by
/// httpx2") and `mcp/client/streamable_http.py` of the `mcp` 2.3.0 wheel.
fn python(target: &Target, token: &str) -> Snippet {
    let text = format!(
        r#"# pip install "mcp>=2"
import asyncio

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

URL = {url}
TOKEN = {token}


async def main() -> None:
    headers = {{"Authorization": f"Bearer {{TOKEN}}"}}
    # A long read timeout: the server may hold a response stream open.
    timeout = httpx2.Timeout(30, read=300)
    async with httpx2.AsyncClient(headers=headers, timeout=timeout) as http:
        async with streamable_http_client(URL, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                result = await session.list_tools()
                for tool in result.tools:
                    print(tool.name)


if __name__ == "__main__":
    asyncio.run(main())
"#,
        url = string_literal(target.url),
        token = string_literal(token),
    );
    Snippet {
        client: "python",
        title: "Python SDK",
        file: "list_tools.py",
        language: "python",
        text,
    }
}

/// TypeScript SDK (`@modelcontextprotocol/sdk`): `Client` + `StreamableHTTPClientTransport`
/// with `requestInit: { headers }`, ESM with top-level `await` (no type annotations, so it
/// also runs as plain `.mjs`). Sources: modelcontextprotocol/typescript-sdk `docs/client.md`
/// and `dist/esm/client/streamableHttp.d.ts` of `@modelcontextprotocol/sdk` 1.32
/// (`requestInit?: RequestInit`).
fn typescript(target: &Target, token: &str) -> Snippet {
    let text = format!(
        r#"// npm install @modelcontextprotocol/sdk
import {{ Client }} from "@modelcontextprotocol/sdk/client/index.js";
import {{ StreamableHTTPClientTransport }} from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL({url});
const token = {token};

const transport = new StreamableHTTPClientTransport(url, {{
  requestInit: {{ headers: {{ Authorization: `Bearer ${{token}}` }} }},
}});
const client = new Client({{ name: "mcpgw-example", version: "1.0.0" }});
await client.connect(transport);
const {{ tools }} = await client.listTools();
for (const tool of tools) {{
  console.log(tool.name);
}}
await client.close();
"#,
        url = string_literal(target.url),
        token = string_literal(token),
    );
    Snippet {
        client: "typescript",
        title: "TypeScript SDK",
        file: "list_tools.mts",
        language: "typescript",
        text,
    }
}

/// A double-quoted JSON string literal, which is also a valid Python and JavaScript string
/// literal: serde_json escapes `"`, `\` and every control character (so no raw newline
/// ends up inside the quotes), and its escapes (`\n`, `\"`, `\u001b`, …) mean the same
/// in both languages. Other characters stay raw UTF-8, which both accept in a literal
/// (JavaScript since ES2019 also for U+2028 and U+2029).
fn string_literal(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

/// One POSIX shell word: left bare when it only holds characters no shell treats
/// specially, otherwise single-quoted with each `'` written as `'\''`.
fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
#[path = "client_config_tests.rs"]
mod tests;
