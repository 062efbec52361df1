//! Calling one upstream tool on a caller's behalf, in the era its server speaks: through
//! the shared connection of a stdio or legacy SSE server ([`crate::bridge`]), or through
//! the caller's own session with a Streamable HTTP server ([`super::sessions`]).
//!
//! A connection found closed before the request went out is re-established and the
//! request sent again, once; a request that may have reached the server is never sent
//! twice (a tool call is not assumed to be idempotent).

use std::time::Duration;

use mcpgw_auth::Principal;
use mcpgw_mcp::ProbeError;
use mcpgw_registry::{Server, Transport};
use serde_json::{Map, Value, json};

use super::Aggregator;
use crate::bridge::BridgeError;
use crate::bridge::channel::is_undelivered;
use crate::error::GatewayError;

/// The longest a call waits for a crashed stdio or SSE server to be started again (its
/// restart backoff) before failing.
const MAX_RESTART_WAIT: Duration = Duration::from_secs(5);

/// One tool call to forward.
pub(crate) struct ToolCall<'a> {
    /// The server that has the tool.
    pub server: &'a Server,
    /// The tool's name on that server.
    pub tool: &'a str,
    /// Its arguments.
    pub arguments: Option<Map<String, Value>>,
    /// The caller's progress token, if it wants progress.
    pub progress_token: Option<Value>,
    /// Other parameters of the caller's request that the server needs as they are (a
    /// 2026-07-28 client's `inputResponses` and `requestState` when it retries a call
    /// the server asked input for).
    pub continuation: Map<String, Value>,
    /// Who is calling.
    pub principal: &'a Principal,
}

/// Why a call produced no result.
#[derive(Debug)]
pub(crate) enum CallFailure {
    /// The server answered with this JSON-RPC error object.
    Rpc(Value),
    /// The gateway could not get an answer.
    Gateway(GatewayError),
    /// No tool of that name is offered to this caller (unknown, or not allowed: the
    /// caller cannot tell which).
    NotOffered(String),
}

impl From<GatewayError> for CallFailure {
    fn from(error: GatewayError) -> Self {
        CallFailure::Gateway(error)
    }
}

/// Receives the server's notifications about the call (progress) as they arrive.
pub(crate) type OnNotification<'a> = &'a mut (dyn FnMut(Value) + Send);

impl Aggregator {
    /// Calls the tool and returns the server's `CallToolResult` as it sent it.
    pub(crate) async fn invoke(
        &self,
        call: ToolCall<'_>,
        on_notification: OnNotification<'_>,
    ) -> Result<Value, CallFailure> {
        let mut params =
            json!({"name": call.tool, "arguments": call.arguments.clone().unwrap_or_default()});
        for (key, value) in &call.continuation {
            params[key] = value.clone();
        }
        if let Some(token) = &call.progress_token {
            params["_meta"] = json!({"progressToken": token});
        }
        // Run in the `upstream` span: the server's parent (a Streamable HTTP session sends
        // it in the header too).
        crate::trace::add_to_params(&mut params);
        match call.server.transport {
            Transport::StreamableHttp => self.via_session(&call, params, on_notification).await,
            Transport::Stdio | Transport::Sse => {
                self.via_bridge(call.server, params, on_notification).await
            }
        }
    }

    async fn via_session(
        &self,
        call: &ToolCall<'_>,
        params: Value,
        on_notification: OnNotification<'_>,
    ) -> Result<Value, CallFailure> {
        let session = self.sessions.session(call.server, call.principal)?;
        match session.request("tools/call", params, on_notification).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(error)) => {
                let mut object = json!({"code": error.code, "message": error.message});
                if let Some(data) = error.data {
                    object["data"] = data;
                }
                Err(CallFailure::Rpc(object))
            }
            Err(error) => Err(upstream_failure(&call.server.path, error).into()),
        }
    }

    async fn via_bridge(
        &self,
        server: &Server,
        params: Value,
        on_notification: OnNotification<'_>,
    ) -> Result<Value, CallFailure> {
        let target = self.gateway.target(&server.path).await?;
        let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
        let mut events = None;
        for attempt in 0..2 {
            let running = match self.gateway.bridges().running(&target).await {
                Ok(running) => running,
                // Restarted a moment ago after a crash: worth one short wait, not a failure.
                Err(BridgeError::BackingOff { seconds, .. })
                    if attempt == 0 && seconds <= MAX_RESTART_WAIT.as_secs() =>
                {
                    tokio::time::sleep(Duration::from_secs(seconds)).await;
                    continue;
                }
                Err(error) => return Err(GatewayError::from(error).into()),
            };
            match running.channel().request(message.clone()).await {
                Ok(sent) => {
                    events = Some(sent);
                    break;
                }
                // Nothing went out: the connection had closed. Start it again, once.
                Err(BridgeError::Closed(_) | BridgeError::Redefined(_)) => continue,
                Err(error) => return Err(GatewayError::from(error).into()),
            }
        }
        let mut events = events.ok_or_else(|| closed(&server.path))?;
        let mut wait = self.gateway.request_timeout();
        loop {
            let event = tokio::time::timeout(wait, events.next())
                .await
                .map_err(|_| timeout(&server.path, wait))?
                .ok_or_else(|| closed(&server.path))?;
            wait = self.gateway.idle_timeout();
            if event.get("method").is_some() {
                on_notification(event);
                continue;
            }
            if is_undelivered(&event) {
                return Err(closed(&server.path).into());
            }
            return match (event.get("result"), event.get("error")) {
                (Some(result), _) => Ok(result.clone()),
                (None, Some(error)) => Err(CallFailure::Rpc(error.clone())),
                (None, None) => Err(GatewayError::Upstream {
                    server: server.path.clone(),
                    reason: "it answered with neither a result nor an error".into(),
                }
                .into()),
            };
        }
    }
}

fn closed(server: &str) -> GatewayError {
    GatewayError::Upstream {
        server: server.to_owned(),
        reason: "it closed the connection before answering".into(),
    }
}

fn timeout(server: &str, waited: Duration) -> GatewayError {
    GatewayError::UpstreamTimeout {
        server: server.to_owned(),
        seconds: waited.as_secs(),
    }
}

/// A failed exchange with a Streamable HTTP server, in the gateway's terms.
fn upstream_failure(server: &str, error: ProbeError) -> GatewayError {
    match error {
        ProbeError::Timeout(waited) => timeout(server, waited),
        other => GatewayError::Upstream {
            server: server.to_owned(),
            reason: other.to_string(),
        },
    }
}
