//! The registry REST API under `/api/servers`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header::LOCATION};
use axum::response::IntoResponse;
use mcpgw_registry::ServerInput;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::body::{body_bytes, is_form, parse_form, parse_json};
use crate::error::ServerPath;
use crate::legacy::input_from_form;
use crate::view::{server_json, tools_json};
use crate::{ApiError, AppState};

/// `GET /api/servers`: every server.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let servers = state.registry.list().await?;
    let items: Vec<Value> = servers.iter().map(server_json).collect();
    Ok(Json(json!({ "servers": items, "count": items.len() })))
}

/// Reads a registration or update from a JSON or form body.
pub fn read_input(headers: &HeaderMap, body: &[u8]) -> Result<ServerInput, ApiError> {
    if is_form(headers, body) {
        input_from_form(parse_form(body)?)
    } else {
        parse_json(body)
    }
}

/// `POST /api/servers`: registers a server (201 with its `Location`).
pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let input = read_input(&headers, &body_bytes(body)?)?;
    let server = state.registry.register(input).await?;
    let location = format!("/api/servers/{}", server.path);
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        Json(server_json(&server)),
    ))
}

/// `GET /api/servers/{path}`.
pub async fn show(
    State(state): State<AppState>,
    ServerPath(path): ServerPath,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(server_json(&state.registry.get(&path).await?)))
}

/// `PUT|PATCH /api/servers/{path}`: changes the fields present in the body.
pub async fn update(
    State(state): State<AppState>,
    ServerPath(path): ServerPath,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let input = read_input(&headers, &body_bytes(body)?)?;
    Ok(Json(server_json(
        &state.registry.update(&path, input).await?,
    )))
}

/// `DELETE /api/servers/{path}` (204).
pub async fn remove(
    State(state): State<AppState>,
    ServerPath(path): ServerPath,
) -> Result<StatusCode, ApiError> {
    state.registry.remove(&path).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /api/servers/{path}/toggle`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToggleInput {
    enabled: bool,
}

/// `POST /api/servers/{path}/toggle` with `{"enabled": bool}`.
pub async fn toggle(
    State(state): State<AppState>,
    ServerPath(path): ServerPath,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let ToggleInput { enabled } = parse_json(&body_bytes(body)?)?;
    Ok(Json(server_json(
        &state.registry.set_enabled(&path, enabled).await?,
    )))
}

/// `GET /api/servers/{path}/tools`.
pub async fn tools(
    State(state): State<AppState>,
    ServerPath(path): ServerPath,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(tools_json(&state.registry.get(&path).await?)))
}

/// `POST /api/servers/{path}/refresh`: checks the server now and returns it.
pub async fn refresh(
    State(state): State<AppState>,
    ServerPath(path): ServerPath,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(server_json(&state.registry.refresh(&path).await?)))
}
