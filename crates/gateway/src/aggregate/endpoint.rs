//! [`AggregateEndpoint`]: the HTTP entry of the aggregated server. The caller is
//! authenticated (401 with the protected-resource challenge otherwise), a session id must
//! be the caller's own, `Mcp-Method`/`Mcp-Name` must agree with the body, and only then
//! does rmcp see the request, with the caller in its extensions.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{HeaderMap, Method, Request, Response};
use mcpgw_auth::Principal;
use mcpgw_mcp::inspect;
use mcpgw_registry::RegistryService;
use rmcp::transport::StreamableHttpService;
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::catalog::LiveCatalog;
use super::legacy::LegacyEndpoint;
use super::server::AggregateServer;
use super::sessions::UpstreamSessions;
use super::{Aggregator, builtin};
use crate::challenge;
use crate::error::GatewayError;
use crate::forward::{MCP_METHOD, MCP_NAME, MCP_SESSION_ID};
use crate::handler::{Gateway, single_header};
use crate::route::Endpoint;
use crate::session_directory::RestorableSessions;
use crate::session_owners::SessionOwners;
use crate::trace::MessageSpan;

/// How often idle upstream sessions are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Which tools a route offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/mcp`: every usable server's tools and the built-in tools.
    Everything,
    /// `/mcpgw/mcp`: the built-in tools alone (the Python gateway's `mcpgw` server).
    Builtins,
}

impl Surface {
    /// The key sessions of this surface are bound to their owners under.
    fn owners_key(self) -> &'static str {
        match self {
            // Not a valid server path, so never confused with one.
            Surface::Everything => "/mcp",
            Surface::Builtins => builtin::SERVER,
        }
    }

    /// The protected resource this surface's endpoint is.
    fn resource(self, endpoint: Endpoint) -> String {
        let name = challenge::endpoint_resource(endpoint);
        match self {
            Surface::Everything => name.to_owned(),
            Surface::Builtins => format!("{}/{name}", builtin::SERVER),
        }
    }
}

type Service = StreamableHttpService<AggregateServer, LocalSessionManager>;

/// Most stateful sessions open at once on one surface (each holds a task and buffers
/// until it ends or idles out after rmcp's five minutes).
const MAX_SESSIONS: usize = 10_000;

/// One surface's MCP service and its session table (to count sessions).
struct Served {
    service: Service,
    sessions: Arc<LocalSessionManager>,
}

/// The aggregated server's routes: `/mcp`, `/sse` + `/messages`, and `/mcpgw/…`.
pub struct AggregateEndpoint {
    core: Arc<Aggregator>,
    everything: Served,
    builtins: Served,
    legacy: LegacyEndpoint,
    owners: SessionOwners,
}

impl AggregateEndpoint {
    /// Serves `catalog` through `gateway`, finding tools with `semantic` once it holds an
    /// index; sessions end when `shutdown` is cancelled.
    pub fn new(
        gateway: Arc<Gateway>,
        catalog: LiveCatalog,
        registry: RegistryService,
        semantic: mcpgw_registry::SemanticSlot,
        shutdown: CancellationToken,
    ) -> Result<AggregateEndpoint, GatewayError> {
        let config = gateway.config().clone();
        let http = mcpgw_mcp::client::guarded_http_client(
            config.connect_timeout,
            Arc::clone(&config.network),
        )
        .map_err(|error| GatewayError::Upstream {
            server: "*".into(),
            reason: error.to_string(),
        })?;
        let sessions = UpstreamSessions::new(
            http,
            config.first_byte_timeout,
            config.forward_identity,
            Arc::clone(&config.network),
        );
        let core = Arc::new(Aggregator {
            gateway,
            catalog,
            sessions,
            registry,
            semantic,
            shutdown: shutdown.clone(),
        });
        let sweeper = Arc::downgrade(&core);
        let mut changes = core.catalog.subscribe();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SWEEP_EVERY);
            loop {
                let changed = tokio::select! {
                    _ = every.tick() => false,
                    changed = changes.changed() => changed.is_ok(),
                    () = stop.cancelled() => return,
                };
                let Some(core) = sweeper.upgrade() else {
                    return;
                };
                if changed {
                    core.sessions.keep_only(&core.catalog.current());
                } else {
                    core.sessions.sweep();
                }
            }
        });
        let service = |surface: Surface| {
            let core = Arc::clone(&core);
            // Host and Origin checks belong to the gateway as a whole, not to one route:
            // behind a proxy the Host is the public name, which rmcp cannot know.
            // 2026-07-28 requests are answered as plain JSON unless progress comes first:
            // one write instead of an event stream's several, a third of the latency.
            let mut config = StreamableHttpServerConfig::default()
                .with_legacy_session_mode(true)
                .with_json_response(true)
                .with_max_request_body_bytes(config.max_body_bytes)
                .with_cancellation_token(shutdown.child_token())
                .disable_allowed_hosts();
            // A session opened at another replica (or before a restart) is restored from
            // the directory: rmcp replays the client's `initialize` into a fresh session.
            if let Some(directory) = core.gateway.session_directory() {
                config.session_store = Some(Arc::new(RestorableSessions {
                    directory: Arc::clone(directory),
                    scope: surface.owners_key(),
                }));
            }
            let sessions = Arc::new(LocalSessionManager::default());
            let service = StreamableHttpService::new(
                move || Ok(AggregateServer::new(Arc::clone(&core), surface, None)),
                Arc::clone(&sessions),
                config,
            );
            Served { service, sessions }
        };
        let owners = match core.gateway.session_directory() {
            Some(directory) => SessionOwners::default().with_directory(Arc::clone(directory)),
            None => SessionOwners::default(),
        };
        Ok(AggregateEndpoint {
            everything: service(Surface::Everything),
            builtins: service(Surface::Builtins),
            legacy: LegacyEndpoint::new(Arc::clone(&core), shutdown),
            core,
            owners,
        })
    }

    /// Serves one request to `endpoint` of `surface`.
    pub async fn handle(
        &self,
        surface: Surface,
        endpoint: Endpoint,
        request: Request<Body>,
    ) -> Response<Body> {
        let host = request.headers().get(http::header::HOST).cloned();
        match self.serve(surface, endpoint, request).await {
            Ok(response) => response,
            Err(error) => {
                let gateway = &self.core.gateway;
                let resource = surface.resource(endpoint);
                let challenge = gateway.challenge(&resource, host, &error);
                let mut response = error.into_response_with_id(None);
                if let Some(challenge) = challenge {
                    response
                        .headers_mut()
                        .insert(http::header::WWW_AUTHENTICATE, challenge);
                }
                response
            }
        }
    }

    async fn serve(
        &self,
        surface: Surface,
        endpoint: Endpoint,
        request: Request<Body>,
    ) -> Result<Response<Body>, GatewayError> {
        let (parts, body) = request.into_parts();
        let gateway = &self.core.gateway;
        let (authenticated, method, took) = gateway.authenticate(&parts.headers).await;
        let server = match surface {
            Surface::Everything => "mcp",
            Surface::Builtins => super::BUILTIN_SERVER,
        };
        crate::observe::aggregated_auth(server, method, took);
        let principal = Arc::new(authenticated?);
        gateway
            .rate_limits()
            .admit_principal(|| principal.owner())
            .map_err(|wait| GatewayError::rate_limited("you", wait))?;
        let hold = gateway
            .rate_limits()
            .open_stream(parts.method == Method::GET, || principal.owner())?;
        let response = self
            .serve_as(surface, endpoint, server, parts, body, principal)
            .await?;
        // The caller's place under its stream quota, kept while its stream is open.
        Ok(match hold {
            Some(hold) => crate::held_body::hold_while_streaming(response, || hold),
            None => response,
        })
    }

    /// [`serve`](Self::serve) once the caller is known and admitted.
    async fn serve_as(
        &self,
        surface: Surface,
        endpoint: Endpoint,
        server: &'static str,
        mut parts: http::request::Parts,
        body: Body,
        principal: Arc<Principal>,
    ) -> Result<Response<Body>, GatewayError> {
        let gateway = &self.core.gateway;
        if endpoint != Endpoint::Mcp {
            let body = match parts.method {
                Method::POST => Some(gateway.read_body(&parts.headers, body).await?),
                _ => None,
            };
            return self
                .legacy
                .serve(surface, endpoint, parts, body, principal)
                .await;
        }
        single_header(&parts.headers, &MCP_SESSION_ID)?;
        let session = session_id(&parts.headers);
        let key = surface.owners_key();
        if let Some(session) = &session
            && !self
                .owners
                .allows(key, session, &principal.owner(), false)
                .await?
        {
            return Err(GatewayError::UnknownSession);
        }
        let mut opens_session = false;
        // What restores a session this request opens elsewhere: the client's `initialize`.
        let mut restorable = None;
        let mut span = tracing::Span::none();
        let body = if parts.method == Method::POST {
            let bytes = gateway.read_body(&parts.headers, body).await?;
            let inspected = inspect::inspect(&bytes)?;
            refuse_batch(&inspected)?;
            span = message_span(server, &inspected, session.as_deref(), &principal);
            for name in [MCP_METHOD, MCP_NAME] {
                single_header(&parts.headers, &name)?;
            }
            inspect::check_headers(
                &inspected,
                parts.headers.get(MCP_METHOD).map(|value| value.as_bytes()),
                parts.headers.get(MCP_NAME).map(|value| value.as_bytes()),
            )?;
            opens_session = inspected
                .messages
                .iter()
                .any(|message| message.method.as_deref() == Some("initialize"));
            if opens_session && session.is_none() {
                restorable = restorable_state(&bytes);
            }
            // Header and body agree: the request may take the direct path.
            if surface == Surface::Everything
                && let Some(direct) = self
                    .core
                    .try_direct(&parts, &bytes, &inspected, &principal)
                    .instrument(span.clone())
                    .await
            {
                if let Ok(response) = &direct {
                    span.record("mcp.result", response.status().as_u16());
                }
                return direct;
            }
            Body::from(bytes)
        } else {
            body
        };
        let method = parts.method.clone();
        // Only an `initialize` opens a session: the owner key is built for those alone.
        let opener = opens_session.then(|| principal.owner());
        parts.extensions.insert(principal);
        parts.extensions.insert(MessageSpan(span.clone()));
        let request = Request::from_parts(parts, body);
        let served = match surface {
            Surface::Everything => &self.everything,
            Surface::Builtins => &self.builtins,
        };
        if session.is_none()
            && method == Method::POST
            && opens_session
            && served.sessions.sessions.read().await.len() >= MAX_SESSIONS
        {
            return Err(GatewayError::Restarting {
                server: "mcp".into(),
                reason: "too many sessions are open; try again shortly".into(),
                retry_after: 5,
            });
        }
        let response = served
            .service
            .handle(request)
            .instrument(span.clone())
            .await
            .map(Body::new);
        span.record("mcp.result", response.status().as_u16());
        if response.status().is_success() {
            match (&session, session_id(response.headers())) {
                (Some(session), _) if method == Method::DELETE => {
                    self.owners.end(key, session).await
                }
                (None, Some(opened)) => {
                    if let Some(opener) = &opener {
                        self.owners
                            .open(key, &opened, opener, None, restorable.as_deref())
                            .await;
                    }
                }
                _ => {}
            }
        }
        Ok(response)
    }
}

/// JSON-RPC batches left MCP in 2025-06-18 and rmcp takes one message per request: a
/// batch is refused as an invalid request, not with rmcp's bare 415.
pub(crate) fn refuse_batch(inspected: &inspect::Inspected<'_>) -> Result<(), GatewayError> {
    if inspected.batch {
        let error = inspect::InspectError::InvalidRequest(
            "send one JSON-RPC message per request: the aggregated endpoint takes no batches"
                .into(),
        );
        return Err(error.into());
    }
    Ok(())
}

/// The span of the request's message (none unless traces are exported), with what the
/// gateway knows of it before serving it.
fn message_span(
    server: &str,
    inspected: &inspect::Inspected<'_>,
    session: Option<&str>,
    principal: &Principal,
) -> tracing::Span {
    let first = inspected.messages.first();
    let span = crate::trace::message_span(server, first);
    if let Some(method) = first.and_then(|message| message.method.as_deref()) {
        span.record("mcp.method.name", method);
        if method == "tools/call"
            && let Some(tool) = first.and_then(|message| message.target.as_deref())
        {
            span.record("gen_ai.tool.name", tool);
        }
    }
    if let Some(session) = session {
        span.record("mcp.session.id", session);
    }
    span.record("enduser.id", principal.subject.as_str());
    span
}

/// Largest `initialize` kept for restoring a session elsewhere (real clients send well
/// under 2 KiB): a larger one is not stored, and that session works on its own replica
/// only (elsewhere it gets 404 and the client starts anew).
const MAX_RESTORABLE_BYTES: usize = 16 * 1024;

/// The state another replica restores a session from (rmcp's `SessionState`): the
/// `initialize` request's parameters as the client sent them, if they are small enough.
fn restorable_state(initialize: &[u8]) -> Option<String> {
    let request: serde_json::Value = serde_json::from_slice(initialize).ok()?;
    let params = request.get("params")?;
    let state = serde_json::json!({ "initialize_params": params }).to_string();
    (state.len() <= MAX_RESTORABLE_BYTES).then_some(state)
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(MCP_SESSION_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}
