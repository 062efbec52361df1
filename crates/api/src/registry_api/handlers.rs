//! The read routes of the registry API: `GET /v0.1/servers`,
//! `GET /v0.1/servers/{serverName}/versions` and
//! `GET /v0.1/servers/{serverName}/versions/{version}` (also under `/v0`).

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use axum::http::HeaderMap;
use mcpgw_auth::Principal;
use mcpgw_policy::UiAction;
use serde_json::{Value, json};

use super::catalog::{Catalog, Listed};
use super::document::server_response;
use super::params::{self, Cursor, ListParams};
use super::path::{NamePath, NameVersionPath};
use super::problem::Problem;
use crate::AppState;
use crate::access::Access;

/// What every read needs: the caller's catalogue and the gateway's public URL.
pub struct Reader {
    /// The versions the caller may see.
    pub catalog: Catalog,
    /// The base of the gateway's URLs in documents.
    pub base: String,
}

impl Reader {
    /// Loads the caller's catalogue. A caller that may list no server at all is refused
    /// (403), as on `/api/servers`.
    pub async fn load(
        state: &AppState,
        principal: &Principal,
        headers: &HeaderMap,
    ) -> Result<Reader, Problem> {
        let access = Access::of(state, principal);
        access.authorize(UiAction::List, None)?;
        let base = base_url(state, headers)?;
        let catalog = Catalog::load(state, &access, &state.registry_api.namespace).await?;
        Ok(Reader { catalog, base })
    }
}

/// The gateway's public base URL: `public_url`, else the request's plain `Host`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> Result<String, Problem> {
    mcpgw_auth::discovery::base_url(state.public_url.as_deref(), headers).ok_or_else(|| {
        Problem::bad_request("no usable Host header, and no public_url is configured")
    })
}

/// `GET /v0.1/servers`: one item per version, by (name, version), paged by cursor.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, Problem> {
    let params = ListParams::parse(&params::pairs(query.as_deref())?)?;
    let reader = Reader::load(&state, &principal, &headers).await?;
    let mut matching = reader
        .catalog
        .entries
        .iter()
        .filter(|entry| {
            params
                .cursor
                .as_ref()
                .is_none_or(|cursor| cursor.is_before(&entry.name, &entry.version.version))
        })
        .filter(|entry| entry.matches(&params));
    let page: Vec<&Listed> = matching.by_ref().take(params.limit).collect();
    let more = matching.next().is_some();
    let mut metadata = json!({ "count": page.len() });
    if more && let (Some(last), Value::Object(object)) = (page.last(), &mut metadata) {
        object.insert(
            "nextCursor".into(),
            json!(Cursor::after(&last.name, &last.version.version)),
        );
    }
    let servers: Vec<Value> = page
        .into_iter()
        .map(|entry| server_response(entry, &reader.base))
        .collect();
    Ok(Json(json!({ "servers": servers, "metadata": metadata })))
}

/// `GET /v0.1/servers/{serverName}/versions`: every version of one server, newest first,
/// not paged; 404 when the caller may see none.
pub async fn versions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    NamePath(name): NamePath,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, Problem> {
    let include_deleted = params::include_deleted(&params::pairs(query.as_deref())?)?;
    let reader = Reader::load(&state, &principal, &headers).await?;
    let entries: Vec<&Listed> = reader
        .catalog
        .of(&name)
        .filter(|entry| include_deleted.unwrap_or(false) || !entry.is_deleted())
        .collect();
    if entries.is_empty() {
        return Err(Problem::not_found());
    }
    let servers = newest_first(entries, &reader.base);
    Ok(Json(
        json!({ "servers": servers, "metadata": { "count": servers.len() } }),
    ))
}

/// `GET /v0.1/servers/{serverName}/versions/{version}`: one version, `latest` for the
/// latest; a deleted one only with `include_deleted=true`.
pub async fn version(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    NameVersionPath(name, version): NameVersionPath,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, Problem> {
    let include_deleted = params::include_deleted(&params::pairs(query.as_deref())?)?;
    let reader = Reader::load(&state, &principal, &headers).await?;
    let entry = find(&reader.catalog, &name, &version).ok_or_else(Problem::not_found)?;
    if entry.is_deleted() && !include_deleted.unwrap_or(false) {
        return Err(Problem::not_found());
    }
    Ok(Json(server_response(entry, &reader.base)))
}

/// The entry `name`@`version` (`latest`: the latest one) of `catalog`.
pub fn find<'a>(catalog: &'a Catalog, name: &'a str, version: &str) -> Option<&'a Listed> {
    catalog.of(name).find(|entry| {
        if version == "latest" {
            entry.latest
        } else {
            entry.version.version == version
        }
    })
}

/// `entries` as `ServerResponse`s, newest publication first.
pub fn newest_first(mut entries: Vec<&Listed>, base: &str) -> Vec<Value> {
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.version.seq));
    entries
        .into_iter()
        .map(|entry| server_response(entry, base))
        .collect()
}
