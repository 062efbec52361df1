//! The aggregated endpoint: `/mcp` is one MCP server made of every server the caller may
//! use, plus the gateway's own tools (the "tools gateway" pattern).
//!
//! The MCP side is rmcp's Streamable HTTP server ([`endpoint`]), which negotiates the era
//! per request: 2026-07-28 stateless requests (`server/discover`, `_meta`,
//! `subscriptions/listen`) and 2025-xx sessions (`initialize`, `Mcp-Session-Id`, the `GET`
//! stream); legacy HTTP+SSE clients are served on `/sse` ([`legacy`]). Behind it:
//! - [`catalog`]: the tools on offer, `{server}__{tool}`, rebuilt when the registry changes;
//! - [`server`]: the MCP handler (list, call, list-changed notifications);
//! - [`invoke`]: calls forwarded to the upstream in the era it speaks, through the
//!   caller's own [`sessions`] for Streamable HTTP servers and the shared connections of
//!   [`crate::bridge`] for stdio and legacy SSE servers;
//! - [`builtin`]: the gateway's own tools (finder, invoke, registry management).
//!
//! Every call is authorised exactly as on the server's own route and recorded in the
//! audit trail; a caller never sees a tool it may not call.

mod builtin;
mod builtin_run;
mod catalog;
mod direct;
mod endpoint;
mod invoke;
mod legacy;
mod naming;
mod server;
mod sessions;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use mcpgw_auth::Principal;
use mcpgw_policy::{Policy, Request, Scopes};
use mcpgw_registry::RegistryService;
use serde_json::{Map, Value};
use tracing::Instrument;

pub use builtin::{NAMES as BUILTIN_TOOLS, SERVER as BUILTIN_SERVER};
pub use catalog::{Catalog, ExposedTool, LiveCatalog};
pub use endpoint::{AggregateEndpoint, Surface};
pub use naming::DEFAULT_SEPARATOR;

use crate::authorize::MessageDecision;
use crate::error::GatewayError;
use crate::handler::Gateway;
use builtin::Builtin;
use catalog::ExposedTool as Exposed;
use invoke::{CallFailure, OnNotification, ToolCall};
use sessions::UpstreamSessions;

/// What a caller sends with a tool call besides its name.
#[derive(Debug, Default)]
pub(crate) struct Invocation {
    /// The tool's arguments.
    pub arguments: Option<Map<String, Value>>,
    /// The caller's progress token, if it wants progress.
    pub progress_token: Option<Value>,
    /// Parameters passed on as they are (see [`ToolCall::continuation`]).
    pub continuation: Map<String, Value>,
    /// The JSON-RPC id of the client's request as written, for the audit trail.
    pub request_id: Option<String>,
}

/// Who is calling, with the policy decisions are taken under (loaded once per request).
pub(crate) struct Caller {
    /// The authenticated caller.
    pub principal: Arc<Principal>,
    /// The policy in force when the request arrived.
    pub policy: Arc<Policy>,
    /// The caller's scopes under it.
    pub scopes: Scopes,
}

/// What every handler of the aggregated endpoint shares.
pub(crate) struct Aggregator {
    gateway: Arc<Gateway>,
    catalog: LiveCatalog,
    sessions: UpstreamSessions,
    registry: RegistryService,
    /// Sentence embeddings for the tool finder, once a model is loaded.
    semantic: mcpgw_registry::SemanticSlot,
    /// Cancelled at shutdown: ends the tasks that follow changes for sessions.
    shutdown: tokio_util::sync::CancellationToken,
}

impl Aggregator {
    /// The caller's view under the policy in force.
    pub(crate) fn caller(&self, principal: Arc<Principal>) -> Caller {
        let policy = self.gateway.policy().load();
        let scopes = policy.scopes_of(&principal.policy_caller());
        Caller {
            principal,
            policy,
            scopes,
        }
    }

    /// Whether the caller may call the built-in `tool`.
    fn may_use_builtin(caller: &Caller, tool: Builtin) -> mcpgw_policy::Decision {
        caller.policy.decide(
            &caller.scopes,
            &Request {
                server: builtin::SERVER,
                method: "tools/call",
                target: Some(tool.name()),
            },
        )
    }

    /// The tools the caller is offered on `surface`, as MCP tool objects.
    pub(crate) async fn tools_for(&self, caller: &Caller, surface: Surface) -> Vec<Value> {
        let mut tools: Vec<Value> = Builtin::ALL
            .into_iter()
            .filter(|tool| Self::may_use_builtin(caller, *tool).allowed)
            .map(Builtin::definition)
            .collect();
        if surface == Surface::Everything {
            let catalog = self.catalog.fresh().await;
            tools.extend(
                catalog
                    .visible(&caller.policy, &caller.scopes)
                    .map(Exposed::to_json),
            );
        }
        tools
    }

    /// A digest of what [`Aggregator::tools_for`] offers, to tell whether it changed
    /// (from the digests the catalog computed once, not from the tools' JSON).
    pub(crate) fn fingerprint(&self, caller: &Caller, surface: Surface) -> u64 {
        let mut hasher = DefaultHasher::new();
        for tool in Builtin::ALL {
            Self::may_use_builtin(caller, tool)
                .allowed
                .hash(&mut hasher);
        }
        if surface == Surface::Everything {
            let catalog = self.catalog.current();
            for tool in catalog.visible(&caller.policy, &caller.scopes) {
                tool.digest.hash(&mut hasher);
            }
        }
        hasher.finish()
    }

    /// Calls the tool offered as `name` on `surface`.
    pub(crate) async fn call(
        &self,
        caller: &Caller,
        surface: Surface,
        name: &str,
        invocation: Invocation,
        on_notification: OnNotification<'_>,
    ) -> Result<Value, CallFailure> {
        if let Some(tool) = Builtin::parse(name) {
            let decision = Self::may_use_builtin(caller, tool);
            self.record(
                caller,
                builtin::SERVER,
                name,
                invocation.request_id.clone(),
                &decision,
            );
            if !decision.allowed {
                return Err(CallFailure::NotOffered(name.to_owned()));
            }
            return self
                .run_builtin(
                    tool,
                    caller,
                    invocation.arguments.unwrap_or_default(),
                    invocation.progress_token,
                    on_notification,
                )
                .await;
        }
        let catalog = self.catalog.fresh().await;
        let exposed = match surface {
            Surface::Everything => catalog.find(name),
            Surface::Builtins => None,
        };
        let Some(exposed) = exposed else {
            return Err(CallFailure::NotOffered(name.to_owned()));
        };
        self.call_upstream(caller, exposed, invocation, on_notification)
            .await
    }

    /// Decides, records and forwards a call of an upstream tool.
    async fn call_upstream(
        &self,
        caller: &Caller,
        exposed: &Exposed,
        invocation: Invocation,
        on_notification: OnNotification<'_>,
    ) -> Result<Value, CallFailure> {
        let decision = crate::trace::span(|| tracing::info_span!("policy")).in_scope(|| {
            caller.policy.decide(
                &caller.scopes,
                &Request {
                    server: &exposed.server.path,
                    method: "tools/call",
                    target: Some(&exposed.tool.name),
                },
            )
        });
        let id = invocation.request_id.clone();
        self.record(
            caller,
            &exposed.server.path,
            &exposed.tool.name,
            id,
            &decision,
        );
        if !decision.allowed {
            return Err(CallFailure::NotOffered(exposed.name.clone()));
        }
        self.gateway
            .rate_limits()
            .admit_server(&exposed.server.path)
            .map_err(|wait| GatewayError::rate_limited(&exposed.server.path, wait))?;
        let call = ToolCall {
            server: &exposed.server,
            tool: &exposed.tool.name,
            arguments: invocation.arguments,
            progress_token: invocation.progress_token,
            continuation: invocation.continuation,
            principal: &caller.principal,
        };
        let started = std::time::Instant::now();
        let upstream = crate::trace::upstream_span(&exposed.server.path);
        // An announcement of changed tools during the call has the server checked again.
        let changes = self.gateway.tool_changes();
        let server = exposed.server.path.as_str();
        let mut watching = |message: Value| {
            if message.get("method").and_then(Value::as_str)
                == Some("notifications/tools/list_changed")
            {
                changes.announced(server);
            }
            on_notification(message);
        };
        let result = self.invoke(call, &mut watching).instrument(upstream).await;
        let success = result
            .as_ref()
            .is_ok_and(|value| value.get("isError") != Some(&Value::Bool(true)));
        crate::observe::aggregated_call(
            &exposed.server.path,
            &exposed.tool.name,
            success,
            (None, &caller.principal.subject),
            started.elapsed(),
        );
        result
    }

    /// Puts one call's decision in the audit trail.
    fn record(
        &self,
        caller: &Caller,
        server: &str,
        tool: &str,
        id: Option<String>,
        decision: &mcpgw_policy::Decision,
    ) {
        crate::audit::record_messages(
            self.gateway.audit(),
            &caller.principal,
            server,
            vec![MessageDecision {
                method: "tools/call".into(),
                target: Some(tool.to_owned()),
                id,
                decision: decision.clone(),
            }],
        );
    }
}
