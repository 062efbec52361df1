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
use http::Request;
use mcpgw_gateway::aggregate::{AggregateEndpoint, BUILTIN_SERVER, Surface};
use mcpgw_gateway::{Gateway, route};
use tower::ServiceExt;

/// Builds the service.
pub fn service(
    gateway: Arc<Gateway>,
    aggregate: Arc<AggregateEndpoint>,
    api: Router,
) -> impl tower::Service<Request<Body>, Response = Response, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    tower::service_fn(move |request: Request<Body>| {
        let gateway = Arc::clone(&gateway);
        let aggregate = Arc::clone(&aggregate);
        let api = api.clone();
        async move {
            let path = request.uri().path();
            match route::parse(path) {
                Err(error) => Ok(error.into_response()),
                Ok(Some(route)) if route.server == BUILTIN_SERVER => Ok(aggregate
                    .handle(Surface::Builtins, route.endpoint, request)
                    .await),
                Ok(Some(route)) => Ok(gateway.handle(route, request).await),
                Ok(None) => match route::aggregate_endpoint(path) {
                    Some(endpoint) => Ok(aggregate
                        .handle(Surface::Everything, endpoint, request)
                        .await),
                    None => api.oneshot(request).await,
                },
            }
        }
    })
}
