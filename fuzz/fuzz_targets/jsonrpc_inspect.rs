//! Fuzz target: arbitrary bytes as a client's JSON-RPC request body.
//!
//! `mcpgw_mcp::inspect::inspect` reads every body a client posts, and what it reports
//! (method, tool name, ids, `_meta`) is what routing, the access policy, metrics and the
//! `Mcp-Method`/`Mcp-Name` check act on, while the server behind the gateway parses the
//! same bytes with an ordinary JSON parser. So, beyond never panicking:
//! - a body `serde_json` cannot parse is refused as a parse error (-32700);
//! - a body with a duplicate object key anywhere is refused (-32600);
//! - otherwise the inspector accepts exactly the bodies `mcpgw_fuzz::jsonrpc::expected`
//!   accepts, reports every message of a batch, in order, and for each the kind, id,
//!   method, target, protocol version, params, client info and trace context found by
//!   reading the parsed document;
//! - `check_headers` accepts the headers a client would send for that body (the method,
//!   the name plain or in the `=?base64?…?=` form) and refuses a different method, a
//!   missing `Mcp-Name` where one is needed, and any header on a batch.

#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use mcpgw_fuzz::jsonrpc::{Expected, expected, has_duplicate_keys};
use mcpgw_mcp::inspect::{
    INVALID_PARAMS, INVALID_REQUEST, Inspected, Kind, Message, PARSE_ERROR, check_headers, inspect,
};
use serde_json::Value;
use serde_json::value::RawValue;

fuzz_target!(|body: &[u8]| {
    let result = inspect(body);
    let document = match serde_json::from_slice::<Value>(body) {
        Ok(document) => document,
        Err(parse) => {
            let error = result.expect_err("a body serde_json cannot parse was accepted");
            assert_eq!(error.code(), PARSE_ERROR, "{error} (serde_json: {parse})");
            return;
        }
    };
    if has_duplicate_keys(body) {
        let error = result.expect_err("a body with a duplicate key was accepted");
        assert_eq!(error.code(), INVALID_REQUEST, "{error}");
        return;
    }
    match (expected(&document), result) {
        (None, Ok(inspected)) => panic!("an invalid body was accepted: {inspected:?}"),
        (None, Err(error)) => assert!(
            [INVALID_REQUEST, INVALID_PARAMS].contains(&error.code()),
            "{error}"
        ),
        (Some(_), Err(error)) => panic!("a valid body was refused: {error}"),
        (Some((messages, batch)), Ok(inspected)) => {
            assert_eq!(inspected.batch, batch, "batch");
            assert_eq!(inspected.messages.len(), messages.len(), "message count");
            for (message, expected) in inspected.messages.iter().zip(&messages) {
                assert_eq!(&reported(message), expected);
            }
            check_summary(&inspected);
            check_header_agreement(&inspected);
        }
    }
});

/// The JSON value of a raw part of the body.
fn value(raw: Option<&RawValue>) -> Option<Value> {
    raw.map(|raw| serde_json::from_str(raw.get()).expect("a raw value that is not JSON"))
}

/// What the inspector said about one message, in the model's terms.
fn reported(message: &Message<'_>) -> Expected {
    let owned = |text: &Option<std::borrow::Cow<'_, str>>| text.as_deref().map(str::to_owned);
    Expected {
        kind: match message.kind {
            Kind::Request => "request",
            Kind::Notification => "notification",
            Kind::Response => "response",
        },
        id: value(message.id),
        method: owned(&message.method),
        target: owned(&message.target),
        protocol_version: owned(&message.protocol_version),
        params: value(message.params),
        client: value(message.client),
        trace: mcpgw_fuzz::jsonrpc::TRACE_KEYS.map(|key| message.trace.get(key).map(str::to_owned)),
    }
}

/// `has_requests`, `single_id` and `client_info` agree with the messages.
fn check_summary(inspected: &Inspected<'_>) {
    let requests = inspected.messages.iter().any(|m| m.kind == Kind::Request);
    assert_eq!(inspected.has_requests(), requests);
    let single = match inspected.messages.as_slice() {
        [only] if !inspected.batch => only.id.map(RawValue::get),
        _ => None,
    };
    assert_eq!(inspected.single_id().map(RawValue::get), single);
    for message in &inspected.messages {
        if let Some(info) = message.client_info() {
            let client = value(message.client).unwrap_or_default();
            assert_eq!(
                client.get("name").and_then(Value::as_str),
                Some(&*info.name)
            );
        }
    }
}

/// A header value as a client writes it: printable ASCII only.
fn header_safe(text: &str) -> bool {
    text.bytes().all(|byte| (0x20..0x7f).contains(&byte))
}

fn sentinel(name: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(name);
    format!("=?base64?{encoded}?=")
}

/// The headers a client would send for this body pass; other headers do not.
fn check_header_agreement(inspected: &Inspected<'_>) {
    assert!(check_headers(inspected, None, None).is_ok());
    let [message] = inspected.messages.as_slice() else {
        return;
    };
    if inspected.batch {
        let method = message.method.as_deref().unwrap_or("x");
        assert!(check_headers(inspected, Some(method.as_bytes()), None).is_err());
        return;
    }
    let Some(method) = message.method.as_deref() else {
        assert!(check_headers(inspected, Some(b"tools/call"), None).is_err());
        return;
    };
    if !header_safe(method) {
        return;
    }
    let method = method.as_bytes();
    let other = [method, b"x"].concat();
    assert!(check_headers(inspected, Some(&other), None).is_err());
    assert!(check_headers(inspected, None, Some(b"x")).is_err());
    let Some(target) = message.target.as_deref() else {
        assert!(check_headers(inspected, Some(method), None).is_ok());
        assert!(check_headers(inspected, Some(method), Some(b"x")).is_err());
        return;
    };
    assert!(check_headers(inspected, Some(method), None).is_err());
    let encoded = sentinel(target);
    assert!(
        check_headers(inspected, Some(method), Some(encoded.as_bytes())).is_ok(),
        "{encoded} for {target:?}"
    );
    let wrong = sentinel(&format!("{target}x"));
    assert!(check_headers(inspected, Some(method), Some(wrong.as_bytes())).is_err());
    let looks_encoded = target.starts_with("=?base64?") && target.ends_with("?=");
    if header_safe(target) && !looks_encoded {
        assert!(check_headers(inspected, Some(method), Some(target.as_bytes())).is_ok());
    }
}
