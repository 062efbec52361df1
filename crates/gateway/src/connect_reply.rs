//! How a request is told that its user must first connect their own account (the
//! `oauth-user` egress mode), in the terms its client understands:
//!
//! - a 2026-07-28 `tools/call`, `prompts/get` or `resources/read` whose client declared
//!   URL-mode elicitation gets an `InputRequiredResult` asking it to open the connect URL
//!   (multi round-trip requests: the client retries once the user is done);
//! - the same requests from a client that did not declare URL-mode elicitation get
//!   2026-07-28's `MissingRequiredClientCapability` (-32021, HTTP 400), naming it;
//! - another 2026-07-28 request gets an error with the gateway's own code
//!   ([`CONNECTION_REQUIRED`](crate::error::CONNECTION_REQUIRED));
//! - earlier protocols get 2025-11-25's `URLElicitationRequiredError` (-32042).
//!
//! Every form carries the URL, which is the gateway's connect page: the user signs in
//! there, so the URL grants nothing by itself.

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Response, header};
use mcpgw_mcp::inspect::{Inspected, Kind};
use mcpgw_mcp::version::{META_CLIENT_CAPABILITIES, STATELESS_2026};
use serde_json::{Value, json};

use crate::error::{ConnectReply, GatewayError, url_elicitation};

/// Which form the answer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ConnectStyle {
    /// `URLElicitationRequiredError` (2025-11-25 and earlier).
    #[default]
    Elicitation,
    /// A 2026-07-28 error with the gateway's code.
    StatelessError,
    /// 2026-07-28's missing client capability (URL-mode elicitation).
    MissingCapability,
    /// A 2026-07-28 `InputRequiredResult` with a URL-mode elicitation.
    InputRequired,
}

/// The style for a request with `headers` and `inspected` body.
pub(crate) fn style_of(headers: &HeaderMap, inspected: &Inspected<'_>) -> ConnectStyle {
    let stateless = headers
        .get("mcp-protocol-version")
        .is_some_and(|version| version.as_bytes() == STATELESS_2026.as_bytes());
    if !stateless {
        return ConnectStyle::Elicitation;
    }
    let [message] = inspected.messages.as_slice() else {
        return ConnectStyle::StatelessError;
    };
    let may_ask = !inspected.batch
        && message.kind == Kind::Request
        && matches!(
            message.method.as_deref(),
            Some("tools/call" | "prompts/get" | "resources/read")
        );
    let takes_urls = message
        .params
        .and_then(|params| serde_json::from_str::<Value>(params.get()).ok())
        .is_some_and(|params| {
            params["_meta"][META_CLIENT_CAPABILITIES]["elicitation"]
                .get("url")
                .is_some()
        });
    match (may_ask, takes_urls) {
        (true, true) => ConnectStyle::InputRequired,
        (true, false) => ConnectStyle::MissingCapability,
        (false, _) => ConnectStyle::StatelessError,
    }
}

/// `error` answered in `style` for the request `id` (other errors pass through).
pub(crate) fn answer(
    error: GatewayError,
    style: ConnectStyle,
    id: Option<&str>,
) -> Result<Response<Body>, GatewayError> {
    let GatewayError::ConnectionRequired {
        server,
        provider,
        url,
        ..
    } = error
    else {
        return Err(error);
    };
    let reply = match style {
        ConnectStyle::InputRequired => None,
        ConnectStyle::Elicitation => Some(ConnectReply::Elicitation),
        ConnectStyle::StatelessError => Some(ConnectReply::StatelessError),
        ConnectStyle::MissingCapability => Some(ConnectReply::MissingCapability),
    };
    if let Some(reply) = reply {
        return Err(GatewayError::ConnectionRequired {
            server,
            provider,
            url,
            reply,
        });
    }
    let mut params = url_elicitation(&url, &provider);
    // 2026-07-28's URL-mode parameters have no id: the retry itself is the answer.
    if let Some(params) = params.as_object_mut() {
        params.remove("elicitationId");
    }
    let id: Value = id
        .and_then(|raw| serde_json::from_str(raw).ok())
        .unwrap_or(Value::Null);
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {
            "resultType": "input_required",
            "inputRequests": {
                format!("connect-{server}"): {
                    "method": "elicitation/create",
                    "params": params,
                }
            }
        }
    });
    let mut response = Response::new(Body::from(body.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
