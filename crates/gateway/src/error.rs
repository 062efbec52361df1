//! [`GatewayError`]: every data-plane failure as an HTTP status plus a JSON-RPC error.

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use mcpgw_mcp::inspect::InspectError;
use serde_json::{Value, json};

/// JSON-RPC code for errors raised by the gateway itself (not by the upstream).
pub(crate) const GATEWAY_ERROR: i64 = -32000;
/// MCP 2025-11-25's `URLElicitationRequiredError`: the user must open a URL first.
pub(crate) const URL_ELICITATION_REQUIRED: i64 = -32042;
/// The same for a 2026-07-28 request that cannot carry URL-mode input (2026-07-28 retired
/// -32042; application codes lie outside JSON-RPC's reserved range).
pub(crate) const CONNECTION_REQUIRED: i64 = -31042;
/// 2026-07-28's `MissingRequiredClientCapability`: a request that could ask for URL-mode
/// input, from a client that did not declare it.
pub(crate) const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;

/// What went wrong on an MCP route.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The path has dot segments, empty segments or encoded separators.
    #[error("path is not normalised: {0}")]
    BadPath(String),
    /// No enabled server has this path.
    #[error("no server '{0}' is registered")]
    UnknownServer(String),
    /// The server exists but is disabled.
    #[error("server '{0}' is disabled")]
    DisabledServer(String),
    /// The route does not exist for this server's transport or method.
    #[error("{0}")]
    NotHere(String),
    /// Missing or invalid credentials.
    #[error("{0}")]
    Unauthenticated(#[from] mcpgw_auth::AuthError),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The policy refused messages of the request; none of it was forwarded.
    #[error("{}", refusals.first().map(|r| r.message.as_str()).unwrap_or("access denied"))]
    Refused {
        /// The body was a batch: answer with an array.
        batch: bool,
        /// One per refused message.
        refusals: Vec<Refusal>,
    },
    /// The body is not acceptable JSON-RPC.
    #[error(transparent)]
    Inspect(#[from] InspectError),
    /// The body is larger than the configured limit.
    #[error("request body exceeds {0} bytes")]
    TooLarge(usize),
    /// The client's body did not arrive within the time allowed (seconds).
    #[error("the request body did not arrive within {0}s")]
    SlowBody(u64),
    /// The client's body could not be read.
    #[error("cannot read request body: {0}")]
    ClientBody(String),
    /// The upstream could not be reached or failed before answering.
    #[error("server '{server}' is unreachable: {reason}")]
    Upstream {
        /// The server's path.
        server: String,
        /// Why.
        reason: String,
    },
    /// The upstream did not answer in time.
    #[error("server '{server}' did not answer within {seconds}s")]
    UpstreamTimeout {
        /// The server's path.
        server: String,
        /// The timeout.
        seconds: u64,
    },
    /// The server failed recently and is not retried before `retry_after` seconds.
    #[error("server '{server}' is restarting: {reason}")]
    Restarting {
        /// The server's path.
        server: String,
        /// Why, and when it is retried.
        reason: String,
        /// Seconds until the next attempt (the `Retry-After` header).
        retry_after: u64,
    },
    /// The caller already has as many event streams open as it may.
    #[error(
        "you have {max} event streams open through this gateway, as many as one caller may ([limits] max_streams_per_principal): close one first"
    )]
    TooManyStreams {
        /// The limit.
        max: usize,
    },
    /// A rate limit refused the request; `Retry-After` says when to come back.
    #[error("rate limit reached for {who}: retry in {retry_after}s")]
    RateLimited {
        /// Whose budget is spent: `you` (the caller's) or the server's path.
        who: String,
        /// Seconds until a request would be admitted.
        retry_after: u64,
    },
    /// The gateway is at a limit of its own (requests or streams open at once).
    #[error("the gateway is busy ({what}): retry in {retry_after}s")]
    Overloaded {
        /// Which limit.
        what: &'static str,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// A server just registered whose tools are being checked (and scanned) first.
    #[error(
        "server '{0}' was just registered; its tools are being checked before first use, try again in a moment"
    )]
    AwaitingCheck(String),
    /// The registry could not be read to route the request (details go to the log only).
    #[error("the registry is unavailable; try again shortly")]
    Registry,
    /// A session id the gateway does not know (never opened, ended, expired, or another
    /// caller's): the client starts a new session, as the MCP spec says on 404.
    #[error("unknown or expired session: start a new one")]
    UnknownSession,
    /// A session this replica has not seen could not be looked up (the database does not
    /// answer).
    #[error("the session cannot be looked up now; try again shortly")]
    SessionsUnavailable,
    /// The server acts with the user's own account at a provider, which the user has not
    /// connected (or must connect again). Answered as JSON-RPC (HTTP 200), with the URL.
    #[error(
        "server '{server}' acts with your own {provider} account: connect it at {url} and try again"
    )]
    ConnectionRequired {
        /// The server's path.
        server: String,
        /// The provider's display name.
        provider: String,
        /// Where to connect.
        url: String,
        /// How the client is told.
        reply: ConnectReply,
    },
}

impl GatewayError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::BadPath(_) | GatewayError::Inspect(_) | GatewayError::ClientBody(_) => {
                StatusCode::BAD_REQUEST
            }
            GatewayError::UnknownServer(_)
            | GatewayError::DisabledServer(_)
            | GatewayError::UnknownSession => StatusCode::NOT_FOUND,
            GatewayError::NotHere(_) => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden(_) | GatewayError::Refused { .. } => StatusCode::FORBIDDEN,
            GatewayError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::SlowBody(_) => StatusCode::REQUEST_TIMEOUT,
            GatewayError::RateLimited { .. } | GatewayError::TooManyStreams { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            GatewayError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            GatewayError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::Registry
            | GatewayError::AwaitingCheck(_)
            | GatewayError::Overloaded { .. }
            | GatewayError::Restarting { .. }
            | GatewayError::SessionsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::ConnectionRequired {
                reply: ConnectReply::MissingCapability,
                ..
            } => StatusCode::BAD_REQUEST,
            GatewayError::ConnectionRequired { .. } => StatusCode::OK,
        }
    }

    /// The JSON-RPC error code for this error.
    pub fn rpc_code(&self) -> i64 {
        match self {
            GatewayError::Inspect(error) => error.code(),
            GatewayError::BadPath(_) | GatewayError::ClientBody(_) | GatewayError::SlowBody(_) => {
                mcpgw_mcp::inspect::INVALID_REQUEST
            }
            GatewayError::ConnectionRequired { reply, .. } => match reply {
                ConnectReply::Elicitation => URL_ELICITATION_REQUIRED,
                ConnectReply::StatelessError => CONNECTION_REQUIRED,
                ConnectReply::MissingCapability => MISSING_REQUIRED_CLIENT_CAPABILITY,
            },
            _ => GATEWAY_ERROR,
        }
    }

    /// The response: a JSON-RPC error object with `id` (or null), the id written back
    /// exactly as the client sent it (a number too large for a float stays itself).
    pub fn into_response_with_id(self, id: Option<&str>) -> Response<Body> {
        let body = match &self {
            GatewayError::Refused { batch, refusals } => {
                let errors: Vec<String> = refusals
                    .iter()
                    .map(|refusal| {
                        error_text(refusal.id.as_deref(), self.rpc_code(), &refusal.message)
                    })
                    .collect();
                if *batch || errors.len() != 1 {
                    format!("[{}]", errors.join(","))
                } else {
                    errors.concat()
                }
            }
            GatewayError::ConnectionRequired {
                url,
                provider,
                reply,
                ..
            } => {
                let id: Value = id
                    .and_then(|raw| serde_json::from_str(raw).ok())
                    .unwrap_or(Value::Null);
                let mut answer = error_object(id, self.rpc_code(), &self.to_string());
                answer["error"]["data"] = match reply {
                    ConnectReply::Elicitation => json!({
                        "elicitations": [url_elicitation(url, provider)],
                    }),
                    ConnectReply::MissingCapability => json!({
                        "requiredCapabilities": {"elicitation": {"url": {}}},
                    }),
                    ConnectReply::StatelessError => json!({ "url": url }),
                };
                answer.to_string()
            }
            _ => error_text(id, self.rpc_code(), &self.to_string()),
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if matches!(
            self.status(),
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT
        ) {
            // The unread rest of the body makes the connection unusable.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if matches!(self, GatewayError::AwaitingCheck(_)) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(1u64));
        }
        if let GatewayError::Restarting { retry_after, .. }
        | GatewayError::RateLimited { retry_after, .. }
        | GatewayError::Overloaded { retry_after, .. } = &self
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if self.status() == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl GatewayError {
    /// A refusal by a rate limit on `who`'s budget, to be retried after `wait`.
    pub fn rate_limited(who: &str, wait: crate::limits::RetryAfter) -> GatewayError {
        GatewayError::RateLimited {
            who: who.to_owned(),
            retry_after: wait.seconds(),
        }
    }

    /// The JSON-RPC error answering each refused message (none for other errors).
    pub(crate) fn refusal_answers(&self) -> Vec<Value> {
        match self {
            GatewayError::Refused { refusals, .. } => refusals
                .iter()
                .map(|refusal| {
                    let id = refusal
                        .id
                        .as_deref()
                        .and_then(|raw| serde_json::from_str(raw).ok())
                        .unwrap_or(Value::Null);
                    error_object(id, self.rpc_code(), &refusal.message)
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// How a request whose user must connect an account first is answered (see
/// [`crate::connect_reply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectReply {
    /// 2025-11-25's `URLElicitationRequiredError`.
    Elicitation,
    /// A 2026-07-28 request that cannot carry input: the gateway's own code.
    StatelessError,
    /// A 2026-07-28 request that could carry URL-mode input, from a client without it.
    MissingCapability,
}

/// A URL-mode elicitation asking the user to connect their `provider` account at `url`
/// (the connect page of the gateway, which makes them sign in: never a pre-authenticated
/// URL).
pub(crate) fn url_elicitation(url: &str, provider: &str) -> Value {
    let id: u128 = rand::random();
    json!({
        "mode": "url",
        "elicitationId": format!("{id:032x}"),
        "url": url,
        "message": format!("Connect your {provider} account to continue."),
    })
}

/// One message the policy refused: its id and what the caller is told.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The message's id as the client wrote it (none for a notification).
    pub id: Option<String>,
    /// The error message.
    pub message: String,
}

/// A JSON-RPC error as text, with `raw_id` (already checked JSON: a number, a string) put
/// in unchanged, or null.
fn error_text(raw_id: Option<&str>, code: i64, message: &str) -> String {
    let message = serde_json::to_string(message).unwrap_or_else(|_| "\"error\"".to_owned());
    let id = raw_id.unwrap_or("null");
    format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{message}}}}}"#)
}

fn error_object(id: Value, code: i64, message: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    })
}

impl axum::response::IntoResponse for GatewayError {
    fn into_response(self) -> axum::response::Response {
        self.into_response_with_id(None)
    }
}
