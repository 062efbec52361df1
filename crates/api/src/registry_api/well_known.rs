//! `GET /.well-known/mcp-servers`: the servers an anonymous client may know about, with
//! their real health, for clients that discover what a gateway offers before signing in.
//!
//! Public, and decided by the access policy for an anonymous caller (`[auth]
//! anonymous_group` when configured, else a caller in no group): with the default policy
//! (admins only) the list is empty, so nothing is disclosed unless `scopes.yml` says so.
//! Turned off with `[registry_api] well_known = false` (then 404). The health's reason is
//! left out (it is the upstream's own text: error pages, process output), and the answer
//! is not cached, as its URLs come from the request's `Host` when no `public_url` is set.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CACHE_CONTROL;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::document::timestamp;
use super::handlers::base_url;
use super::problem::Problem;
use crate::AppState;
use crate::access::Access;

/// The document's format version.
const FORMAT: &str = "mcpgw/mcp-servers/1";

/// Lists the enabled servers an anonymous caller may list.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, Problem> {
    if !state.registry_api.well_known {
        return Err(Problem::new(
            axum::http::StatusCode::NOT_FOUND,
            "the server list is not published here ([registry_api] well_known = false)",
        ));
    }
    let base = base_url(&state, &headers)?;
    // Decided without the audit trail: this public page is read by anyone, often.
    let access = Access::under(state.policy.load(), &state.auth.anonymous());
    let namespace = &state.registry_api.namespace;
    let servers: Vec<Value> = access
        .listable(state.registry.list().await?)
        .into_iter()
        .filter(|server| server.enabled)
        .map(|server| {
            let server = access.shown(server);
            let path = &server.path;
            json!({
                "name": format!("{namespace}/{path}"),
                "title": server.name,
                "description": server.description,
                "version": server.version,
                "tags": server.tags,
                "url": format!("{base}/{path}/mcp"),
                "sseUrl": format!("{base}/{path}/sse"),
                "health": server.health.status.as_str(),
                "lastChecked": server.health.last_checked.map(timestamp),
                "numTools": server.tools.len(),
                "registry": format!(
                    "{base}/v0.1/servers/{namespace}%2F{path}/versions/latest"
                ),
            })
        })
        .collect();
    let no_store = [(CACHE_CONTROL, "no-store")];
    Ok((
        no_store,
        Json(json!({
            "format": FORMAT,
            "gateway": { "url": format!("{base}/mcp"), "registry": format!("{base}/v0.1") },
            "servers": servers,
        })),
    ))
}
