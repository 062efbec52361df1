//! The registry REST API under `/api/servers`. Each handler asks [`crate::access`]
//! first; see there for who may do what.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header::LOCATION};
use axum::response::IntoResponse;
use mcpgw_auth::Principal;
use mcpgw_policy::UiAction;
use mcpgw_registry::ServerInput;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Access, authorized_server};
use crate::body::{body_bytes, is_form, parse_form, parse_json};
use crate::error::ServerPath;
use crate::findings::summary_json;
use crate::legacy::input_from_form;
use crate::view::{server_json, tools_json};
use crate::{ApiError, AppState};

/// `GET /api/servers`: every server the caller may list (`list_service`); 403 for a
/// caller who may list none at all.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    let access = Access::of(&state, &principal);
    access.authorize(UiAction::List, None)?;
    let servers = access.listable(state.registry.list().await?);
    let scans = state.registry.scan_summaries().await?;
    let items: Vec<Value> = servers
        .into_iter()
        .map(|server| {
            let mut item = server_json(&access.shown(server));
            item["scan"] = summary_json(scans.get(item["path"].as_str().unwrap_or_default()));
            item
        })
        .collect();
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

/// `POST /api/servers`: registers a server (201 with its `Location`); needs
/// `register_service`, decided before the body is even read.
///
/// A path that is taken gets the same 409 whether or not the caller may list the server
/// holding it. Paths are unique across the registry, so a registrant must learn that one
/// is taken, and any answer other than success (or a false success) tells it so; what we
/// keep from it is everything else: the 409 names only the path it sent, never the
/// existing server's fields, and callers without `register_service` are refused before
/// the registry is consulted, so they cannot probe for paths this way.
///
/// The 201 shows the new server even when the caller's `list_service` does not cover it
/// (everything in it came from the caller); from then on it is hidden from the caller
/// like any other server it may not list.
pub async fn register(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let access = Access::of(&state, &principal);
    access.authorize(UiAction::Register, None)?;
    let input = read_input(&headers, &body_bytes(body)?)?;
    let server = access.shown(state.registry.register(input).await?);
    let location = format!("/api/servers/{}", server.path);
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        Json(server_json(&server)),
    ))
}

/// `GET /api/servers/{path}` (`list_service`).
pub async fn show(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
) -> Result<Json<Value>, ApiError> {
    let (server, _) = authorized_server(&state, &principal, &path, UiAction::List).await?;
    let scans = state.registry.scan_summaries().await?;
    let mut body = server_json(&server);
    body["scan"] = summary_json(scans.get(&server.path));
    Ok(Json(body))
}

/// `PUT|PATCH /api/servers/{path}`: changes the fields present in the body
/// (`modify_service`).
///
/// `UI-Scopes` may name a server by its display name, so whoever may modify a server may
/// also, by renaming it, change which of those grants cover it; granting
/// `modify_service` grants that too.
pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let (server, access) = authorized_server(&state, &principal, &path, UiAction::Modify).await?;
    let input = read_input(&headers, &body_bytes(body)?)?;
    authorize_enabling(&access, &server, &input)?;
    Ok(Json(server_json(
        &access.shown(state.registry.update(&path, input).await?),
    )))
}

/// An update that enables or disables the server also needs `toggle_service`: editing
/// must not be a way around the switch. Sending the current value (a read-modify-write
/// of the whole server) changes nothing and needs nothing more.
pub fn authorize_enabling(
    access: &Access,
    server: &mcpgw_registry::Server,
    input: &ServerInput,
) -> Result<(), ApiError> {
    match input.enabled {
        Some(enabled) if enabled != server.enabled => access
            .authorize(UiAction::Toggle, Some(crate::access::server_ref(server)))
            .map(|_| ()),
        _ => Ok(()),
    }
}

/// `DELETE /api/servers/{path}` (204; `modify_service`).
pub async fn remove(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
) -> Result<StatusCode, ApiError> {
    let (server, _) = authorized_server(&state, &principal, &path, UiAction::Modify).await?;
    state.registry.remove(&server.path).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /api/servers/{path}/toggle`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToggleInput {
    enabled: bool,
}

/// `POST /api/servers/{path}/toggle` with `{"enabled": bool}` (`toggle_service`).
pub async fn toggle(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let (_, access) = authorized_server(&state, &principal, &path, UiAction::Toggle).await?;
    let ToggleInput { enabled } = parse_json(&body_bytes(body)?)?;
    Ok(Json(server_json(
        &access.shown(state.registry.set_enabled(&path, enabled).await?),
    )))
}

/// `GET /api/servers/{path}/tools` (`list_service`).
pub async fn tools(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
) -> Result<Json<Value>, ApiError> {
    let (server, _) = authorized_server(&state, &principal, &path, UiAction::List).await?;
    Ok(Json(tools_json(&server)))
}

/// `POST /api/servers/{path}/refresh`: checks the server now and returns it
/// (`health_check_service`).
pub async fn refresh(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
) -> Result<Json<Value>, ApiError> {
    let (server, access) =
        authorized_server(&state, &principal, &path, UiAction::HealthCheck).await?;
    Ok(Json(server_json(
        &access.shown(state.registry.refresh(&server.path).await?),
    )))
}
