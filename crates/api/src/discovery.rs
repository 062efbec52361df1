//! `GET /.well-known/oauth-protected-resource[/{server}/{mcp|sse}]`: RFC 9728 metadata for
//! MCP clients that were refused and look for where to get a token. Public, like the
//! challenge that points here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use mcpgw_auth::discovery;
use serde_json::Value;

use crate::{ApiError, AppState};

/// Metadata of the gateway as a whole.
pub async fn gateway(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    document(&state, &headers, "")
}

/// Metadata of one server's MCP endpoint.
pub async fn server(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(resource): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let shaped = match resource.split('/').collect::<Vec<_>>().as_slice() {
        // The aggregated server.
        ["mcp" | "sse"] => true,
        [server, "mcp" | "sse"] => {
            !server.is_empty()
                && server
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte))
        }
        _ => false,
    };
    if !shaped {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "metadata exists for /mcp, /sse, /{server}/mcp and /{server}/sse resources only",
        ));
    }
    document(&state, &headers, &resource)
}

fn document(
    state: &AppState,
    headers: &HeaderMap,
    resource: &str,
) -> Result<Json<Value>, ApiError> {
    let base = discovery::base_url(state.public_url.as_deref(), headers).ok_or_else(|| {
        ApiError::bad_request("no usable Host header, and no public_url is configured")
    })?;
    Ok(Json(discovery::resource_metadata(
        &base,
        resource,
        &state.auth.issuers(),
    )))
}
