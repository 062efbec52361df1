//! [`Gateway`]: the request path of an MCP route, one step per function.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use axum::body::Body;
use http::{HeaderMap, Method, Request, Response};
use mcpgw_auth::Authenticator;
use mcpgw_mcp::inspect;
use mcpgw_policy::SharedPolicy;
use mcpgw_registry::Transport;

use crate::authorize;
use crate::bridge;
use crate::bridge::pool::BridgePool;
use crate::challenge;
use crate::config::GatewayConfig;
use crate::error::GatewayError;
use crate::forward::{Caller, MCP_METHOD, MCP_NAME, MCP_SESSION_ID, X_AUTHORIZATION};
use crate::legacy::{self, Sessions};
use crate::list_filter::ListFilter;
use crate::observe::{self, Observed};
use crate::route::{Endpoint, Route};
use crate::session_owners::SessionOwners;
use crate::streamable;
use crate::table::RoutingTable;
use crate::upstream::{self, UpstreamClient};

#[path = "handler_io.rs"]
mod io;
#[path = "handler_sessions.rs"]
mod sessions;
#[path = "handler_setup.rs"]
mod setup;
pub(crate) use io::{describe, single_header};

/// How long to wait before reading the registry again after a failed reload.
const RECONCILE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// The data plane. One per process, shared by all connections.
pub struct Gateway {
    table: RoutingTable,
    client: UpstreamClient,
    auth: Arc<Authenticator>,
    config: GatewayConfig,
    sessions: Sessions,
    bridges: Arc<BridgePool>,
    policy: SharedPolicy,
    audit: Option<mcpgw_telemetry::audit::AuditLog>,
    session_owners: SessionOwners,
    /// Tokens for upstreams with an egress mode.
    upstream_auth: Option<mcpgw_registry::SharedUpstreamAuth>,
    /// Request rate limits per principal and per server.
    rate_limits: Arc<crate::limits::RateLimits>,
    /// Checks servers again when they announce changed tools.
    tool_changes: Arc<crate::tool_changes::ToolChanges>,
    /// Hands the tool lists clients are sent to the tool scan.
    list_observer: Arc<crate::observed_lists::ListObserver>,
}

impl Gateway {
    /// A gateway routing by `table`, authenticating with `auth`.
    pub fn new(
        table: RoutingTable,
        auth: Arc<Authenticator>,
        config: GatewayConfig,
    ) -> std::io::Result<Self> {
        let client = upstream::build(config.connect_timeout, Arc::clone(&config.network))?;
        let tool_changes = Arc::new(crate::tool_changes::ToolChanges::new(
            table.registry().clone(),
        ));
        let list_observer = Arc::new(crate::observed_lists::ListObserver::new(
            table.registry().clone(),
        ));
        Ok(Gateway {
            bridges: Arc::new(BridgePool::new(
                client.clone(),
                config.first_byte_timeout,
                Arc::clone(&tool_changes),
            )?),
            client,
            table,
            auth,
            config,
            sessions: Sessions::default(),
            policy: SharedPolicy::default(),
            audit: None,
            session_owners: SessionOwners::default(),
            upstream_auth: None,
            rate_limits: Arc::default(),
            tool_changes,
            list_observer,
        })
    }

    /// Serves one request on an MCP route; every failure becomes a JSON-RPC error.
    pub async fn handle(&self, route: Route, request: Request<Body>) -> Response<Body> {
        let started = Instant::now();
        let mut seen = Observed::default();
        seen.request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let (response, upstream) =
            observe::timing_upstream(self.answer(&route, request, &mut seen)).await;
        // The caller's place under its stream quota, kept while its stream is open.
        let response = match seen.stream_hold.take() {
            Some(hold) => crate::held_body::hold_while_streaming(response, || hold),
            None => response,
        };
        if let Some(span) = &seen.span {
            span.record("mcp.result", response.status().as_u16());
        }
        if seen.target.is_none() {
            // Refused before the route was resolved (no credentials): still name a
            // registered server in the metrics, which only admins read.
            seen.target = self.table.get(&route.server).await.ok().flatten();
        }
        let kind = match route.endpoint {
            Endpoint::Mcp => "server_mcp",
            Endpoint::Sse => "server_sse",
            Endpoint::Messages => "server_messages",
        };
        seen.record(kind, response.status(), started.elapsed(), upstream);
        response
    }

    /// [`handle`](Self::handle) without the metrics.
    async fn answer(
        &self,
        route: &Route,
        request: Request<Body>,
        seen: &mut Observed,
    ) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let host = parts.headers.get(http::header::HOST).cloned();
        match self.serve(route, parts, body, seen).await {
            Ok(response) => response,
            Err((error, id)) => {
                let challenge = self.challenge(&challenge::resource_of(route), host, &error);
                let mut response = error.into_response_with_id(id.as_deref());
                if let Some(challenge) = challenge {
                    response
                        .headers_mut()
                        .insert(http::header::WWW_AUTHENTICATE, challenge);
                }
                response
            }
        }
    }

    /// Authenticates a request's caller in an `auth` span; also says how (for metrics)
    /// and how long it took.
    pub(crate) async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> (
        Result<mcpgw_auth::Principal, mcpgw_auth::AuthError>,
        Option<&'static str>,
        std::time::Duration,
    ) {
        let started = Instant::now();
        let authenticated = self
            .auth
            .authenticate(headers)
            .instrument(crate::trace::span(|| tracing::info_span!("auth")))
            .await;
        let method = authenticated
            .as_ref()
            .ok()
            .map(|principal| principal.auth_method.kind());
        (authenticated, method, started.elapsed())
    }

    /// The `WWW-Authenticate` header for a refused request, naming the resource metadata.
    pub(crate) fn challenge(
        &self,
        resource: &str,
        host: Option<http::HeaderValue>,
        error: &GatewayError,
    ) -> Option<http::HeaderValue> {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(http::header::HOST, host);
        }
        let base = mcpgw_auth::discovery::base_url(self.config.public_url.as_deref(), &headers);
        let metadata = base.map(|base| challenge::metadata_url(&base, resource));
        challenge::challenge(error, metadata.as_deref())
    }

    async fn serve(
        &self,
        route: &Route,
        parts: http::request::Parts,
        body: Body,
        seen: &mut Observed,
    ) -> Result<Response<Body>, (GatewayError, Option<String>)> {
        let fail = |error: GatewayError| (error, None);
        // Who first: an unauthenticated caller learns nothing, not even which servers exist.
        let (authenticated, method, took) = self.authenticate(&parts.headers).await;
        seen.auth = Some((method, took));
        seen.user = authenticated
            .as_ref()
            .ok()
            .map(|principal| principal.subject.clone());
        let principal = authenticated.map_err(|e| fail(e.into()))?;
        self.rate_limits
            .admit_principal(|| principal.owner())
            .map_err(|wait| fail(GatewayError::rate_limited("you", wait)))?;
        seen.stream_hold = self
            .rate_limits
            .open_stream(parts.method == Method::GET, || principal.owner())
            .map_err(fail)?;
        let policy = self.policy.load();
        let scopes = policy.scopes_of(&principal.policy_caller());
        let access = policy.decide_server_access(&scopes, &route.server);
        if !access.allowed {
            tracing::debug!(server = %route.server, reason = %access.reason, "no access");
            crate::audit::record_server_refusal(
                self.audit.as_ref(),
                &principal,
                &route.server,
                &access,
            );
            return Err(fail(authorize::no_access(&policy, &scopes, &route.server)));
        }
        let target = self.target(&route.server).await.map_err(fail)?;
        seen.target = Some(Arc::clone(&target));
        self.rate_limits
            .admit_server(&target.path)
            .map_err(|wait| fail(GatewayError::rate_limited(&target.path, wait)))?;
        // A session id only works for whoever opened the session, and names one session.
        single_header(&parts.headers, &MCP_SESSION_ID).map_err(fail)?;
        let session = parts
            .headers
            .get(MCP_SESSION_ID)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        if let Some(session) = &session
            && !self
                .session_owners
                .allows(&target.path, session, &principal.owner(), true)
                .await
                .map_err(fail)?
        {
            return Err(fail(GatewayError::UnknownSession));
        }
        let filter = ListFilter::new(policy.tool_filter(scopes.clone(), &target.path));
        let caller = Caller {
            // Dual-token: with the gateway's credential in X-Authorization, Authorization is
            // the upstream's, unless it holds a gateway credential too.
            keep_authorization: parts.headers.contains_key(X_AUTHORIZATION)
                && !parts
                    .headers
                    .get(http::header::AUTHORIZATION)
                    .is_some_and(|value| self.auth.is_gateway_credential(value.as_bytes())),
            identity: self.config.forward_identity.then_some(&principal),
            tools: filter.as_ref(),
            observes_list: false,
            principal: &principal,
        };
        if !serves(route.endpoint, target.transport) {
            let message = unsupported(&target.path);
            return Err(fail(GatewayError::NotHere(message)));
        }
        if target.egress == mcpgw_registry::Egress::Passthrough && !caller.keep_authorization {
            return Err(fail(GatewayError::Forbidden(format!(
                "server '{}' takes your own credential for it: send the gateway's token in \
                 X-Authorization and yours for the server in Authorization",
                target.path
            ))));
        }

        let body = if parts.method == Method::POST {
            Some(self.read_body(&parts.headers, body).await.map_err(fail)?)
        } else {
            None
        };
        // The id of a single request, so every later error answers that request.
        let mut id: Option<String> = None;
        let mut lists_tools = false;
        let mut observes_list = false;
        let mut connect_style = crate::connect_reply::ConnectStyle::default();
        let span: tracing::Span;
        if let Some(bytes) = &body {
            let inspected = inspect::inspect(bytes).map_err(|e| fail(e.into()))?;
            span = crate::trace::message_span(&route.server, inspected.messages.first());
            seen.span = Some(span.clone());
            span.record("enduser.id", principal.subject.as_str());
            id = inspected.single_id().map(|raw| raw.get().to_owned());
            if matches!(target.egress, mcpgw_registry::Egress::OauthUser { .. }) {
                connect_style = crate::connect_reply::style_of(&parts.headers, &inspected);
            }
            seen.messages(&inspected);
            if seen.client.is_none()
                && let Some(session) = &session
            {
                seen.client = self.session_owners.client(&target.path, session);
            }
            let headers = &parts.headers;
            for name in [MCP_METHOD, MCP_NAME] {
                single_header(headers, &name).map_err(|error| (error, id.clone()))?;
            }
            inspect::check_headers(
                &inspected,
                headers.get(MCP_METHOD).map(|value| value.as_bytes()),
                headers.get(MCP_NAME).map(|value| value.as_bytes()),
            )
            .map_err(|e| (e.into(), id.clone()))?;
            seen.trace_messages(&span);
            if let Some(session) = &session {
                span.record("mcp.session.id", session.as_str());
            }
            let policy_span =
                span.in_scope(|| crate::trace::span(|| tracing::info_span!("policy")));
            let (decisions, outcome) = policy_span
                .in_scope(|| authorize::check_messages(&policy, &scopes, &target.path, &inspected));
            crate::audit::record_messages(self.audit.as_ref(), &principal, &target.path, decisions);
            if let Err(error) = outcome {
                if route.endpoint == Endpoint::Messages {
                    legacy::answer_on_stream(self, &target, &parts, &principal.owner(), &error);
                }
                return Err((error, id));
            }
            lists_tools = inspected.messages.iter().any(|message| {
                matches!(
                    message.method.as_deref(),
                    Some("tools/list" | "server/discover")
                )
            });
            observes_list = lists_tools
                && target.transport == Transport::StreamableHttp
                && crate::observed_lists::asks_whole_tool_list(bytes)
                && self.list_observer.due(&target.path);
        } else {
            span = crate::trace::message_span(&route.server, None);
            seen.span = Some(span.clone());
            span.record("enduser.id", principal.subject.as_str());
        }
        // A JSON answer is only buffered to be filtered when it can hold a tool list.
        let caller = Caller {
            tools: caller
                .tools
                .filter(|_| lists_tools || parts.method != Method::POST),
            observes_list,
            ..caller
        };

        // A shared connection is started from the definition in hand, so it must be the
        // current one, not the one read before a slow body finished arriving.
        let target = if target.transport == Transport::StreamableHttp {
            target
        } else {
            self.target(&route.server)
                .await
                .map_err(|error| (error, id.clone()))?
        };
        let method = parts.method.clone();
        // The server's parent span is the gateway's call to it, in the header and in each
        // message's `_meta` alike.
        let upstream = span.in_scope(|| crate::trace::upstream_span(&target.path));
        let body = body.map(|body| upstream.in_scope(|| crate::trace::add_to_body(body)));
        let result = async {
            match (route.endpoint, target.transport) {
                (Endpoint::Mcp, Transport::StreamableHttp) => {
                    streamable::forward(self, &target, parts, body, &caller).await
                }
                (Endpoint::Sse, Transport::Sse) => {
                    legacy::open_stream(self, &target, parts, &caller).await
                }
                (Endpoint::Mcp, Transport::Stdio | Transport::Sse) => {
                    let timeout = self.config.first_byte_timeout;
                    let request = bridge::streamable::BridgedRequest {
                        method: &parts.method,
                        body,
                        timeout,
                        filter: filter.as_ref(),
                    };
                    bridge::streamable::serve(&self.bridges, &target, request).await
                }
                (Endpoint::Sse, Transport::Stdio) => {
                    let owner = principal.owner();
                    bridge::legacy::open(self, &target, &parts.method, filter.clone(), &owner).await
                }
                (Endpoint::Messages, Transport::Sse | Transport::Stdio) => {
                    let body =
                        body.ok_or_else(|| GatewayError::NotHere("POST your message".into()));
                    match body {
                        Ok(body) => legacy::post_message(self, &target, parts, body, &caller).await,
                        Err(error) => Err(error),
                    }
                }
                (_, Transport::StreamableHttp) => {
                    Err(GatewayError::NotHere(unsupported(&target.path)))
                }
            }
        }
        .instrument(upstream)
        .await
        .or_else(|error| crate::connect_reply::answer(error, connect_style, id.as_deref()))
        .map(|response| self.tool_changes.watch_response(&target, response));
        if let Ok(response) = &result
            && route.endpoint == Endpoint::Mcp
        {
            // Taken from the answer first: its body may not be held across a wait.
            let answered = sessions::Answered::of(response);
            if let Some(session) = &session
                && answered.success
            {
                self.session_used(&target.path, session, seen);
            }
            self.follow_session(
                &target.path,
                session.as_deref(),
                &method,
                answered,
                (&principal, seen.client.clone()),
            )
            .await;
        }
        result.map_err(|error| (error, id))
    }
}

fn unsupported(server: &str) -> String {
    format!("server '{server}' speaks Streamable HTTP: use /{server}/mcp")
}

/// Whether this endpoint exists for a server of this transport: `/mcp` for all, the legacy
/// endpoints for all but Streamable HTTP servers.
fn serves(endpoint: Endpoint, transport: Transport) -> bool {
    endpoint == Endpoint::Mcp || transport != Transport::StreamableHttp
}
