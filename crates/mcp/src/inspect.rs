//! Message inspection: what a client's request body says, read once and shared by
//! routing, authorisation and metrics.
//!
//! [`inspect`] validates a body as JSON-RPC (single message or batch, no duplicate keys)
//! and extracts, for each message, its kind, id, method and, for `tools/call`,
//! `prompts/get` and `resources/read`, the target name. Parameters are borrowed from the
//! body, never copied. [`check_headers`] then makes sure `Mcp-Method` / `Mcp-Name` say the
//! same as the body.

mod headers;
mod strict;

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

pub use headers::check_headers;

/// JSON-RPC error code for a body that is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC error code for JSON that is not a valid JSON-RPC message.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC error code for a method whose parameters are unusable.
pub const INVALID_PARAMS: i64 = -32602;

/// Why a body was refused. Each variant maps to a JSON-RPC error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    /// Not JSON.
    #[error("Parse error: {0}")]
    Parse(String),
    /// JSON, but not a valid JSON-RPC message (or an object with duplicate keys).
    #[error("Invalid Request: {0}")]
    InvalidRequest(String),
    /// A method whose target (`params.name` / `params.uri`) is missing or not a string.
    #[error("Invalid params: {0}")]
    InvalidParams(String),
    /// `Mcp-Method` / `Mcp-Name` headers disagree with the body, or are malformed.
    #[error("Header mismatch: {0}")]
    HeaderMismatch(String),
}

impl InspectError {
    /// The JSON-RPC error code to answer with.
    pub fn code(&self) -> i64 {
        match self {
            InspectError::Parse(_) => PARSE_ERROR,
            InspectError::InvalidRequest(_) => INVALID_REQUEST,
            InspectError::InvalidParams(_) => INVALID_PARAMS,
            InspectError::HeaderMismatch(_) => crate::version::HEADER_MISMATCH,
        }
    }
}

/// What kind of JSON-RPC message it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Has a method and an id: expects a response.
    Request,
    /// Has a method and no id.
    Notification,
    /// Has an id and a result or error: answers a request the server sent.
    Response,
}

/// One inspected message, borrowing from the body.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// Request, notification or response.
    pub kind: Kind,
    /// The id as written (a JSON string or number), for requests and responses.
    pub id: Option<&'a RawValue>,
    /// The method, for requests and notifications.
    pub method: Option<Cow<'a, str>>,
    /// `params.name` (`tools/call`, `prompts/get`) or `params.uri` (`resources/read`).
    pub target: Option<Cow<'a, str>>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`: set on stateless
    /// (2026-07-28) requests.
    pub protocol_version: Option<Cow<'a, str>>,
    /// The raw params, if any.
    pub params: Option<&'a RawValue>,
    /// The client's `clientInfo`, still raw: `params.clientInfo` of an `initialize`, or
    /// `params._meta["io.modelcontextprotocol/clientInfo"]` of a stateless request.
    pub client: Option<&'a RawValue>,
    /// W3C trace context the client put in `params._meta` (`traceparent`, `tracestate`,
    /// `baggage`: reserved keys since 2026-07-28, SEP-414), when it did.
    pub trace: TraceContext<'a>,
}

/// The OpenTelemetry keys of a message's `_meta`, each kept only when it is a string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceContext<'a> {
    /// `_meta.traceparent`.
    pub traceparent: Option<Cow<'a, str>>,
    /// `_meta.tracestate`.
    pub tracestate: Option<Cow<'a, str>>,
    /// `_meta.baggage`.
    pub baggage: Option<Cow<'a, str>>,
}

impl TraceContext<'_> {
    /// The value of `key` (`traceparent`, `tracestate` or `baggage`), if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => self.traceparent.as_deref(),
            "tracestate" => self.tracestate.as_deref(),
            "baggage" => self.baggage.as_deref(),
            _ => None,
        }
    }
}

/// A client's `clientInfo` (`Implementation`): who is calling, for metrics.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClientInfo {
    /// `name`.
    pub name: String,
    /// `version`.
    #[serde(default)]
    pub version: String,
}

impl Message<'_> {
    /// The client's name and version, if the message says them.
    pub fn client_info(&self) -> Option<ClientInfo> {
        self.client
            .and_then(|raw| serde_json::from_str::<ClientInfo>(raw.get()).ok())
    }
}

/// An inspected body: one message or a batch.
#[derive(Debug, Clone)]
pub struct Inspected<'a> {
    /// The messages, in order.
    pub messages: Vec<Message<'a>>,
    /// True when the body was a JSON array.
    pub batch: bool,
}

impl Inspected<'_> {
    /// True when at least one message expects a response.
    pub fn has_requests(&self) -> bool {
        self.messages
            .iter()
            .any(|message| message.kind == Kind::Request)
    }

    /// The id to use in an error response about the whole body: the id of a single
    /// request, else none.
    pub fn single_id(&self) -> Option<&RawValue> {
        match self.messages.as_slice() {
            [only] if !self.batch => only.id,
            _ => None,
        }
    }
}

/// The fields of one message; everything else is ignored without copying.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    jsonrpc: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "raw_including_null")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "raw_including_null")]
    method: Option<&'a RawValue>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// Keeps an explicit `null` as `Some("null")` so it is not mistaken for an absent field.
fn raw_including_null<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

/// The parts of `params` the gateway needs, still raw: their types matter only for the
/// methods that use them.
#[derive(Deserialize)]
struct Params<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    uri: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "_meta")]
    meta: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "clientInfo")]
    client_info: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow, default, rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "io.modelcontextprotocol/clientInfo")]
    client_info: Option<&'a RawValue>,
    #[serde(borrow, default)]
    traceparent: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tracestate: Option<&'a RawValue>,
    #[serde(borrow, default)]
    baggage: Option<&'a RawValue>,
}

/// A JSON string's value, borrowed when it has no escapes; `None` if not a string.
fn string_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

/// Validates a request body and describes its messages.
pub fn inspect(body: &[u8]) -> Result<Inspected<'_>, InspectError> {
    strict::check_no_duplicate_keys(body).map_err(|error| refusal(body, &error))?;
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
    let (envelopes, batch) = if first == Some(&b'[') {
        let items: Vec<&RawValue> = serde_json::from_slice(body).map_err(invalid)?;
        if items.is_empty() {
            return Err(InspectError::InvalidRequest("empty batch".into()));
        }
        let envelopes = items
            .into_iter()
            .map(envelope)
            .collect::<Result<Vec<_>, _>>()?;
        (envelopes, true)
    } else {
        let single: &RawValue = serde_json::from_slice(body).map_err(invalid)?;
        (vec![envelope(single)?], false)
    };
    let messages = envelopes
        .into_iter()
        .map(message)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Inspected { messages, batch })
}

/// The error for a body the duplicate-key pass refused. That pass stops at the first
/// duplicate key, so a body that is also malformed further on (found by fuzzing:
/// `{"id":1,"id":2,` …, or a string that is not UTF-8 after the duplicate) is read to
/// its end again: invalid JSON is a parse error (-32700) whatever else is wrong with it,
/// as JSON-RPC says.
fn refusal(body: &[u8], error: &serde_json::Error) -> InspectError {
    if !error.is_data() {
        return InspectError::Parse(error.to_string());
    }
    match strict::check_well_formed(body) {
        Err(syntax) => InspectError::Parse(syntax.to_string()),
        Ok(_) => InspectError::InvalidRequest(error.to_string()),
    }
}

fn invalid(error: serde_json::Error) -> InspectError {
    InspectError::InvalidRequest(error.to_string())
}

fn envelope(raw: &RawValue) -> Result<Envelope<'_>, InspectError> {
    if !raw.get().starts_with('{') {
        return Err(InspectError::InvalidRequest(
            "a message must be a JSON object".into(),
        ));
    }
    serde_json::from_str(raw.get()).map_err(invalid)
}

fn message<'a>(envelope: Envelope<'a>) -> Result<Message<'a>, InspectError> {
    if envelope.jsonrpc.as_deref() != Some("2.0") {
        return Err(InspectError::InvalidRequest(
            "\"jsonrpc\" must be \"2.0\"".into(),
        ));
    }
    if let Some(id) = envelope.id {
        let text = id.get();
        let is_number = text.starts_with(|c: char| c == '-' || c.is_ascii_digit());
        if !(text.starts_with('"') || is_number) {
            return Err(InspectError::InvalidRequest(
                "\"id\" must be a string or a number".into(),
            ));
        }
    }
    let Some(method) = envelope.method else {
        return response(envelope);
    };
    let method = string_of(method)
        .ok_or_else(|| InspectError::InvalidRequest("\"method\" must be a string".into()))?;
    if envelope.result.is_some() || envelope.error.is_some() {
        return Err(InspectError::InvalidRequest(
            "a request cannot carry result or error".into(),
        ));
    }
    let params = match envelope.params {
        Some(raw) if raw.get().starts_with('{') => Some(
            serde_json::from_str::<Params<'_>>(raw.get())
                .map_err(|error| InspectError::InvalidParams(format!("{method}: {error}")))?,
        ),
        Some(_) => {
            return Err(InspectError::InvalidRequest(
                "\"params\" must be an object".into(),
            ));
        }
        None => None,
    };
    let required = |raw: Option<&'a RawValue>, field: &str| {
        raw.and_then(string_of).ok_or_else(|| {
            InspectError::InvalidParams(format!("{method} needs params.{field} as a string"))
        })
    };
    let target = match method.as_ref() {
        "tools/call" | "prompts/get" => {
            Some(required(params.as_ref().and_then(|p| p.name), "name")?)
        }
        "resources/read" => Some(required(params.as_ref().and_then(|p| p.uri), "uri")?),
        _ => None,
    };
    let meta = params
        .as_ref()
        .and_then(|params| params.meta)
        .filter(|meta| meta.get().starts_with('{'))
        .and_then(|meta| serde_json::from_str::<Meta<'_>>(meta.get()).ok());
    let protocol_version = meta
        .as_ref()
        .and_then(|meta| meta.protocol_version)
        .and_then(string_of);
    let client = params
        .as_ref()
        .and_then(|params| params.client_info)
        .or_else(|| meta.as_ref().and_then(|meta| meta.client_info))
        .filter(|raw| raw.get().starts_with('{'));
    let trace = meta
        .as_ref()
        .map(|meta| TraceContext {
            traceparent: meta.traceparent.and_then(string_of),
            tracestate: meta.tracestate.and_then(string_of),
            baggage: meta.baggage.and_then(string_of),
        })
        .unwrap_or_default();
    Ok(Message {
        kind: if envelope.id.is_some() {
            Kind::Request
        } else {
            Kind::Notification
        },
        id: envelope.id,
        method: Some(method),
        target,
        protocol_version,
        params: envelope.params,
        client,
        trace,
    })
}

fn response(envelope: Envelope<'_>) -> Result<Message<'_>, InspectError> {
    let Some(id) = envelope.id else {
        return Err(InspectError::InvalidRequest(
            "a message needs a method or an id".into(),
        ));
    };
    if envelope.result.is_some() == envelope.error.is_some() {
        return Err(InspectError::InvalidRequest(
            "a response needs exactly one of result and error".into(),
        ));
    }
    Ok(Message {
        kind: Kind::Response,
        id: Some(id),
        method: None,
        target: None,
        protocol_version: None,
        params: None,
        client: None,
        trace: TraceContext::default(),
    })
}

#[cfg(test)]
#[path = "inspect_tests.rs"]
mod tests;
