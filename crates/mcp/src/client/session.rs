//! A caller's lasting connection to one Streamable HTTP server, for calling its tools.
//!
//! The probe connects, looks and disconnects; the gateway's aggregated endpoint instead
//! keeps one [`HttpSession`] per (caller, server) and sends every call of that caller
//! through it. A stateless (2026-07-28) server needs nothing kept but the era; a stateful
//! (2025-11-25) one needs its `initialize` handshake done once and its `Mcp-Session-Id`
//! sent on every later request, and re-done when the server forgets the session.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use url::Url;

use super::handshake::{initialize_params, read_initialize, stateless_meta};
use super::http::CLOSE_TIMEOUT;
use super::response::read_response;
use super::session_wire::{Failure, Verdict, mcp_name, stateless_verdict, with_meta};
use super::{ProbeError, ProbeOptions};
use crate::jsonrpc::{self, RpcError};
use crate::version::{self, Era};

#[path = "session_post.rs"]
mod post;

/// Header naming the session of a stateful server.
const SESSION_ID: &str = "mcp-session-id";
/// Header carrying the protocol version of every request after the handshake.
const PROTOCOL_VERSION: &str = "mcp-protocol-version";

/// The `reason` of the `notifications/cancelled` sent for a request dropped unanswered.
const CANCEL_REASON: &str = "the gateway's client went away";

/// Era states, kept in one atomic so [`HttpSession::era`] needs no lock.
const STATELESS_TRYING: u8 = 0;
const STATELESS_CONFIRMED: u8 = 1;
const STATEFUL_TRYING: u8 = 2;
const STATEFUL_CONFIRMED: u8 = 3;

/// How to reach one server on behalf of one caller.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Shared HTTP client (connection pool); built by [`super::http_client`], which never
    /// follows redirects so the headers below only go to `url`.
    pub http: reqwest::Client,
    /// The server's MCP endpoint.
    pub url: Url,
    /// Sent on every request: the server's configured headers and the caller's identity
    /// headers.
    pub headers: HeaderMap,
    /// The era the last health check found. `Some(Era::Stateless)` starts stateless;
    /// anything else starts with the `initialize` handshake. A wrong hint costs one
    /// refused request, after which the session falls back and remembers.
    pub era: Option<Era>,
    /// Name announced as `clientInfo.name`.
    pub client_name: String,
    /// Version announced as `clientInfo.version`.
    pub client_version: String,
    /// How long to wait for response headers, and the longest silence allowed between
    /// events of a response stream. A call has no overall deadline (tools may run long
    /// while reporting progress); the caller adds one if it wants.
    pub timeout: Duration,
}

/// The stateful session the server gave us.
#[derive(Debug)]
struct Established {
    /// The `Mcp-Session-Id`, if the server issued one.
    id: Option<HeaderValue>,
    /// The version `initialize` settled on.
    version: HeaderValue,
}

/// Which headers a POST carries.
enum Route<'a> {
    /// A stateless request: its method and `Mcp-Name` value.
    Stateless {
        method: &'a str,
        name: Option<String>,
    },
    /// The `initialize` request: no session yet.
    Handshake,
    /// Anything sent on an established stateful session.
    Session(&'a Arc<Established>),
}

/// One caller's connection to one Streamable HTTP MCP server, kept across calls.
///
/// It is `Send + Sync` and every method takes `&self`, so concurrent calls of the caller
/// share it (and share one handshake). Dropping it ends a stateful session in the
/// background, like [`HttpSession::close`].
#[derive(Debug)]
pub struct HttpSession {
    /// Client, identity and timeout, in the form the handshake helpers take.
    probe: ProbeOptions,
    url: Url,
    headers: HeaderMap,
    /// JSON-RPC ids, unique within this session.
    next_id: AtomicU64,
    /// One of the era states above.
    mode: AtomicU8,
    /// The stateful session, once established. Held across the handshake so that only one
    /// is in flight and concurrent callers wait for it instead of starting their own.
    session: Mutex<Option<Arc<Established>>>,
}

impl HttpSession {
    /// Prepares a session; nothing is sent until the first request.
    pub fn new(options: SessionOptions) -> Self {
        let mode = match options.era {
            Some(Era::Stateless) => STATELESS_TRYING,
            _ => STATEFUL_TRYING,
        };
        Self {
            probe: ProbeOptions {
                http: options.http,
                timeout: options.timeout,
                client_name: options.client_name,
                client_version: options.client_version,
            },
            url: options.url,
            headers: options.headers,
            next_id: AtomicU64::new(1),
            mode: AtomicU8::new(mode),
            session: Mutex::new(None),
        }
    }

    /// Sends one request and returns its outcome: `Ok(Ok(result))`, `Ok(Err(error))` for a
    /// JSON-RPC error from the server, or `Err` when the exchange itself failed.
    ///
    /// Every notification the server sends on this request's response stream (progress,
    /// log messages) is passed to `on_notification` as it arrives, before the outcome.
    /// A request that certainly did not reach the server (no connection, or a stateful
    /// session the server forgot) is sent once more, on a new session; one that may have
    /// been delivered never is.
    ///
    /// Dropping the returned future before the outcome cancels the request upstream. In the
    /// stateless era closing the response stream is the cancellation (2026-07-28: "No
    /// `notifications/cancelled` message is required or expected"); in the stateful era it
    /// is not (2025-11-25: "Disconnection SHOULD NOT be interpreted as the client
    /// cancelling its request"), so a `notifications/cancelled` for the request is sent on
    /// its session in the background, bounded by `CLOSE_TIMEOUT`.
    pub async fn request(
        &self,
        method: &str,
        params: Value,
        on_notification: &mut (dyn FnMut(Value) + Send),
    ) -> Result<Result<Value, RpcError>, ProbeError> {
        if self.is_stateless() {
            match self
                .request_stateless(method, params.clone(), on_notification)
                .await
            {
                Verdict::Answer(outcome) => {
                    let _ = self.mode.compare_exchange(
                        STATELESS_TRYING,
                        STATELESS_CONFIRMED,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                    return Ok(outcome);
                }
                Verdict::Fail(error) => return Err(error),
                Verdict::Fallback(reason) => {
                    tracing::debug!(url = %self.url, %reason, "no stateless era; using initialize");
                    self.mode.store(STATEFUL_TRYING, Ordering::Release);
                }
            }
        }
        self.request_stateful(method, params, on_notification).await
    }

    /// Sends a notification (e.g. `notifications/cancelled` for a call in progress). In
    /// the stateful era it goes on the current session, established first if needed. It
    /// is never re-sent on a new session: it would refer to requests of the old one.
    pub async fn notify(&self, method: &str, params: Value) -> Result<(), ProbeError> {
        let body = |params| jsonrpc::notification(method, params);
        if self.is_stateless() {
            let meta = stateless_meta(&self.probe);
            let route = Route::Stateless { method, name: None };
            self.post(&body(with_meta(params, meta)?), &route)
                .await
                .map_err(|failure| failure.error)?;
            return Ok(());
        }
        let session = self.establish().await.map_err(|failure| failure.error)?;
        self.post(&body(params), &Route::Session(&session))
            .await
            .map_err(|failure| failure.error)?;
        Ok(())
    }

    /// The era this session speaks, once the server confirmed it (a stateless answer, or a
    /// completed handshake); `None` before.
    pub fn era(&self) -> Option<Era> {
        match self.mode.load(Ordering::Acquire) {
            STATELESS_CONFIRMED => Some(Era::Stateless),
            STATEFUL_CONFIRMED => Some(Era::Stateful),
            _ => None,
        }
    }

    /// Ends a stateful session with a `DELETE` (bounded, best effort: the server may be
    /// gone). A later request opens a new session.
    pub async fn close(&self) {
        let Some(session) = self.session.lock().await.take() else {
            return;
        };
        if let Some(request) = self.delete_request(&session) {
            let _ = request.send().await;
        }
    }

    fn is_stateless(&self) -> bool {
        matches!(
            self.mode.load(Ordering::Acquire),
            STATELESS_TRYING | STATELESS_CONFIRMED
        )
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// One stateless attempt (plus one resend if the connection could not be made),
    /// classified for the fallback decision.
    async fn request_stateless(
        &self,
        method: &str,
        params: Value,
        on_notification: &mut (dyn FnMut(Value) + Send),
    ) -> Verdict {
        let route = Route::Stateless {
            method,
            name: mcp_name(method, &params),
        };
        let params = match with_meta(params, stateless_meta(&self.probe)) {
            Ok(params) => params,
            Err(error) => return Verdict::Fail(error),
        };
        let mut retried = false;
        let outcome = loop {
            match self
                .exchange(method, params.clone(), &route, on_notification)
                .await
            {
                Err(failure) if failure.retry && !retried => retried = true,
                other => break other.map_err(|failure| failure.error),
            }
        };
        let confirmed = self.mode.load(Ordering::Acquire) == STATELESS_CONFIRMED;
        stateless_verdict(outcome, confirmed)
    }

    /// Sends `method` on the stateful session, re-establishing it once if the first
    /// attempt certainly did not reach the server.
    async fn request_stateful(
        &self,
        method: &str,
        params: Value,
        on_notification: &mut (dyn FnMut(Value) + Send),
    ) -> Result<Result<Value, RpcError>, ProbeError> {
        let mut retried = false;
        loop {
            let failure = match self.establish().await {
                Err(failure) => failure,
                Ok(session) => {
                    let route = Route::Session(&session);
                    match self
                        .exchange(method, params.clone(), &route, on_notification)
                        .await
                    {
                        Ok(outcome) => return Ok(outcome),
                        Err(failure) => {
                            if failure.retry {
                                self.forget(&session).await;
                            }
                            failure
                        }
                    }
                }
            };
            if !failure.retry || retried {
                return Err(failure.error);
            }
            retried = true;
        }
    }

    /// The current stateful session, after running the handshake if there is none.
    async fn establish(&self) -> Result<Arc<Established>, Failure> {
        let mut current = self.session.lock().await;
        if let Some(session) = current.as_ref() {
            return Ok(Arc::clone(session));
        }
        let id = self.next_id();
        let params = initialize_params(&self.probe, version::STATEFUL_LATEST);
        let response = self
            .post(
                &jsonrpc::request(id, "initialize", params),
                &Route::Handshake,
            )
            .await?;
        let session_id = response.headers().get(SESSION_ID).cloned();
        let silence = Some(self.probe.timeout);
        let reply = read_response(response, id, silence, &mut |_| {}).await?;
        let report = read_initialize(reply, Era::Stateful)?;
        let version = HeaderValue::from_str(&report.protocol_version).map_err(|_| {
            ProbeError::Protocol("initialize result has an invalid protocolVersion".into())
        })?;
        let session = Arc::new(Established {
            id: session_id,
            version,
        });
        let initialized = jsonrpc::notification("notifications/initialized", json!({}));
        if let Err(failure) = self.post(&initialized, &Route::Session(&session)).await {
            // The server may keep the half-made session; end it.
            if let Some(request) = self.delete_request(&session) {
                tokio::spawn(request.send());
            }
            return Err(failure);
        }
        *current = Some(Arc::clone(&session));
        self.mode.store(STATEFUL_CONFIRMED, Ordering::Release);
        Ok(session)
    }

    /// Drops `stale` unless a concurrent caller already replaced it.
    async fn forget(&self, stale: &Arc<Established>) {
        let mut current = self.session.lock().await;
        if current
            .as_ref()
            .is_some_and(|session| Arc::ptr_eq(session, stale))
        {
            *current = None;
        }
    }

    /// Sends a request and reads its response, handing other messages on the stream to
    /// `on_notification` or answering them.
    async fn exchange(
        &self,
        method: &str,
        params: Value,
        route: &Route<'_>,
        on_notification: &mut (dyn FnMut(Value) + Send),
    ) -> Result<Result<Value, RpcError>, Failure> {
        let id = self.next_id();
        // Armed before the POST: once its body is out, the server may be running the
        // request even if no response headers came yet.
        let guard = CancelOnDrop {
            owner: self,
            pending: match route {
                Route::Session(session) => Some((id, Arc::clone(session))),
                Route::Stateless { .. } | Route::Handshake => None,
            },
        };
        let outcome = async {
            let response = self
                .post(&jsonrpc::request(id, method, params), route)
                .await?;
            let mut on_other = |message: Value| self.on_other(message, route, on_notification);
            Ok(read_response(response, id, Some(self.probe.timeout), &mut on_other).await?)
        }
        .await;
        // A request that timed out is still running upstream as far as anyone knows: it
        // is cancelled (the spec's advice for timeouts) by letting the guard go off.
        if !matches!(
            &outcome,
            Err(Failure {
                error: ProbeError::Timeout(_),
                ..
            })
        ) {
            guard.disarm();
        }
        outcome
    }
}

/// Cancels a request sent on a stateful session when the future waiting for its response
/// is dropped first (the gateway's client went away, or a caller's deadline fired).
///
/// Closing the response stream does not cancel a 2025-11-25 request, so the guard sends
/// `notifications/cancelled` with the request's id on the session it went to. The send
/// runs on the current tokio runtime (skipped outside one), bounded by `CLOSE_TIMEOUT`;
/// its outcome is ignored, as a notification gets no answer and the server may be gone.
struct CancelOnDrop<'a> {
    /// The session whose client and headers send the notification.
    owner: &'a HttpSession,
    /// The request's id and the stateful session it was sent on; `None` when there is
    /// nothing to cancel (a stateless request, or one that settled).
    pending: Option<(u64, Arc<Established>)>,
}

impl CancelOnDrop<'_> {
    /// The request settled (answered, or failed): nothing to cancel.
    fn disarm(mut self) {
        self.pending = None;
    }
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        let Some((id, session)) = self.pending.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let params = json!({ "requestId": id, "reason": CANCEL_REASON });
        let body = jsonrpc::notification("notifications/cancelled", params);
        let Ok(request) = self.owner.builder(&body, &Route::Session(&session)) else {
            return;
        };
        tracing::debug!(url = %self.owner.url, id, "request dropped unanswered; cancelling it");
        runtime.spawn(async move {
            let _ = request.timeout(CLOSE_TIMEOUT).send().await;
        });
    }
}

impl Drop for HttpSession {
    /// Ends a stateful session in the background, so servers do not accumulate sessions of
    /// callers that went away; bounded by `CLOSE_TIMEOUT`, and skipped outside a runtime.
    fn drop(&mut self) {
        let Some(session) = self.session.get_mut().take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if let Some(request) = self.delete_request(&session) {
            runtime.spawn(async move {
                let _ = request.send().await;
            });
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
