//! The one HTTP service the listener runs: MCP routes to the data plane, everything else
//! to the API. The path is checked before either sees it.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::Request;
use mcpgw_gateway::{Gateway, route};
use tower::ServiceExt;

/// Builds the service: `/{server}/mcp|sse|messages` → `gateway`, anything else → `api`.
pub fn service(
    gateway: Arc<Gateway>,
    api: Router,
) -> impl tower::Service<Request<Body>, Response = Response, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    tower::service_fn(move |request: Request<Body>| {
        let gateway = Arc::clone(&gateway);
        let api = api.clone();
        async move {
            match route::parse(request.uri().path()) {
                Err(error) => Ok(error.into_response()),
                Ok(Some(route)) => Ok(gateway.handle(route, request).await),
                Ok(None) => api.oneshot(request).await,
            }
        }
    })
}
