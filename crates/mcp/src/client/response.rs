//! Reading the answer to one Streamable HTTP request: a single `application/json` body or
//! a `text/event-stream` of messages that ends with the response.
//!
//! The probe and [`super::HttpSession`] both read responses here. The probe only wants the
//! response; a session also hands every other message on the stream (progress, log
//! messages, server-to-client requests) to its caller, and bounds the silence between
//! events because it has no overall deadline.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use super::ProbeError;
use super::body::read_limited;
use crate::jsonrpc::{self, RpcError};
use crate::sse::SseDecoder;

/// Largest JSON body accepted from a server.
pub(crate) const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Reads the response with `id` from a JSON or SSE body.
///
/// Every message that is not that response (notifications, server-to-client requests,
/// responses to other ids) is passed to `on_other`, in arrival order. With `silence` set,
/// waiting longer than that for the next piece of the body fails with
/// [`ProbeError::Timeout`].
pub(crate) async fn read_response(
    response: reqwest::Response,
    id: u64,
    silence: Option<Duration>,
    on_other: &mut (dyn FnMut(Value) + Send),
) -> Result<Result<Value, RpcError>, ProbeError> {
    let content_type = super::http::content_type(&response);
    if content_type.starts_with("text/event-stream") {
        return read_sse_response(response, id, silence, on_other).await;
    }
    if !content_type.starts_with("application/json") {
        return Err(ProbeError::Protocol(format!(
            "unexpected content type {content_type:?}"
        )));
    }
    let bytes = within(silence, read_limited(response, MAX_BODY_BYTES)).await??;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|error| ProbeError::Protocol(format!("invalid JSON in response: {error}")))?;
    take_response(body, id, on_other)
        .ok_or_else(|| ProbeError::Protocol(format!("no response with id {id} in body")))
}

async fn read_sse_response(
    response: reqwest::Response,
    id: u64,
    silence: Option<Duration>,
    on_other: &mut (dyn FnMut(Value) + Send),
) -> Result<Result<Value, RpcError>, ProbeError> {
    let mut decoder = SseDecoder::new();
    let mut stream = response.bytes_stream();
    // Memory stays bounded without a total limit: the decoder bounds each event, and
    // nothing is kept once an event was handled.
    while let Some(chunk) = within(silence, stream.next()).await? {
        let chunk = chunk.map_err(|error| ProbeError::from_transport(&error))?;
        let events = decoder
            .feed(&chunk)
            .map_err(|error| ProbeError::Protocol(error.to_string()))?;
        // Events without data (stream priming, keep-alives) carry no message.
        for event in events.into_iter().filter(is_message) {
            let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                return Err(ProbeError::Protocol("invalid JSON in SSE event".into()));
            };
            if let Some(outcome) = take_response(message, id, on_other) {
                return Ok(outcome);
            }
        }
    }
    Err(ProbeError::Protocol(format!(
        "SSE stream ended before the response to request {id}"
    )))
}

/// Finds the response with `id` in one message or a batch; every other message goes to
/// `on_other`. Messages after the response in the same batch are still passed on.
fn take_response(
    body: Value,
    id: u64,
    on_other: &mut (dyn FnMut(Value) + Send),
) -> Option<Result<Value, RpcError>> {
    let messages = match body {
        Value::Array(items) => items,
        single => vec![single],
    };
    let mut found = None;
    for message in messages {
        match jsonrpc::find_response(&message, id) {
            Some(outcome) if found.is_none() => found = Some(outcome),
            _ => on_other(message),
        }
    }
    found
}

/// Waits for `work`, for at most `limit` when one is set.
async fn within<T>(
    limit: Option<Duration>,
    work: impl Future<Output = T>,
) -> Result<T, ProbeError> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, work)
            .await
            .map_err(|_| ProbeError::Timeout(limit)),
        None => Ok(work.await),
    }
}

/// True for an SSE event that carries a JSON-RPC message.
pub(crate) fn is_message(event: &crate::sse::SseEvent) -> bool {
    event.kind() == "message" && !event.data.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn other_messages_of_a_batch_are_passed_on_in_order() {
        let batch = json!([
            {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}},
            {"jsonrpc": "2.0", "id": 9, "result": {}},
            {"jsonrpc": "2.0", "id": 4, "result": {"ok": true}},
            {"jsonrpc": "2.0", "method": "notifications/message", "params": {}},
        ]);
        let mut others = Vec::new();
        let outcome = take_response(batch, 4, &mut |message| others.push(message));
        assert_eq!(outcome, Some(Ok(json!({"ok": true}))));
        let kinds: Vec<_> = others
            .iter()
            .map(|message| {
                message
                    .get("method")
                    .cloned()
                    .unwrap_or(message["id"].clone())
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                json!("notifications/progress"),
                json!(9),
                json!("notifications/message")
            ]
        );
    }
}
