//! What one request to a server's MCP route did, told to the metrics once it is answered:
//! how the caller authenticated and how long that took, which messages it sent (method,
//! tool, client), and how long the upstream took to start answering, so that the
//! gateway's own share of the time can be told apart; and event streams, counted while
//! they are open ([`count_stream`]).

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{Response, StatusCode};
use mcpgw_mcp::inspect::{ClientInfo, Inspected};
use mcpgw_telemetry::analytics::{self, AnalyticsRow, AuthRow, ToolRow};
use mcpgw_telemetry::audit::now_millis;
use mcpgw_telemetry::metrics::{McpMessage, metrics};

use crate::table::Target;

tokio::task_local! {
    /// The upstream's time to its answer's head, set by whoever sent the request.
    static UPSTREAM: Cell<Option<Duration>>;
}

/// Notes that the upstream took `elapsed` to start answering (outside a
/// [`timing_upstream`] scope, nothing happens).
pub(crate) fn upstream_answered(elapsed: Duration) {
    let _ = UPSTREAM.try_with(|cell| cell.set(Some(elapsed)));
}

/// Runs `work`, returning with its output the upstream time it noted, if any.
pub(crate) async fn timing_upstream<T>(work: impl Future<Output = T>) -> (T, Option<Duration>) {
    UPSTREAM
        .scope(Cell::new(None), async {
            let output = work.await;
            (output, UPSTREAM.with(Cell::get))
        })
        .await
}

/// One message of the request.
#[derive(Debug)]
struct Seen {
    method: String,
    /// The tool of a `tools/call`, when the server has such a tool.
    tool: Option<String>,
}

/// What a request did, filled in as it is served.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// How the caller authenticated (`None`: it did not) and how long that took.
    pub auth: Option<(Option<&'static str>, Duration)>,
    /// The server, once the route's path named a registered one.
    pub target: Option<Arc<Target>>,
    /// The client, from the request or from the session it belongs to.
    pub client: Option<ClientInfo>,
    /// Who called (the principal's subject), once authenticated.
    pub user: Option<String>,
    /// The request's id (`X-Request-Id`, set by the listener).
    pub request_id: Option<String>,
    /// The span of the request's MCP messages, once they were read (traces exported).
    pub span: Option<tracing::Span>,
    /// The caller's place under its stream quota, for a stream this request may open.
    pub stream_hold: Option<crate::stream_quota::StreamHold>,
    messages: Vec<Seen>,
}

impl Observed {
    /// Notes the messages of an inspected request body (and the client they name).
    pub fn messages(&mut self, inspected: &Inspected<'_>) {
        for message in &inspected.messages {
            let Some(method) = message.method.as_deref() else {
                continue;
            };
            let tool = match (method, &message.target, &self.target) {
                ("tools/call", Some(name), Some(target))
                    if target.tools.contains(name.as_ref()) =>
                {
                    Some(name.to_string())
                }
                _ => None,
            };
            if self.client.is_none() {
                self.client = message.client_info();
            }
            self.messages.push(Seen {
                method: method.to_owned(),
                tool,
            });
        }
    }

    /// Writes the messages' methods and tools on `span` (comma-separated for a batch).
    pub fn trace_messages(&self, span: &tracing::Span) {
        let methods: Vec<&str> = self.methods().collect();
        span.record("mcp.method.name", methods.join(",").as_str());
        let tools: Vec<&str> = self
            .messages
            .iter()
            .filter_map(|seen| seen.tool.as_deref())
            .collect();
        if !tools.is_empty() {
            span.record("gen_ai.tool.name", tools.join(",").as_str());
        }
    }

    /// The methods of the request's messages.
    pub fn methods(&self) -> impl Iterator<Item = &str> {
        self.messages.iter().map(|seen| seen.method.as_str())
    }

    /// Tells the metrics about the request, answered with `status` after `elapsed` on
    /// `route` (an unregistered server counts as `_unknown`).
    pub fn record(
        &self,
        route: &'static str,
        status: StatusCode,
        elapsed: Duration,
        upstream: Option<Duration>,
    ) {
        let metrics = metrics();
        let server = self
            .target
            .as_ref()
            .map_or("_unknown", |target| target.path.as_str());
        let failure = (!status.is_success()).then(|| status.as_u16().to_string());
        if let Some((method, took)) = self.auth {
            metrics.auth(server, method.unwrap_or("unknown"), method.is_some(), took);
            analytics::record(|| {
                AnalyticsRow::Auth(AuthRow {
                    at: now_millis(),
                    server: server.to_owned(),
                    method: method.unwrap_or("unknown").to_owned(),
                    success: method.is_some(),
                    user: self.user.clone(),
                    error_code: method.is_none().then(|| failure.clone()).flatten(),
                    duration_ms: took.as_secs_f64() * 1000.0,
                    request_id: self.request_id.clone(),
                })
            });
        }
        let client = self
            .client
            .as_ref()
            .map(|client| (client.name.as_str(), client.version.as_str()));
        let success = status.is_success() || status == StatusCode::ACCEPTED;
        for seen in &self.messages {
            let message = McpMessage {
                method: &seen.method,
                server,
                tool: seen.tool.as_deref(),
                success,
                client,
                elapsed,
            };
            metrics.mcp_message(&message);
            analytics::record(|| {
                tool_row(
                    &message,
                    self.user.clone(),
                    self.request_id.clone(),
                    failure.clone(),
                )
            });
        }
        if let (Some(upstream), Some(_)) = (upstream, &self.target) {
            metrics.upstream(route, server, upstream, elapsed);
        }
    }
}

/// A `tools/call` of `tool` on `server` made through the aggregated endpoint by `user`,
/// answered (`success`) after `elapsed`.
pub(crate) fn aggregated_call(
    server: &str,
    tool: &str,
    success: bool,
    (client, user): (Option<&ClientInfo>, &str),
    elapsed: Duration,
) {
    let message = McpMessage {
        method: "tools/call",
        server,
        tool: Some(tool),
        success,
        client: client.map(|client| (client.name.as_str(), client.version.as_str())),
        elapsed,
    };
    metrics().mcp_message(&message);
    analytics::record(|| {
        let failure = (!success).then(|| "error".to_owned());
        tool_row(&message, Some(user.to_owned()), None, failure)
    });
}

/// The `tool_metrics` row of `message`.
fn tool_row(
    message: &McpMessage<'_>,
    user: Option<String>,
    request_id: Option<String>,
    error_code: Option<String>,
) -> AnalyticsRow {
    let (client_name, client_version) = match message.client {
        Some((name, version)) => (Some(name.to_owned()), Some(version.to_owned())),
        None => (None, None),
    };
    AnalyticsRow::Tool(ToolRow {
        at: now_millis(),
        server_name: message.server.to_owned(),
        server_path: format!("/{}/", message.server),
        tool_name: match message.tool {
            Some(tool) => tool.to_owned(),
            None if message.method == "tools/call" => mcpgw_telemetry::metrics::UNSET.to_owned(),
            None => message.method.to_owned(),
        },
        method: message.method.to_owned(),
        client_name,
        client_version,
        user,
        success: message.success,
        error_code: (!message.success).then_some(error_code).flatten(),
        duration_ms: message.elapsed.as_secs_f64() * 1000.0,
        request_id,
    })
}

/// An authentication on the aggregated endpoint (`server` is `mcp`, or the built-in
/// server's path), as on a server's route.
pub(crate) fn aggregated_auth(server: &str, method: Option<&'static str>, elapsed: Duration) {
    metrics().auth(
        server,
        method.unwrap_or("unknown"),
        method.is_some(),
        elapsed,
    );
}

/// `response` with its body counted as an open stream on `route` (in
/// `mcpgw_open_streams`, until it ends or its client goes away) when it is an event
/// stream; any other answer unchanged.
pub fn count_stream(route: &'static str, response: Response<Body>) -> Response<Body> {
    crate::held_body::hold_while_streaming(response, || metrics().stream_opened(route))
}
