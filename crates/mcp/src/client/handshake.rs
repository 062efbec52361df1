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
    /// Learns the protocol version `initialize` settled on, before anything else is sent:
    /// Streamable HTTP must carry it on every later request, `notifications/initialized`
    /// included. Transports that do not need it ignore it.
    fn negotiated(&mut self, _protocol_version: &str) {}
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

/// Interprets how a `server/discover` request over HTTP ended, transport failures included.
///
/// Over HTTP a modern server that does not speak our version answers `400` with the
/// JSON-RPC error in the body; that error means "modern, but not this version" exactly as
/// it does on stdio, so it goes through [`read_discovery`] too instead of counting as a
/// legacy server's refusal.
pub(crate) fn discovery_outcome(
    outcome: Result<Result<Value, RpcError>, ProbeError>,
) -> Result<Discovery, ProbeError> {
    match outcome {
        Ok(reply) => read_discovery(reply),
        Err(ProbeError::HttpStatus {
            rpc: Some(error), ..
        }) if error.code == version::UNSUPPORTED_PROTOCOL_VERSION => read_discovery(Err(error)),
        Err(error) if error.is_final() => Err(error),
        Err(error) => Ok(Discovery::Legacy(error)),
    }
}

/// The `initialize` request's params.
pub(crate) fn initialize_params(options: &ProbeOptions, requested_version: &str) -> Value {
    json!({
        "protocolVersion": requested_version,
        "capabilities": {},
        "clientInfo": client_info(options),
    })
}

/// Interprets the reply to `initialize`; returns the report without tools.
pub(crate) fn read_initialize(
    reply: Result<Value, RpcError>,
    era: Era,
) -> Result<ProbeReport, ProbeError> {
    let result = reply.map_err(ProbeError::Rpc)?;
    let protocol_version = result
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| ProbeError::Protocol("initialize result has no protocolVersion".into()))?
        .to_owned();
    Ok(ProbeReport {
        era,
        protocol_version,
        server_info: result.get("serverInfo").cloned(),
        instructions: instructions_of(&result),
        tools: Vec::new(),
    })
}

/// Ends the handshake once `initialize` was answered: the channel learns the version,
/// then the server hears `notifications/initialized`.
pub(crate) async fn confirm_initialized<C: RpcChannel>(
    channel: &mut C,
    report: &ProbeReport,
) -> Result<(), ProbeError> {
    channel.negotiated(&report.protocol_version);
    channel.notify("notifications/initialized", json!({})).await
}

/// Runs the stateful `initialize` handshake; returns the report without tools.
pub(crate) async fn initialize<C: RpcChannel>(
    channel: &mut C,
    options: &ProbeOptions,
    era: Era,
    requested_version: &str,
) -> Result<ProbeReport, ProbeError> {
    let reply = channel
        .call("initialize", initialize_params(options, requested_version))
        .await?;
    let report = read_initialize(reply, era)?;
    confirm_initialized(channel, &report).await?;
    Ok(report)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn http_error(status: u16, code: Option<i64>) -> ProbeError {
        ProbeError::HttpStatus {
            status,
            detail: String::new(),
            rpc: code.map(|code| RpcError {
                code,
                message: "no".into(),
                data: Some(json!({"supported": ["2099-01-01"]})),
            }),
        }
    }

    #[test]
    fn an_http_unsupported_version_error_is_modern_not_legacy() {
        let outcome = discovery_outcome(Err(http_error(
            400,
            Some(version::UNSUPPORTED_PROTOCOL_VERSION),
        )));
        assert!(
            matches!(&outcome, Err(ProbeError::Protocol(message)) if message.contains("2099-01-01")),
            "{:?}",
            outcome.err()
        );
    }

    #[test]
    fn other_refusals_fall_back_and_transport_failures_end_the_probe() {
        for refusal in [
            http_error(400, Some(-32000)),
            http_error(404, None),
            ProbeError::Protocol("bad".into()),
        ] {
            assert!(matches!(
                discovery_outcome(Err(refusal)),
                Ok(Discovery::Legacy(_))
            ));
        }
        assert!(matches!(
            discovery_outcome(Err(ProbeError::ConnectionRefused)),
            Err(ProbeError::ConnectionRefused)
        ));
    }
}
