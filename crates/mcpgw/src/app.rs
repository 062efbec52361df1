//! The one HTTP service the listener runs: MCP routes to the data plane, everything else
//! to the API. The path is checked before either sees it.
//!
//! `/{server}/mcp|sse|messages` go to the server's own route, except under the reserved
//! path `mcpgw` (the built-in tools); `/mcp`, `/sse` and `/messages` are the aggregated
//! server.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http::Request;
use http::{HeaderName, HeaderValue};
use mcpgw_gateway::aggregate::{AggregateEndpoint, BUILTIN_SERVER, Surface};
use mcpgw_gateway::route::Endpoint;
use mcpgw_gateway::{Gateway, route};

use crate::admission::Admission;
use mcpgw_telemetry::metrics::metrics;
use std::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::Instrument;

/// The header that carries a request's id, both ways.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longest request id taken from a client.
const MAX_REQUEST_ID: usize = 64;

/// The request's id: the client's `X-Request-Id` (a proxy in front may have set one) if it
/// is short and plain, else a new one. Every log line of the request carries it, and the
/// answer returns it.
fn request_id(headers: &http::HeaderMap) -> String {
    headers
        .get(&X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            (1..=MAX_REQUEST_ID).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned)
}

/// The route kind label of an MCP endpoint under `surface` (`server`, `aggregate`,
/// `builtin`).
fn endpoint_kind(surface: &'static str, endpoint: Endpoint) -> &'static str {
    match (surface, endpoint) {
        ("server", Endpoint::Mcp) => "server_mcp",
        ("server", Endpoint::Sse) => "server_sse",
        ("server", Endpoint::Messages) => "server_messages",
        ("aggregate", Endpoint::Mcp) => "aggregate_mcp",
        ("aggregate", Endpoint::Sse) => "aggregate_sse",
        ("aggregate", Endpoint::Messages) => "aggregate_messages",
        (_, Endpoint::Mcp) => "builtin_mcp",
        (_, Endpoint::Sse) => "builtin_sse",
        (_, Endpoint::Messages) => "builtin_messages",
    }
}

/// Where a request goes, decided from its path alone.
enum Destination {
    /// A path that must not be routed (dot segments, encoded separators …).
    BadPath(mcpgw_gateway::GatewayError),
    /// One server's MCP endpoint.
    Server(route::Route),
    /// The aggregated server (`/mcp`) or the built-in tools (`/mcpgw/mcp`).
    Aggregate(Surface, Endpoint),
    /// Everything else: the REST API and the UI.
    Api,
}

/// A server-sent event stream a client opened with GET ends once the gateway drains
/// (`draining` cancelled): its client reconnects, to another replica, and the drain does
/// not wait for streams that never end by themselves. Answers to POSTs may finish.
fn ends_when_draining(response: Response, draining: &CancellationToken) -> Response {
    if !mcpgw_gateway::held_body::is_event_stream_response(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let stream = body
        .into_data_stream()
        .take_until(draining.clone().cancelled_owned());
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Builds the service; every request passes `admission` first; GET streams end when
/// `draining` is cancelled.
pub fn service(
    gateway: Arc<Gateway>,
    aggregate: Arc<AggregateEndpoint>,
    api: Router,
    admission: Arc<Admission>,
    draining: CancellationToken,
) -> impl tower::Service<Request<Body>, Response = Response, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    tower::service_fn(move |request: Request<Body>| {
        let gateway = Arc::clone(&gateway);
        let aggregate = Arc::clone(&aggregate);
        let api = api.clone();
        let draining = draining.clone();
        let admission = Arc::clone(&admission);
        let mut request = request;
        let id = request_id(request.headers());
        if let Ok(value) = HeaderValue::from_str(&id) {
            // The data plane records it with what it observes.
            request.headers_mut().insert(X_REQUEST_ID, value);
        }
        let span = tracing::info_span!("request", request_id = %id);
        mcpgw_gateway::trace::continue_from(&span, request.headers());
        async move {
            let started = Instant::now();
            let opens_stream = request.method() == http::Method::GET;
            let path = request.uri().path();
            // Probes and metrics are answered however busy the gateway is: a balancer or
            // Kubernetes must not take a busy replica for a dead one.
            let slot = if matches!(path, "/livez" | "/readyz" | "/health" | "/metrics") {
                None
            } else {
                match admission.admit_request() {
                    Ok(slot) => Some(slot),
                    Err(refused) => return Ok(refused.into_response_with_id(None)),
                }
            };
            let destination = match route::parse(path) {
                Err(error) => Destination::BadPath(error),
                Ok(Some(route)) if route.server == BUILTIN_SERVER => {
                    Destination::Aggregate(Surface::Builtins, route.endpoint)
                }
                Ok(Some(route)) => Destination::Server(route),
                Ok(None) => match route::aggregate_endpoint(path) {
                    Some(endpoint) => Destination::Aggregate(Surface::Everything, endpoint),
                    None => Destination::Api,
                },
            };
            // MCP endpoints only: the API and UI have their own cross-site protection
            // (CSRF tokens, `Sec-Fetch-Site`), and browsers navigate to the UI by any name.
            let mut stream_slot = None;
            let refused = match destination {
                Destination::Server(_) | Destination::Aggregate(..) => admission
                    .check_origin(&request)
                    .and_then(|()| match opens_stream {
                        true => admission
                            .reserve_stream()
                            .map(|slot| stream_slot = Some(slot)),
                        false => Ok(()),
                    })
                    .err(),
                Destination::BadPath(_) | Destination::Api => None,
            };
            let (kind, response) = match (refused, destination) {
                (Some(refused), _) => ("refused", refused.into_response_with_id(None)),
                (None, Destination::BadPath(error)) => ("bad_path", error.into_response()),
                (None, Destination::Aggregate(surface, endpoint)) => {
                    let kind = match surface {
                        Surface::Builtins => endpoint_kind("builtin", endpoint),
                        Surface::Everything => endpoint_kind("aggregate", endpoint),
                    };
                    (kind, aggregate.handle(surface, endpoint, request).await)
                }
                // The data plane records its own kind, with what it knows of the server.
                (None, Destination::Server(route)) => {
                    let kind = endpoint_kind("server", route.endpoint);
                    (kind, gateway.handle(route, request).await)
                }
                (None, Destination::Api) => {
                    let response = match api.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    };
                    ("api", response)
                }
            };
            drop(slot);
            metrics().http(kind, response.status().as_u16(), started.elapsed());
            let response = admission.finish(response, stream_slot);
            let response = if opens_stream {
                ends_when_draining(response, &draining)
            } else {
                response
            };
            let mut response = mcpgw_gateway::observe::count_stream(kind, response);
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(X_REQUEST_ID, value);
            }
            Ok(response)
        }
        .instrument(span)
    })
}
