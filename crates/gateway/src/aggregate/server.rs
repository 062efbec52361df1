//! [`AggregateServer`]: the MCP server behind `/mcp`, `/mcpgw/mcp` and `/sse`, on rmcp.
//!
//! rmcp serves the protocol (eras, sessions, streams, cancellation); this handler only
//! answers for the caller of each request, whose [`Principal`] the HTTP entry put in the
//! request's extensions (or, on a legacy SSE session, the one that opened it).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mcpgw_auth::Principal;
use rmcp::ErrorData;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ErrorCode, Extensions,
    Implementation, InputRequiredResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, ProgressToken, ResultType, ServerCapabilities, ServerConfig,
    SubscriptionFilter, Tool,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer, SubscriptionContext};
use serde_json::Value;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::invoke::CallFailure;
use super::{Aggregator, Invocation, Surface};
use crate::error::GATEWAY_ERROR;

/// How long a client may keep a tool list before asking again (2026-07-28 `ttlMs`): lists
/// change when servers do, and subscribers are told at once anyway.
const LIST_TTL_MS: u64 = 30_000;
/// Progress notifications buffered between the upstream and the client.
const PROGRESS_QUEUE: usize = 64;

const INSTRUCTIONS: &str = "Tools of every MCP server you may use through this gateway, named \
{server}__{tool}. With many tools, call intelligent_tool_finder with the task in plain words, \
then the tool it returns (by its aggregated_name, or with invoke_mcp_tool).";

/// How often a session's change follower checks that its session is still open.
const SESSION_CHECK: Duration = Duration::from_secs(30);

/// One MCP server instance (rmcp makes one per session, and one per stateless request).
#[derive(Clone)]
pub(crate) struct AggregateServer {
    core: Arc<Aggregator>,
    surface: Surface,
    /// The caller of a legacy SSE session, fixed when it opened.
    principal: Option<Arc<Principal>>,
    /// Set once this session's change follower runs: a client that sends
    /// `notifications/initialized` again does not start another.
    following: Arc<AtomicBool>,
}

impl AggregateServer {
    /// An instance serving `surface`; `principal` for a legacy SSE session.
    pub(crate) fn new(
        core: Arc<Aggregator>,
        surface: Surface,
        principal: Option<Arc<Principal>>,
    ) -> AggregateServer {
        AggregateServer {
            core,
            surface,
            principal,
            following: Arc::new(AtomicBool::new(false)),
        }
    }

    fn principal(&self, extensions: &Extensions) -> Result<Arc<Principal>, ErrorData> {
        if let Some(principal) = &self.principal {
            return Ok(Arc::clone(principal));
        }
        extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Arc<Principal>>())
            .cloned()
            .ok_or_else(|| {
                ErrorData::internal_error("the request has no authenticated caller", None)
            })
    }

    /// Tells `peer` each time what this caller is offered changes, until it goes away.
    async fn follow_changes<F, Fut>(&self, principal: Arc<Principal>, mut notify: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let mut changes = self.core.catalog.subscribe();
        let mut seen = self
            .core
            .fingerprint(&self.core.caller(Arc::clone(&principal)), self.surface);
        while changes.changed().await.is_ok() {
            let now = self
                .core
                .fingerprint(&self.core.caller(Arc::clone(&principal)), self.surface);
            if now != seen {
                seen = now;
                if !notify().await {
                    return;
                }
            }
        }
    }
}

/// An rmcp tool from the MCP JSON of one.
fn tool_of(value: Value) -> Option<Tool> {
    serde_json::from_value(value).ok()
}

/// Sends one upstream progress notification on to the client, under the client's token.
async fn relay_progress(
    context: &RequestContext<RoleServer>,
    token: Option<&ProgressToken>,
    message: &Value,
) {
    let (Some(token), Some(params)) = (token, message.get("params")) else {
        return;
    };
    let value = params
        .get("progress")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let mut progress = ProgressNotificationParam::new(token.clone(), value);
    if let Some(total) = params.get("total").and_then(Value::as_f64) {
        progress = progress.with_total(total);
    }
    if let Some(text) = params.get("message").and_then(Value::as_str) {
        progress = progress.with_message(text);
    }
    let _ = context.peer.notify_progress(progress).await;
}

/// The server's `tools/call` result as rmcp sends it on: complete, or (2026-07-28) asking
/// the client for input, or a task.
fn response_of(result: Value) -> Result<CallToolResponse, ErrorData> {
    let kind = result
        .get("resultType")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let parsed = match kind.as_deref() {
        Some("input_required") => {
            serde_json::from_value::<InputRequiredResult>(result).map(CallToolResponse::from)
        }
        // The gateway neither asks for tasks nor routes `tasks/*`: a task it cannot
        // follow would be a result the client can never collect.
        Some("task") => {
            return Err(ErrorData::new(
                ErrorCode(GATEWAY_ERROR as i32),
                "the server answered with a task, which the aggregated endpoint cannot follow; \
                 call the tool on the server's own route",
                None,
            ));
        }
        // An older server's result has no `resultType`; a 2026-07-28 client needs one
        // (rmcp leaves it out again for clients of older revisions).
        _ => serde_json::from_value::<CallToolResult>(result).map(|mut complete| {
            complete.result_type.get_or_insert(ResultType::COMPLETE);
            CallToolResponse::from(complete)
        }),
    };
    parsed.map_err(|error| {
        ErrorData::new(
            ErrorCode(GATEWAY_ERROR as i32),
            format!("the server's answer is not a tool result: {error}"),
            None,
        )
    })
}

fn failure(error: CallFailure) -> ErrorData {
    match error {
        CallFailure::NotOffered(name) => {
            ErrorData::invalid_params(format!("unknown tool: {name}"), None)
        }
        CallFailure::Rpc(object) => {
            let code = object
                .get("code")
                .and_then(Value::as_i64)
                .unwrap_or(GATEWAY_ERROR);
            let message = object
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the server returned an error")
                .to_owned();
            ErrorData::new(ErrorCode(code as i32), message, object.get("data").cloned())
        }
        CallFailure::Gateway(error) => {
            ErrorData::new(ErrorCode(GATEWAY_ERROR as i32), error.to_string(), None)
        }
    }
}

impl ServerHandler for AggregateServer {
    fn get_info(&self) -> ServerConfig {
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .build();
        capabilities.experimental = None;
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new("mcpgw", env!("CARGO_PKG_VERSION"))
                    .with_title("mcpgw aggregated MCP endpoint"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let caller = self.core.caller(self.principal(&context.extensions)?);
        let tools = self
            .core
            .tools_for(&caller, self.surface)
            .await
            .into_iter()
            .filter_map(tool_of)
            .collect();
        Ok(ListToolsResult::with_all_items(tools)
            .with_ttl_ms(LIST_TTL_MS)
            .with_cache_scope(CacheScope::Private))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = self.core.caller(self.principal(&context.extensions)?);
        let token = context.meta.get_progress_token();
        let wanted = token
            .as_ref()
            .map(|token| serde_json::to_value(token).unwrap_or_default());
        let (sender, mut progress) = mpsc::channel::<Value>(PROGRESS_QUEUE);
        let mut on_notification = move |message: Value| {
            // Progress only: other notifications about a call have no place in its answer.
            if message.get("method").and_then(Value::as_str) == Some("notifications/progress") {
                let _ = sender.try_send(message);
            }
        };
        let mut continuation = serde_json::Map::new();
        if let Some(responses) = &request.input_responses {
            continuation.insert(
                "inputResponses".into(),
                serde_json::to_value(responses).unwrap_or_default(),
            );
        }
        if let Some(state) = &request.request_state {
            continuation.insert("requestState".into(), Value::from(state.as_str()));
        }
        let invocation = Invocation {
            arguments: request.arguments,
            progress_token: wanted,
            continuation,
            request_id: serde_json::to_string(&context.id).ok(),
        };
        let span = crate::trace::MessageSpan::of(context.extensions.get::<http::request::Parts>());
        let call = self
            .core
            .call(
                &caller,
                self.surface,
                &request.name,
                invocation,
                &mut on_notification,
            )
            .instrument(span);
        tokio::pin!(call);
        let outcome = loop {
            tokio::select! {
                biased;
                Some(message) = progress.recv() => relay_progress(&context, token.as_ref(), &message).await,
                outcome = &mut call => break outcome,
                () = context.ct.cancelled() => {
                    return Err(ErrorData::new(ErrorCode(GATEWAY_ERROR as i32), "cancelled by the client", None));
                }
            }
        };
        // Progress that arrived just before the result still goes first.
        while let Ok(message) = progress.try_recv() {
            relay_progress(&context, token.as_ref(), &message).await;
        }
        response_of(outcome.map_err(failure)?)
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let mut accepted = SubscriptionFilter::default();
        accepted.tools_list_changed = requested.tools_list_changed;
        Some(accepted)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let principal = self.principal(&context.request_context().extensions)?;
        let sink = context.sink().clone();
        tokio::select! {
            () = context.cancelled() => {}
            () = self.follow_changes(principal, || {
                let sink = sink.clone();
                async move { sink.notify_tool_list_changed().await.is_ok() }
            }) => {}
        }
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        // A stateful session: list changes go out on its stream for as long as it lasts.
        let Ok(principal) = self.principal(&context.extensions) else {
            return;
        };
        if self.following.swap(true, Ordering::SeqCst) {
            return;
        }
        let server = self.clone();
        let peer = context.peer.clone();
        tokio::spawn(async move {
            let closed = {
                let peer = peer.clone();
                async move {
                    let mut every = tokio::time::interval(SESSION_CHECK);
                    while !peer.is_transport_closed() {
                        every.tick().await;
                    }
                }
            };
            let follow = server.follow_changes(principal, || {
                let peer = peer.clone();
                async move { peer.notify_tool_list_changed().await.is_ok() }
            });
            tokio::select! {
                () = follow => {}
                () = closed => {}
                () = server.core.shutdown.cancelled() => {}
            }
        });
    }
}
