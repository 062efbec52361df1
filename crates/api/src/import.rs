//! Importing servers from registries and federating with peer registries, for admins:
//! `POST /api/import` (a registry's entries or a posted document), and the sources
//! synchronised on an interval under `/api/sources`.
//!
//! Admins only: an import creates and changes servers by the dozen, and a source keeps
//! doing so every hour with a stored credential.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mcpgw_auth::Principal;
use mcpgw_registry::import::{
    DEFAULT_INTERVAL_SECS, ImportRequest, RegistryQuery, Selection, Source, documents,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth_layer::admin_for;
use crate::body::{body_bytes, parse_json};
use crate::error::ServerPath;
use crate::{ApiError, AppState};

/// `POST /api/import`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    /// A registry's base URL to read `/v0.1/servers` from.
    registry: Option<String>,
    /// Its bearer credential, if it wants one.
    token: Option<String>,
    /// Only its entries matching this.
    search: Option<String>,
    /// Or a document: a server.json, a ServerResponse, a ServerList or an array.
    document: Option<Value>,
    /// Which entries, by name.
    names: Option<Vec<String>>,
    /// Or all of them (required for a registry, so an import is never everything by
    /// accident).
    all: Option<bool>,
    /// Report what would happen, change nothing.
    #[serde(default)]
    dry_run: bool,
    /// Replace local edits of servers imported before.
    #[serde(default)]
    overwrite: bool,
}

/// `POST /api/import`: imports servers; the report says, per entry, what happened.
pub async fn import(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    admin_for(&principal, "import servers")?;
    let body: ImportBody = parse_json(&body_bytes(body)?)?;
    // Decided before anything is read, so a request that cannot work reads nothing.
    let selection = match (body.names, body.all) {
        (Some(names), Some(true)) if !names.is_empty() => {
            return Err(ApiError::invalid_field(
                "names",
                "give names or all: true, not both",
            ));
        }
        (Some(names), _) if !names.is_empty() => Selection::Names(names),
        (_, Some(true)) => Selection::All,
        _ if body.document.is_some() => Selection::All,
        _ => {
            return Err(ApiError::invalid_field(
                "names",
                "say which servers to import: names, or all: true",
            ));
        }
    };
    let (source, entries) = match (&body.registry, body.document) {
        (Some(url), None) => {
            let query = RegistryQuery {
                url: url.trim_end_matches('/').to_owned(),
                token: body.token.clone(),
                search: body.search.clone(),
                include_deleted: false,
            };
            (
                query.url.clone(),
                state.importer.read_registry(&query).await?,
            )
        }
        (None, Some(document)) => {
            let bytes = serde_json::to_vec(&document)
                .map_err(|error| ApiError::bad_request(error.to_string()))?;
            let entries = documents(&bytes).map_err(mcpgw_registry::RegistryError::from)?;
            ("file".to_owned(), entries)
        }
        _ => {
            return Err(ApiError::invalid_field(
                "registry",
                "give a registry URL or a document: exactly one of them",
            ));
        }
    };
    let report = state
        .importer
        .import(ImportRequest {
            source,
            entries,
            selection,
            dry_run: body.dry_run,
            overwrite: body.overwrite,
            sync: false,
            complete: false,
        })
        .await?;
    Ok(Json(json!(report)))
}

/// `POST /api/sources`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceBody {
    name: String,
    url: String,
    token: Option<String>,
    search: Option<String>,
    interval_secs: Option<u64>,
}

/// A source as the API shows it: never its credential, only whether it has one.
fn source_json(source: &Source) -> Value {
    let mut shown = json!(source);
    if let Value::Object(object) = &mut shown {
        object.insert("has_token".into(), json!(source.token.is_some()));
    }
    shown
}

/// `GET /api/sources`.
pub async fn list_sources(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    admin_for(&principal, "manage registry sources")?;
    let sources: Vec<Value> = state
        .importer
        .sources()
        .await?
        .iter()
        .map(source_json)
        .collect();
    Ok(Json(json!({ "sources": sources })))
}

/// `POST /api/sources`: adds a source after a first successful synchronisation (201).
pub async fn add_source(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    admin_for(&principal, "manage registry sources")?;
    let body: SourceBody = parse_json(&body_bytes(body)?)?;
    let source = Source {
        name: body.name,
        url: body.url.trim_end_matches('/').to_owned(),
        search: body.search.filter(|search| !search.is_empty()),
        token: body.token.filter(|token| !token.is_empty()),
        interval_secs: body.interval_secs.unwrap_or(DEFAULT_INTERVAL_SECS),
        created_at: mcpgw_registry::now(),
        last_sync_at: None,
        last_result: None,
    };
    let report = state.importer.add_source(source.clone()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "source": source_json(&source), "report": report })),
    ))
}

/// `DELETE /api/sources/{name}` (the servers imported from it stay).
pub async fn remove_source(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(name): ServerPath,
) -> Result<StatusCode, ApiError> {
    admin_for(&principal, "manage registry sources")?;
    state.importer.remove_source(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/sources/{name}/sync`: synchronises now.
pub async fn sync_source(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ServerPath(name): ServerPath,
) -> Result<Json<Value>, ApiError> {
    admin_for(&principal, "manage registry sources")?;
    Ok(Json(json!(state.importer.sync_named(&name).await?)))
}
