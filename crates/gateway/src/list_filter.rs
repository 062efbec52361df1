//! Tool lists cut down to what the caller may call: a caller never learns the names of
//! tools it cannot use, whether the list arrives as JSON, in an event stream, or from a
//! bridged server.
//!
//! Any JSON-RPC response whose `result.tools` is an array is filtered — `tools/list`
//! results, and the tool lists some servers put in `server/discover` results — wherever
//! it appears, so a response delivered on another stream (legacy SSE, a resumed stream)
//! is filtered too. A tool without a string `name` is dropped.

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::{BodyExt, Limited};
use mcpgw_policy::ToolFilter;
use serde_json::Value;

use crate::error::{GATEWAY_ERROR, GatewayError};
use crate::sse_filter::SseFilter;

/// Largest JSON answer the gateway buffers to filter it.
pub const MAX_FILTERED_BYTES: usize = 32 * 1024 * 1024;

/// The tools one caller may see on one server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ListFilter(Arc<ToolFilter>);

impl ListFilter {
    /// A filter for lists, or `None` when the caller may call every tool (nothing to cut,
    /// and no reason to look at responses at all).
    pub fn new(filter: ToolFilter) -> Option<ListFilter> {
        (!filter.allows_everything()).then(|| ListFilter(Arc::new(filter)))
    }

    /// Filters one message or a batch in place; true when anything was removed.
    pub fn message(&self, message: &mut Value) -> bool {
        match message {
            Value::Array(items) => {
                // Every item is filtered: no short-circuit.
                let mut changed = false;
                for item in items {
                    changed |= self.message(item);
                }
                changed
            }
            Value::Object(object) => {
                let Some(Value::Array(tools)) = object
                    .get_mut("result")
                    .and_then(|result| result.get_mut("tools"))
                else {
                    return false;
                };
                let before = tools.len();
                tools.retain(|tool| {
                    tool.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|name| self.0.allows(name))
                });
                tools.len() != before
            }
            _ => false,
        }
    }

    /// Filters a complete JSON body. A body that is not JSON cannot be filtered, so it is
    /// replaced by an error rather than passed on unread.
    pub fn json(&self, body: &[u8]) -> Bytes {
        match serde_json::from_slice::<Value>(body) {
            Ok(mut value) => {
                if self.message(&mut value) {
                    Bytes::from(value.to_string())
                } else {
                    Bytes::copy_from_slice(body)
                }
            }
            Err(_) => Bytes::from(
                serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {
                    "code": GATEWAY_ERROR,
                    "message": "the server's answer is not JSON and cannot be checked",
                }})
                .to_string(),
            ),
        }
    }

    /// Whether an event's bytes may hold a tool list: the cheap test that keeps every
    /// other event from being parsed. Any `\u` escape counts, since `"\u0074ools"` is
    /// `"tools"` to every JSON reader.
    pub fn may_hold_tools(bytes: &[u8]) -> bool {
        bytes
            .windows(7)
            .any(|window| window == b"\"tools\"" || window.starts_with(b"\\u"))
    }
}

/// An upstream's answer with its tool lists filtered: event streams as they flow, JSON
/// bodies once complete (they are complete before the client can use them anyway).
pub async fn filter_response(
    response: Response<Body>,
    filter: &ListFilter,
    server: &str,
) -> Result<Response<Body>, GatewayError> {
    let (mut parts, body) = response.into_parts();
    refuse_encoded(&parts.headers, server)?;
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("text/event-stream") && parts.status.is_success() {
        parts.headers.remove(CONTENT_LENGTH);
        let body = Body::new(SseFilter::new(body, filter.clone()));
        return Ok(Response::from_parts(parts, body));
    }
    // Any other answer is read as JSON whatever its label: a server that mislabels a tool
    // list must not get it past the filter. Only an empty body (202 to notifications), and
    // an error answer that cannot hold a list (a plain-text 404), pass as they are.
    let bytes = Limited::new(body, MAX_FILTERED_BYTES)
        .collect()
        .await
        .map_err(|error| GatewayError::Upstream {
            server: server.to_owned(),
            reason: format!("its answer could not be read: {error}"),
        })?
        .to_bytes();
    if bytes.is_empty() || (!parts.status.is_success() && !ListFilter::may_hold_tools(&bytes)) {
        return Ok(Response::from_parts(parts, Body::from(bytes)));
    }
    parts.headers.remove(CONTENT_LENGTH);
    Ok(Response::from_parts(parts, Body::from(filter.json(&bytes))))
}

/// Refuses an answer the gateway cannot read: it asks for none (`Accept-Encoding:
/// identity`) whenever it must filter, so a compressed answer is a server ignoring that,
/// and passing it on would pass its tool lists unchecked.
pub fn refuse_encoded(headers: &http::HeaderMap, server: &str) -> Result<(), GatewayError> {
    // Every value and every coding listed in it: `identity` first and `gzip` in a second
    // header is still gzip.
    let encoded = headers.get_all(CONTENT_ENCODING).iter().find(|value| {
        value
            .as_bytes()
            .split(|byte| *byte == b',')
            .map(<[u8]>::trim_ascii)
            .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case(b"identity"))
    });
    match encoded {
        Some(encoding) => Err(GatewayError::Upstream {
            server: server.to_owned(),
            reason: format!(
                "its answer is compressed ({}) although none was asked for, and cannot be checked",
                String::from_utf8_lossy(encoding.as_bytes())
            ),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "list_filter_tests.rs"]
mod tests;
