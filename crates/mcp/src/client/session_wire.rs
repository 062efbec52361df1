//! The pure parts of [`super::HttpSession`]: request headers and params of the stateless
//! era, the decision to fall back from it, and the answer to a server-to-client request.
//! Nothing here does I/O, so all of it is unit-tested.

use base64::Engine as _;
use serde_json::{Value, json};

use super::ProbeError;
use crate::jsonrpc::RpcError;
use crate::version::UNSUPPORTED_PROTOCOL_VERSION;

/// JSON-RPC "method not found"; also how a server-to-client request is refused.
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
/// Marks a header value carried as base64 (2026-07-28 "Value Encoding").
const SENTINEL_PREFIX: &str = "=?base64?";
/// Ends a base64-carried header value.
const SENTINEL_SUFFIX: &str = "?=";

/// A failed exchange, and whether sending the request again is safe and may help.
#[derive(Debug)]
pub(crate) struct Failure {
    /// What went wrong.
    pub(crate) error: ProbeError,
    /// True when the request was certainly not handled: the connection could not be
    /// made, or the server no longer knows the session (HTTP 404 on a session).
    pub(crate) retry: bool,
}

impl Failure {
    /// A failure after which the request must not be sent again (it may have been
    /// delivered and acted on).
    pub(crate) fn stop(error: ProbeError) -> Self {
        Self {
            error,
            retry: false,
        }
    }
}

impl From<ProbeError> for Failure {
    fn from(error: ProbeError) -> Self {
        Self::stop(error)
    }
}

/// The value of the `Mcp-Name` header for a stateless request, if the method needs one:
/// `params.name` for `tools/call` and `prompts/get`, `params.uri` for `resources/read`,
/// encoded so that any name fits a header.
pub(crate) fn mcp_name(method: &str, params: &Value) -> Option<String> {
    let field = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return None,
    };
    params.get(field).and_then(Value::as_str).map(encode_header)
}

/// Encodes a header value as the 2026-07-28 transport says: plain when it is visible
/// ASCII (spaces and tabs inside allowed), otherwise — and when it would look like an
/// encoded value — as `=?base64?…?=` of its UTF-8 bytes.
pub(crate) fn encode_header(value: &str) -> String {
    let plain = value
        .bytes()
        .all(|byte| byte == b'\t' || (0x20..=0x7e).contains(&byte))
        && value.trim() == value
        && !(value.starts_with(SENTINEL_PREFIX) && value.ends_with(SENTINEL_SUFFIX));
    if plain {
        return value.to_owned();
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
    format!("{SENTINEL_PREFIX}{encoded}{SENTINEL_SUFFIX}")
}

/// Adds the stateless protocol keys of `meta` to `params._meta`, keeping every key the
/// caller already put there (a `progressToken` above all); the protocol keys win, since
/// they must say what this client really speaks.
pub(crate) fn with_meta(params: Value, meta: Value) -> Result<Value, ProbeError> {
    let mut params = match params {
        Value::Object(params) => params,
        Value::Null => serde_json::Map::new(),
        _ => {
            return Err(ProbeError::Config(
                "request params must be an object".into(),
            ));
        }
    };
    let Value::Object(protocol) = meta else {
        return Err(ProbeError::Config(
            "protocol _meta must be an object".into(),
        ));
    };
    let merged = match params.remove("_meta") {
        Some(Value::Object(mut existing)) => {
            existing.extend(protocol);
            existing
        }
        Some(Value::Null) | None => protocol,
        Some(_) => return Err(ProbeError::Config("params._meta must be an object".into())),
    };
    params.insert("_meta".into(), Value::Object(merged));
    Ok(Value::Object(params))
}

/// What a stateless attempt of a request means.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// The server answered (a result or a JSON-RPC error): it speaks the stateless era.
    Answer(Result<Value, RpcError>),
    /// The server does not speak the stateless era: go stateful, and say why.
    Fallback(ProbeError),
    /// The request failed for another reason.
    Fail(ProbeError),
}

/// Classifies how a stateless attempt ended, following the 2026-07-28 backward
/// compatibility rules. Falling back sends the same request again (after `initialize`),
/// so it is allowed only when the server certainly did not act on it:
///
/// * `UNSUPPORTED_PROTOCOL_VERSION` (in a body or in an HTTP error) → fall back, since the
///   server's versions are older ones reached through `initialize`;
/// * HTTP 400/404/405 whose body is not a JSON-RPC error at all (an old server's plain
///   error page) → fall back, as the server is not a modern one — unless it already
///   answered in this era, in which case the refusal is about this request;
/// * any other JSON-RPC error, in a body or in an HTTP error, → the server's answer: a
///   server that replies in JSON-RPC may have processed the request (`-32603` above all),
///   and a `tools/call` must not run twice.
pub(crate) fn stateless_verdict(
    outcome: Result<Result<Value, RpcError>, ProbeError>,
    confirmed: bool,
) -> Verdict {
    match outcome {
        Ok(Err(error)) if error.code == UNSUPPORTED_PROTOCOL_VERSION => {
            Verdict::Fallback(ProbeError::Rpc(error))
        }
        Ok(reply) => Verdict::Answer(reply),
        Err(ProbeError::HttpStatus {
            rpc: Some(error), ..
        }) if error.code == UNSUPPORTED_PROTOCOL_VERSION => {
            Verdict::Fallback(ProbeError::Rpc(error))
        }
        Err(
            error @ ProbeError::HttpStatus {
                status: 400 | 404 | 405,
                rpc: None,
                ..
            },
        ) if !confirmed => Verdict::Fallback(error),
        Err(ProbeError::HttpStatus {
            rpc: Some(error), ..
        }) => Verdict::Answer(Err(error)),
        Err(error) => Verdict::Fail(error),
    }
}

/// The reply to a request the server sent on a response stream.
///
/// The gateway cannot put an upstream server's sampling, elicitation or roots request in
/// front of the caller, so those are refused with "method not found"; `ping` is answered,
/// as every MCP peer must.
pub(crate) fn answer_to_server_request(id: Value, method: &str) -> Value {
    if method == "ping" {
        return json!({ "jsonrpc": "2.0", "id": id, "result": {} });
    }
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": METHOD_NOT_FOUND,
            "message": format!("{method} is not supported through the gateway"),
        },
    })
}

#[cfg(test)]
#[path = "session_wire_tests.rs"]
mod tests;
