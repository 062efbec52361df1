//! Deciding whether a response is the successful answer to the `echo` call: HTTP 200, a
//! JSON-RPC result (in a JSON body or in an SSE event) for our id, not a tool error, and
//! the text sent back unchanged.

use std::borrow::Cow;

use http::{HeaderValue, StatusCode};
use serde::Deserialize;

use super::request::REQUEST_ID;

/// A JSON-RPC response, as far as the check needs it.
#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    id: Option<u64>,
    #[serde(borrow)]
    result: Option<CallResult<'a>>,
    error: Option<serde_json::Value>,
}

/// A `tools/call` result.
#[derive(Deserialize)]
struct CallResult<'a> {
    #[serde(default, rename = "isError")]
    is_error: bool,
    #[serde(borrow, default)]
    content: Vec<Content<'a>>,
}

/// One content block of a tool result.
#[derive(Deserialize)]
struct Content<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

/// Checks a whole response; the error says what was wrong.
pub fn check_response(
    status: StatusCode,
    content_type: Option<&HeaderValue>,
    body: &[u8],
    expected_text: &str,
) -> Result<(), String> {
    if status != StatusCode::OK {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(body)));
    }
    let is_sse =
        content_type.is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
    let json = if is_sse {
        last_sse_data(body).ok_or("an SSE response without data")?
    } else {
        body
    };
    let reply: Reply<'_> = serde_json::from_slice(json).map_err(|error| {
        format!(
            "not a JSON-RPC response ({error}): {}",
            String::from_utf8_lossy(json)
        )
    })?;
    if reply.jsonrpc != "2.0" || reply.id != Some(REQUEST_ID) {
        return Err(format!(
            "wrong jsonrpc or id: {}",
            String::from_utf8_lossy(json)
        ));
    }
    if let Some(error) = reply.error {
        return Err(format!("JSON-RPC error: {error}"));
    }
    let result = reply.result.ok_or("neither result nor error")?;
    if result.is_error {
        return Err(format!("tool error: {}", String::from_utf8_lossy(json)));
    }
    match result
        .content
        .first()
        .and_then(|block| block.text.as_deref())
    {
        Some(text) if text == expected_text => Ok(()),
        _ => Err(format!(
            "echo sent back something else: {}",
            String::from_utf8_lossy(json)
        )),
    }
}

/// The data of the last SSE event that has any (the response follows any notifications).
fn last_sse_data(body: &[u8]) -> Option<&[u8]> {
    body.split(|&byte| byte == b'\n')
        .filter_map(|line| line.strip_prefix(b"data:"))
        .map(|data| data.trim_ascii())
        .rfind(|data| !data.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}}"#;

    fn json() -> HeaderValue {
        HeaderValue::from_static("application/json")
    }

    #[test]
    fn a_successful_echo_passes() {
        assert_eq!(
            check_response(StatusCode::OK, Some(&json()), GOOD.as_bytes(), "hi"),
            Ok(())
        );
    }

    #[test]
    fn an_sse_response_is_read_from_its_last_event() {
        let body = format!(
            "event: message\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"x\"}}\n\ndata: {GOOD}\n\n"
        );
        let sse = HeaderValue::from_static("text/event-stream");
        assert_eq!(
            check_response(StatusCode::OK, Some(&sse), body.as_bytes(), "hi"),
            Ok(())
        );
    }

    #[test]
    fn failures_are_reported() {
        let ok = StatusCode::OK;
        let error = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"no"}}"#;
        let tool_error = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}"#;
        assert!(
            check_response(
                StatusCode::BAD_GATEWAY,
                Some(&json()),
                GOOD.as_bytes(),
                "hi"
            )
            .is_err()
        );
        assert!(check_response(ok, Some(&json()), error.as_bytes(), "hi").is_err());
        assert!(check_response(ok, Some(&json()), tool_error.as_bytes(), "hi").is_err());
        assert!(check_response(ok, Some(&json()), GOOD.as_bytes(), "other").is_err());
        assert!(check_response(ok, Some(&json()), b"{", "hi").is_err());
    }
}
