//! The legacy 2024-11-05 HTTP+SSE transport through the gateway: `/{server}/sse` opens
//! the upstream stream with its `endpoint` event rewritten to `/{server}/messages?session=…`,
//! and posts there are forwarded to the upstream's own message endpoint.
//!
//! The upstream endpoint never reaches the client: the gateway keeps it in a session
//! table under a random id for as long as the stream is open, so a client cannot make
//! the gateway post anywhere else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use bytes::Bytes;
use http::header::ACCEPT;
use http::{HeaderValue, Method, Request, Response, Uri};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::error::GatewayError;
use crate::forward::{Caller, upstream_head};
use crate::handler::Gateway;
use crate::sse_inject::{INJECT_QUEUE, Injected};
use crate::sse_rewrite::EndpointRewriter;
use crate::table::Target;

/// Where the messages of one open legacy stream go.
#[derive(Debug, Clone)]
pub(crate) enum SessionRoute {
    /// Posted on to the upstream server's own message endpoint.
    Upstream(Uri),
    /// Into a bridged server's shared connection, answers to this client's stream.
    Bridged(crate::bridge::legacy::BridgedClient),
}

/// One open legacy stream.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The server it belongs to; a session id is only valid on that server's route.
    pub server: String,
    /// Where its messages go.
    pub route: SessionRoute,
    /// Answers the gateway gives itself, put on the client's stream.
    pub answers: mpsc::Sender<Value>,
    /// Who opened it ([`mcpgw_auth::Principal::owner`]): only they may post into it.
    pub owner: String,
}

/// Open legacy SSE sessions by their gateway-side id.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    open: Arc<Mutex<HashMap<String, Session>>>,
}

impl Sessions {
    pub(crate) fn insert(&self, session: Session) -> String {
        let id = crate::ids::random_hex();
        if let Ok(mut open) = self.open.lock() {
            open.insert(id.clone(), session);
        }
        id
    }

    fn get(&self, id: &str) -> Option<Session> {
        self.open.lock().ok()?.get(id).cloned()
    }

    fn remove(&self, id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(id);
        }
    }

    /// Number of open legacy streams.
    pub fn len(&self) -> usize {
        self.open.lock().map(|open| open.len()).unwrap_or(0)
    }

    /// True when no legacy stream is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes a session when the client's stream ends, however it ends.
pub(crate) struct SessionGuard {
    sessions: Sessions,
    id: Arc<Mutex<Option<String>>>,
}

impl SessionGuard {
    /// Guards the session `id` of `sessions`.
    pub(crate) fn new(sessions: Sessions, id: String) -> Self {
        SessionGuard {
            sessions,
            id: Arc::new(Mutex::new(Some(id))),
        }
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id.lock().ok().and_then(|mut id| id.take()) {
            self.sessions.remove(&id);
        }
    }
}

/// `GET /{server}/sse`: opens the upstream stream and rewrites its endpoint event.
pub async fn open_stream(
    gateway: &Gateway,
    target: &Target,
    mut parts: http::request::Parts,
    caller: &Caller<'_>,
) -> Result<Response<Body>, GatewayError> {
    if parts.method != Method::GET {
        return Err(GatewayError::NotHere(format!(
            "use GET on /{}/sse",
            target.path
        )));
    }
    let Some(base) = target.uri.clone() else {
        return Err(GatewayError::Upstream {
            server: target.path.clone(),
            reason: "no upstream URL".into(),
        });
    };
    let credential = crate::egress::CallerCredential::of(target, caller.principal, &parts.headers);
    upstream_head(&mut parts, base.clone(), &target.headers, caller);
    parts
        .headers
        .insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    let response = gateway
        .send(
            target,
            Request::from_parts(parts, Body::empty()),
            credential
                .as_ref()
                .map(crate::egress::CallerCredential::as_caller),
        )
        .await?;
    if !crate::forward::is_event_stream(&response) {
        return Ok(response);
    }
    if caller.tools.is_some() {
        crate::list_filter::refuse_encoded(response.headers(), &target.path)?;
    }

    let sessions = gateway.legacy_sessions().clone();
    let server = target.path.clone();
    let (answers, injected) = mpsc::channel(INJECT_QUEUE);
    let owner = caller.principal.owner();
    let session_id = Arc::new(Mutex::new(None));
    let guard = SessionGuard {
        sessions: sessions.clone(),
        id: Arc::clone(&session_id),
    };
    let rewrite = Box::new(move |endpoint: &str| {
        let upstream =
            mcpgw_mcp::client::resolve_endpoint(&base.to_string().parse().ok()?, endpoint).ok()?;
        let upstream: Uri = upstream.as_str().parse().ok()?;
        let id = sessions.insert(Session {
            server: server.clone(),
            route: SessionRoute::Upstream(upstream),
            answers: answers.clone(),
            owner: owner.clone(),
        });
        if let Ok(mut slot) = session_id.lock() {
            *slot = Some(id.clone());
        }
        Some(format!("/{server}/messages?session={id}"))
    });
    let (mut parts, body) = response.into_parts();
    // The rewrite changes the length.
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let body = Injected::new(EndpointRewriter::new(body, rewrite), injected);
    let body = match caller.tools {
        Some(filter) => Body::new(crate::sse_filter::SseFilter::new(body, filter.clone())),
        None => Body::new(body),
    };
    let body = GuardedBody::new(body, guard);
    Ok(Response::from_parts(parts, Body::new(body)))
}

/// `POST /{server}/messages?session=…`: forwards a client message to the upstream's
/// message endpoint of that session, or into the bridged server's connection.
pub async fn post_message(
    gateway: &Gateway,
    target: &Target,
    mut parts: http::request::Parts,
    body: Bytes,
    caller: &Caller<'_>,
) -> Result<Response<Body>, GatewayError> {
    let session = session_of(gateway, target, &parts, &caller.principal.owner())
        .ok_or(GatewayError::UnknownSession)?;
    match session.route {
        SessionRoute::Upstream(upstream) => {
            let credential =
                crate::egress::CallerCredential::of(target, caller.principal, &parts.headers);
            upstream_head(&mut parts, upstream, &target.headers, caller);
            gateway
                .send(
                    target,
                    Request::from_parts(parts, Body::from(body)),
                    credential
                        .as_ref()
                        .map(crate::egress::CallerCredential::as_caller),
                )
                .await
        }
        SessionRoute::Bridged(client) => {
            let timeout = gateway.request_timeout();
            crate::bridge::legacy::post(gateway, target, client, body, timeout).await
        }
    }
}

/// The open session a message post names, on this server, opened by `owner` (anyone else
/// is told there is no such session).
fn session_of(
    gateway: &Gateway,
    target: &Target,
    parts: &http::request::Parts,
    owner: &str,
) -> Option<Session> {
    let id = parts
        .uri
        .query()
        .into_iter()
        .flat_map(|query| query.split('&'))
        .find_map(|pair| pair.strip_prefix("session="))?;
    gateway
        .legacy_sessions()
        .get(id)
        .filter(|session| session.server == target.path && session.owner == owner)
}

/// Puts the answers to a refused post on the client's stream as well, where a legacy
/// client waits for them (the post itself still gets the 403). A client that does not
/// read its stream loses them rather than holding up the gateway.
pub(crate) fn answer_on_stream(
    gateway: &Gateway,
    target: &Target,
    parts: &http::request::Parts,
    owner: &str,
    error: &GatewayError,
) {
    let Some(session) = session_of(gateway, target, parts, owner) else {
        return;
    };
    for answer in error.refusal_answers() {
        if session.answers.try_send(answer).is_err() {
            tracing::debug!(server = %target.path, "a legacy client's stream is full: refusal not delivered on it");
        }
    }
}

/// A body that holds a value (the session guard) until the body is dropped.
pub(crate) struct GuardedBody<B> {
    inner: B,
    _guard: SessionGuard,
}

impl<B> GuardedBody<B> {
    /// Keeps `guard` until `inner` is dropped.
    pub(crate) fn new(inner: B, guard: SessionGuard) -> Self {
        GuardedBody {
            inner,
            _guard: guard,
        }
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for GuardedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}
