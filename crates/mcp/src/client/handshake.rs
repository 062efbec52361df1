//! The transport-independent part of a probe: the messages and their order.
//!
//! Each transport implements [`RpcChannel`]; the functions here run the stateless
//! discovery, the stateful `initialize` handshake and the paginated `tools/list` over it.

use serde_json::{Value, json};

use super::{ProbeError, ProbeOptions, ProbeReport};
use crate::jsonrpc::RpcError;
use crate::version::{
    self, Era, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_PROTOCOL_VERSION, META_SERVER_INFO,
};

/// Most pages of `tools/list` a probe follows, so a server cannot keep us paging forever.
const MAX_TOOL_PAGES: usize = 100;

/// A request/response channel to one server.
pub(crate) trait RpcChannel {
    /// Sends a request and waits for its response (result or JSON-RPC error).
    async fn call(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<Result<Value, RpcError>, ProbeError>;
    /// Sends a notification.
    async fn notify(&mut self, method: &str, params: Value) -> Result<(), ProbeError>;
}

/// The `clientInfo` object mcpgw announces.
pub(crate) fn client_info(options: &ProbeOptions) -> Value {
    json!({ "name": options.client_name, "version": options.client_version })
}

/// `_meta` for a stateless (2026-07-28) request.
pub(crate) fn stateless_meta(options: &ProbeOptions) -> Value {
    json!({
        META_PROTOCOL_VERSION: version::STATELESS_2026,
        META_CLIENT_INFO: client_info(options),
        META_CLIENT_CAPABILITIES: {},
    })
}

/// How a `server/discover` attempt ended.
pub(crate) enum Discovery {
    /// The server is modern and speaks 2026-07-28.
    Modern(ProbeReport),
    /// The server is not modern; fall back to `initialize`. Holds why, for error messages.
    Legacy(ProbeError),
}

/// Interprets the reply to `server/discover`.
pub(crate) fn read_discovery(reply: Result<Value, RpcError>) -> Result<Discovery, ProbeError> {
    match reply {
        Ok(result) => {
            let supported: Vec<&str> = result
                .get("supportedVersions")
                .and_then(Value::as_array)
                .map(|versions| versions.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !supported.contains(&version::STATELESS_2026) {
                return Ok(Discovery::Legacy(ProbeError::Protocol(format!(
                    "server/discover lists no version we speak: {supported:?}"
                ))));
            }
            let server_info = result
                .get("_meta")
                .and_then(|meta| meta.get(META_SERVER_INFO))
                .or_else(|| result.get("serverInfo"))
                .cloned();
            Ok(Discovery::Modern(ProbeReport {
                era: Era::Stateless,
                protocol_version: version::STATELESS_2026.to_owned(),
                server_info,
                instructions: instructions_of(&result),
                tools: Vec::new(),
            }))
        }
        Err(error) if error.code == version::UNSUPPORTED_PROTOCOL_VERSION => {
            Err(ProbeError::Protocol(format!(
                "server speaks only protocol versions {}",
                error
                    .data
                    .as_ref()
                    .and_then(|data| data.get("supported"))
                    .unwrap_or(&Value::Null)
            )))
        }
        Err(error) => Ok(Discovery::Legacy(ProbeError::Rpc(error))),
    }
}

/// Runs `server/discover` on a channel (stdio) and interprets the reply.
pub(crate) async fn discover<C: RpcChannel>(
    channel: &mut C,
    options: &ProbeOptions,
) -> Result<Discovery, ProbeError> {
    let reply = channel
        .call(
            "server/discover",
            json!({ "_meta": stateless_meta(options) }),
        )
        .await?;
    read_discovery(reply)
}

/// Runs the stateful `initialize` handshake; returns the report without tools.
pub(crate) async fn initialize<C: RpcChannel>(
    channel: &mut C,
    options: &ProbeOptions,
    era: Era,
    requested_version: &str,
) -> Result<ProbeReport, ProbeError> {
    let params = json!({
        "protocolVersion": requested_version,
        "capabilities": {},
        "clientInfo": client_info(options),
    });
    let result = channel
        .call("initialize", params)
        .await?
        .map_err(ProbeError::Rpc)?;
    let protocol_version = result
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| ProbeError::Protocol("initialize result has no protocolVersion".into()))?
        .to_owned();
    channel
        .notify("notifications/initialized", json!({}))
        .await?;
    Ok(ProbeReport {
        era,
        protocol_version,
        server_info: result.get("serverInfo").cloned(),
        instructions: instructions_of(&result),
        tools: Vec::new(),
    })
}

/// Fetches every page of `tools/list`. `meta` is added to each request (stateless era).
pub(crate) async fn list_tools<C: RpcChannel>(
    channel: &mut C,
    meta: Option<Value>,
) -> Result<Vec<Value>, ProbeError> {
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_TOOL_PAGES {
        let mut params = serde_json::Map::new();
        if let Some(meta) = &meta {
            params.insert("_meta".into(), meta.clone());
        }
        if let Some(cursor) = &cursor {
            params.insert("cursor".into(), Value::String(cursor.clone()));
        }
        let result = channel
            .call("tools/list", Value::Object(params))
            .await?
            .map_err(ProbeError::Rpc)?;
        let page = result
            .get("tools")
            .and_then(Value::as_array)
            .ok_or_else(|| ProbeError::Protocol("tools/list result has no tools array".into()))?;
        for tool in page {
            if tool.get("name").and_then(Value::as_str).is_none() {
                return Err(ProbeError::Protocol(
                    "tools/list returned a tool without a name".into(),
                ));
            }
            tools.push(tool.clone());
        }
        match result.get("nextCursor").and_then(Value::as_str) {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => return Ok(tools),
        }
    }
    Err(ProbeError::Protocol(format!(
        "tools/list still paging after {MAX_TOOL_PAGES} pages"
    )))
}

fn instructions_of(result: &Value) -> Option<String> {
    result
        .get("instructions")
        .and_then(Value::as_str)
        .map(str::to_owned)
}
