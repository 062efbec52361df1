//! The status routes of the registry API, for admins: `PATCH
//! /v0.1/servers/{serverName}/versions/{version}/status` and `PATCH
//! /v0.1/servers/{serverName}/status` (every version at once). Admins only, as the issue
//! and the official registry have it: a deletion travels to every registry that
//! synchronises with this one, and removes the server there.
//!
//! Deprecating says "still works, but use another" (with a message); deleting hides the
//! version from default listings while incremental syncs still see it. A removed server's
//! versions can be deleted but not brought back: registering the server again does that.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use mcpgw_auth::Principal;
use mcpgw_registry::versions::VersionStatus;
use serde::Deserialize;
use serde_json::{Value, json};

use super::document::server_response;
use super::handlers::{Reader, find, newest_first};
use super::path::{NamePath, NameVersionPath};
use super::problem::Problem;
use crate::AppState;
use crate::auth_layer::admin_for;
use crate::body::{body_bytes, parse_json};

/// The longest status message.
const MAX_MESSAGE: usize = 500;

/// A status change (`StatusUpdateRequest`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StatusUpdate {
    status: String,
    #[serde(default)]
    status_message: Option<String>,
}

impl StatusUpdate {
    /// Reads and checks the body.
    fn read(
        body: Result<Bytes, BytesRejection>,
    ) -> Result<(VersionStatus, Option<String>), Problem> {
        let update: StatusUpdate = parse_json(&body_bytes(body)?)?;
        let status = VersionStatus::parse(&update.status).ok_or_else(|| {
            Problem::unprocessable(format!(
                "status must be active, deprecated or deleted, not '{}'",
                update.status
            ))
        })?;
        let message = update
            .status_message
            .map(|message| message.trim().to_owned())
            .filter(|message| !message.is_empty());
        if message
            .as_ref()
            .is_some_and(|message| message.chars().count() > MAX_MESSAGE)
        {
            return Err(Problem::unprocessable(format!(
                "statusMessage must be at most {MAX_MESSAGE} characters"
            )));
        }
        Ok((status, message))
    }
}

/// `PATCH …/versions/{version}/status`: one version (`latest` names the latest).
pub async fn one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    NameVersionPath(name, version): NameVersionPath,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, Problem> {
    admin_for(&principal, "change the status of published versions")?;
    let (path, version) = {
        let reader = Reader::load(&state, &principal, &headers).await?;
        let entry = find(&reader.catalog, &name, &version).ok_or_else(Problem::not_found)?;
        (entry.version.path.clone(), entry.version.version.clone())
    };
    let (status, message) = StatusUpdate::read(body)?;
    state
        .registry
        .set_version_status(&path, Some(&version), status, message.as_deref())
        .await?;
    let reader = Reader::load(&state, &principal, &headers).await?;
    let entry = find(&reader.catalog, &name, &version).ok_or_else(Problem::not_found)?;
    Ok(Json(server_response(entry, &reader.base)))
}

/// `PATCH …/{serverName}/status`: every version of the server at once
/// (`AllVersionsStatusResponse`: how many changed, and every version, newest first).
pub async fn all(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    NamePath(name): NamePath,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, Problem> {
    admin_for(&principal, "change the status of published versions")?;
    let path = {
        let reader = Reader::load(&state, &principal, &headers).await?;
        let entry = reader
            .catalog
            .of(&name)
            .next()
            .ok_or_else(Problem::not_found)?;
        entry.version.path.clone()
    };
    let (status, message) = StatusUpdate::read(body)?;
    let (changed, _) = state
        .registry
        .set_version_status(&path, None, status, message.as_deref())
        .await?;
    let reader = Reader::load(&state, &principal, &headers).await?;
    let servers = newest_first(reader.catalog.of(&name).collect(), &reader.base);
    Ok(Json(json!({ "updatedCount": changed, "servers": servers })))
}
