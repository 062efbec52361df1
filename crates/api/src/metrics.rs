//! `GET /metrics`: the Prometheus exposition. On the main listener only admins may read it
//! (it names servers, tools and clients); `[metrics] listen` serves [`exposition`] on a
//! listener of its own, without authentication, for a Prometheus on a private network.

use axum::Extension;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use mcpgw_auth::Principal;
use mcpgw_telemetry::metrics;

use crate::ApiError;

/// The exposition, for anyone who can reach the route.
pub async fn exposition() -> Response {
    (
        [(CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::metrics().encode(),
    )
        .into_response()
}

/// The exposition, for admins.
pub async fn for_admins(Extension(principal): Extension<Principal>) -> Result<Response, ApiError> {
    if !principal.is_admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} may not read the metrics: only admins may (or scrape the [metrics] listener)",
                principal.subject
            ),
        ));
    }
    Ok(exposition().await)
}
