//! W3C trace context across the gateway. An HTTP request's span continues the client's
//! trace (`traceparent` header); the span of an MCP message continues the trace the message
//! carries in `params._meta` (the reserved `traceparent`, `tracestate` and `baggage` keys of
//! 2026-07-28, SEP-414), which may be a different one when an agent's MCP library traces
//! its calls; and every upstream request carries the gateway's `upstream` span as its
//! parent, in the header and in each forwarded message's `_meta`, so one trace runs from the
//! client through the gateway to the server (over stdio too, where there is no header).
//!
//! The propagator is OpenTelemetry's global one, and nothing here runs (no span, no body
//! rewritten) unless the binary configured an exporter.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::HeaderMap;
use mcpgw_mcp::inspect::{Message, TraceContext};
use opentelemetry::global;
use opentelemetry::propagation::Extractor;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use serde_json::{Map, Value};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The `_meta` keys reserved for trace context.
const META_KEYS: [&str; 3] = ["traceparent", "tracestate", "baggage"];

/// Whether traces are exported: the data plane's spans and the `_meta` rewriting cost
/// microseconds per request, spent only when someone reads the traces.
static EXPORTED: AtomicBool = AtomicBool::new(false);

/// Turns the data plane's spans on (the binary calls it once an exporter is running).
pub fn export() {
    EXPORTED.store(true, Ordering::Relaxed);
}

fn exported() -> bool {
    EXPORTED.load(Ordering::Relaxed)
}

/// `make()` when traces are exported, else a span that records nothing and costs nothing.
pub(crate) fn span(make: impl FnOnce() -> Span) -> Span {
    if exported() { make() } else { Span::none() }
}

/// The span of the call to a server: the parent the server is given.
pub(crate) fn upstream_span(server: &str) -> Span {
    span(|| tracing::info_span!("upstream", otel.kind = "client", mcp.server = %server))
}

/// Makes `span` a child of the trace the client's `headers` carry, if any.
pub fn continue_from(span: &Span, headers: &HeaderMap) {
    if !exported() || !headers.contains_key("traceparent") {
        return;
    }
    let parent =
        global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
}

/// The span of an MCP request on `server`, named after its first message as OpenTelemetry's
/// MCP conventions name it (`tools/call get_time`). It continues the trace in that
/// message's `_meta` when there is one, else it is a child of the current (HTTP) span.
pub(crate) fn message_span(server: &str, first: Option<&Message<'_>>) -> Span {
    if !exported() {
        return Span::none();
    }
    let method = first.and_then(|message| message.method.as_deref());
    let name = match (method, first.and_then(|message| message.target.as_deref())) {
        (Some(method), Some(target)) => format!("{method} {target}"),
        (Some(method), None) => method.to_owned(),
        (None, _) => "mcp".to_owned(),
    };
    let span = tracing::info_span!(
        "mcp",
        otel.name = %name,
        otel.kind = "server",
        mcp.server = %server,
        mcp.method.name = tracing::field::Empty,
        gen_ai.tool.name = tracing::field::Empty,
        mcp.session.id = tracing::field::Empty,
        mcp.protocol.version = tracing::field::Empty,
        jsonrpc.request.id = tracing::field::Empty,
        enduser.id = tracing::field::Empty,
        mcp.result = tracing::field::Empty,
    );
    if let Some(message) = first {
        if let Some(id) = message.id {
            span.record("jsonrpc.request.id", id.get().trim_matches('"'));
        }
        // The era: a stateless (2026-07-28) request names its version; a session's
        // messages have the session id instead.
        if let Some(version) = message.protocol_version.as_deref() {
            span.record("mcp.protocol.version", version);
        }
        if message.trace.traceparent.is_some() {
            let parent = global::get_text_map_propagator(|propagator| {
                propagator.extract(&MetaExtractor(&message.trace))
            });
            let _ = span.set_parent(parent);
        }
    }
    span
}

/// The span of an MCP message, carried in the request's extensions to the code that serves
/// the message on another task (rmcp's handlers).
#[derive(Clone)]
pub(crate) struct MessageSpan(pub Span);

impl MessageSpan {
    /// The span `parts` carry, or none.
    pub(crate) fn of(parts: Option<&http::request::Parts>) -> Span {
        parts
            .and_then(|parts| parts.extensions.get::<MessageSpan>())
            .map(|carried| carried.0.clone())
            .unwrap_or_else(Span::none)
    }
}

/// Reads trace context from a message's `_meta`.
struct MetaExtractor<'a, 'b>(&'a TraceContext<'b>);

impl Extractor for MetaExtractor<'_, '_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key)
    }

    fn keys(&self) -> Vec<&str> {
        META_KEYS
            .into_iter()
            .filter(|key| self.0.get(key).is_some())
            .collect()
    }
}

/// Adds the current span's context (`traceparent`, `tracestate`) to an upstream request's
/// `headers`, replacing the client's: the upstream's parent is the gateway's span.
pub(crate) fn inject(headers: &mut HeaderMap) {
    if !exported() {
        return;
    }
    let context = Span::current().context();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(headers));
    });
}

/// The current span's trace context as `_meta` entries; none when traces are not exported.
fn meta_entries() -> Vec<(String, String)> {
    if !exported() {
        return Vec::new();
    }
    let context = Span::current().context();
    let mut carrier: HashMap<String, String> = HashMap::new();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut carrier);
    });
    let mut entries: Vec<(String, String)> = carrier
        .into_iter()
        .filter(|(key, _)| META_KEYS.contains(&key.as_str()))
        .collect();
    entries.sort();
    entries
}

/// Puts the current span's trace context into `params._meta` (creating both if needed),
/// replacing what the client put there: the server's parent is the gateway's span.
pub(crate) fn add_to_params(params: &mut Value) {
    let entries = meta_entries();
    if !entries.is_empty() {
        merge(params, &entries);
    }
}

fn merge(params: &mut Value, entries: &[(String, String)]) {
    if params.is_null() {
        *params = Value::Object(Map::new());
    }
    let Some(params) = params.as_object_mut() else {
        return;
    };
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    for key in META_KEYS {
        meta.remove(key);
    }
    for (key, value) in entries {
        meta.insert(key.clone(), Value::String(value.clone()));
    }
}

/// `body` with the current span's trace context in the `_meta` of every request and
/// notification it holds (responses to the server's own requests are left alone).
/// Unchanged when traces are not exported; the body was inspected, so it is JSON.
pub(crate) fn add_to_body(body: Bytes) -> Bytes {
    let entries = meta_entries();
    if entries.is_empty() {
        return body;
    }
    body_with(body, &entries)
}

/// `body` with `entries` in the `_meta` of each of its requests and notifications.
fn body_with(body: Bytes, entries: &[(String, String)]) -> Bytes {
    let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let add = |message: &mut Value| {
        if let Some(object) = message.as_object_mut()
            && object.contains_key("method")
        {
            merge(object.entry("params").or_insert(Value::Null), entries);
        }
    };
    match &mut value {
        Value::Array(messages) => messages.iter_mut().for_each(add),
        message => add(message),
    }
    serde_json::to_vec(&value).map(Bytes::from).unwrap_or(body)
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
