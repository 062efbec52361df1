//! Routes with the Python registry's names and shapes, for scripts written against it.
//! They obey the same access rules as `/api/servers` ([`crate::access`]).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use mcpgw_auth::Principal;
use mcpgw_policy::UiAction;
use mcpgw_registry::ServerInput;
use serde_json::{Value, json};

use crate::access::{Access, authorized_server};
use crate::body::{body_bytes, is_form, parse_form, parse_json};
use crate::error::ServerPath;
use crate::view::{python_server_json, server_json, tools_json};
use crate::{ApiError, AppState, servers};

/// Form fields the Python registry's `/register` accepted that mcpgw computes itself
/// (`num_tools`) or does not track (`num_stars`, `is_python`); accepted and ignored so old
/// scripts keep working.
const IGNORED_FORM_FIELDS: &[&str] = &["num_tools", "num_stars", "is_python"];

/// A checkbox-style form value: `on` (what browsers send), `true` or `1`.
fn form_flag(value: &str) -> bool {
    matches!(value, "on" | "true" | "1")
}

/// Builds registry input from the Python registry's form fields.
pub fn input_from_form(fields: Vec<(String, String)>) -> Result<ServerInput, ApiError> {
    let mut input = ServerInput::default();
    for (name, value) in fields {
        let slot = match name.as_str() {
            "path" => &mut input.path,
            "name" => &mut input.name,
            "description" => &mut input.description,
            "proxy_pass_url" | "url" => &mut input.url,
            "transport" => &mut input.transport,
            "command" => &mut input.command,
            "license" => &mut input.license,
            "version" => &mut input.version,
            "tags" => {
                input.tags = Some(mcpgw_registry::TagsInput::CommaSeparated(value));
                continue;
            }
            "enabled" => {
                input.enabled = Some(form_flag(&value));
                continue;
            }
            ignored if IGNORED_FORM_FIELDS.contains(&ignored) => continue,
            unknown => return Err(ApiError::invalid_field(unknown, "unknown field")),
        };
        *slot = Some(value);
    }
    Ok(input)
}

/// `POST /register`: registration from the Python registry's form (JSON also accepted),
/// with the rules of [`servers::register`].
pub async fn register(
    state: State<AppState>,
    principal: Extension<Principal>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    servers::register(state, principal, headers, body).await
}

/// `GET /api/server_details/{path}` (`list_service`); `all` lists every server the caller
/// may list, as `GET /api/servers` does, in the Python registry's shape.
pub async fn server_details(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
) -> Result<Json<Value>, ApiError> {
    if path.trim_matches('/') == "all" {
        let access = Access::of(&state, &principal);
        access.authorize(UiAction::List, None)?;
        let servers = access.listable(state.registry.list().await?);
        let by_path: serde_json::Map<String, Value> = servers
            .into_iter()
            .map(|server| {
                let server = access.shown(server);
                (server.path.clone(), python_server_json(&server))
            })
            .collect();
        return Ok(Json(Value::Object(by_path)));
    }
    let (server, _) = authorized_server(&state, &principal, &path, UiAction::List).await?;
    Ok(Json(python_server_json(&server)))
}

/// `GET /api/tools/{path}` (`list_service`).
pub async fn tools(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
) -> Result<Json<Value>, ApiError> {
    let (server, _) = authorized_server(&state, &principal, &path, UiAction::List).await?;
    Ok(Json(tools_json(&server)))
}

/// `POST /api/refresh/{path}` (`health_check_service`).
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

/// `POST /toggle/{path}`: the Python form sends `enabled=on` to enable and omits the
/// field to disable; `{"enabled": bool}` JSON is accepted too (`toggle_service`).
pub async fn toggle(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(path): ServerPath,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let (_, access) = authorized_server(&state, &principal, &path, UiAction::Toggle).await?;
    let body = body_bytes(body)?;
    let enabled = if is_form(&headers, &body) || body.trim_ascii().is_empty() {
        parse_form(&body)?
            .iter()
            .any(|(name, value)| name == "enabled" && form_flag(value))
    } else {
        let value: Value = parse_json(&body)?;
        value
            .get("enabled")
            .and_then(Value::as_bool)
            .ok_or_else(|| ApiError::invalid_field("enabled", "must be true or false"))?
    };
    let server = access.shown(state.registry.set_enabled(&path, enabled).await?);
    Ok(Json(json!({
        "message": format!("{} {}", server.path, if enabled { "enabled" } else { "disabled" }),
        "service_path": server.path,
        "new_enabled_state": enabled,
        "server": server_json(&server),
    })))
}
