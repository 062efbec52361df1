//! Tool and server search for people and scripts: `GET /api/search?q=&k=&type=&tags=` and
//! the Python registry's `POST /api/search/semantic` (`query`, `entity_types`,
//! `max_results` → `servers`, `tools`, `search_mode`).
//!
//! Only enabled, healthy servers the caller may list are searched, and of their tools only
//! those it may call, and the ranking is computed over that set alone: what a caller may
//! not see moves no score and no count. Ranking is hybrid once an embedding model is
//! loaded and by words until then (`search_mode` says which).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, RawQuery, State};
use mcpgw_auth::Principal;
use mcpgw_policy::UiAction;
use mcpgw_registry::{Candidates, Server, ToolDocument, document, find_tools, matched_fields};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Access;
use crate::body::{body_bytes, parse_json};
use crate::{ApiError, AppState};

/// Results per kind when `k` / `max_results` is not given.
const DEFAULT_LIMIT: usize = 10;
/// Most results per kind.
const MAX_LIMIT: usize = 100;
/// Longest query accepted, in characters.
const MAX_QUERY_CHARS: usize = 1000;

/// `GET /api/search` parameters, as text so that each gets its own precise error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    q: Option<String>,
    k: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    tags: Option<String>,
}

/// `POST /api/search/semantic` body (the Python registry's names).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SemanticRequest {
    query: String,
    #[serde(default)]
    entity_types: Option<Vec<String>>,
    #[serde(default)]
    max_results: Option<usize>,
}

/// What to look for.
struct Wanted<'a> {
    query: &'a str,
    tools: bool,
    servers: bool,
    limit: usize,
    tags: Vec<String>,
}

/// `GET /api/search?q=&k=&type=tool|server|all&tags=a,b`.
pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params: SearchParams =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).map_err(|error| {
            ApiError::bad_request(format!(
                "{error}; the parameters are q, k, type (tool, server or all) and tags"
            ))
        })?;
    let query = params.q.unwrap_or_default();
    let limit = match params.k.as_deref() {
        None => DEFAULT_LIMIT,
        Some(k) => k
            .parse::<usize>()
            .ok()
            .filter(|k| (1..=MAX_LIMIT).contains(k))
            .ok_or_else(|| {
                ApiError::invalid_field("k", format!("must be a number from 1 to {MAX_LIMIT}"))
            })?,
    };
    let (tools, servers) = match params.kind.as_deref().unwrap_or("all") {
        "tool" | "tools" => (true, false),
        "server" | "servers" => (false, true),
        "all" => (true, true),
        _ => {
            return Err(ApiError::invalid_field(
                "type",
                "must be tool, server or all",
            ));
        }
    };
    let tags = params
        .tags
        .map(|tags| {
            tags.split(',')
                .map(|tag| tag.trim().to_owned())
                .filter(|tag| !tag.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let wanted = Wanted {
        query: &query,
        tools,
        servers,
        limit,
        tags,
    };
    search(&state, &principal, wanted).await.map(Json)
}

/// `POST /api/search/semantic` with `{"query", "entity_types": ["mcp_server", "tool"],
/// "max_results"}`.
pub async fn semantic(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    // The API's own reading: a clear `{"error": …}` naming the field, never axum's text.
    let request: SemanticRequest = parse_json(&body_bytes(body)?)?;
    let limit = request.max_results.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_field(
            "max_results",
            format!("must be from 1 to {MAX_LIMIT}"),
        ));
    }
    let (mut tools, mut servers) = (true, true);
    if let Some(types) = &request.entity_types {
        tools = false;
        servers = false;
        for kind in types {
            match kind.as_str() {
                "tool" | "tools" => tools = true,
                "mcp_server" | "server" | "servers" => servers = true,
                other => {
                    return Err(ApiError::invalid_field(
                        "entity_types",
                        format!("unknown type '{other}'; use mcp_server and tool"),
                    ));
                }
            }
        }
    }
    let wanted = Wanted {
        query: &request.query,
        tools,
        servers,
        limit,
        tags: Vec::new(),
    };
    search(&state, &principal, wanted).await.map(Json)
}

async fn search(
    state: &AppState,
    principal: &Principal,
    wanted: Wanted<'_>,
) -> Result<Value, ApiError> {
    let query = wanted.query.trim();
    if query.is_empty() || query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::invalid_field(
            "q",
            format!("the query must hold 1 to {MAX_QUERY_CHARS} characters"),
        ));
    }
    let access = Access::of(state, principal);
    access.authorize(UiAction::List, None)?;
    // The catalogue holds the enabled, healthy servers, tokenised once per registry change.
    let catalog = state.search.current();
    let mut documents: Vec<ToolDocument<'_>> = Vec::new();
    let mut rows: Vec<usize> = Vec::new();
    let mut servers: Vec<&Server> = Vec::new();
    for (position, server) in catalog.servers().iter().enumerate() {
        if !access.can_list(server) || !wanted.tags.iter().all(|tag| server.tags.contains(tag)) {
            continue;
        }
        servers.push(server);
        let filter = access.tool_filter(&server.path);
        for (number, tool) in server.tools.iter().enumerate() {
            if let Some(row) = catalog.row(position, number)
                && filter.allows(&tool.name)
            {
                documents.push(document(server, tool));
                rows.push(row);
            }
        }
    }
    let candidates = Candidates {
        index: catalog.index(),
        documents: &documents,
        rows: &rows,
    };
    let semantic = state.semantic.get();
    let everything = documents.len().max(1);
    let (hits, mode) = find_tools(
        query,
        &candidates,
        semantic.as_deref(),
        everything,
        everything,
    )
    .await;

    let tools: Vec<Value> = hits
        .iter()
        .take(if wanted.tools { wanted.limit } else { 0 })
        .map(|hit| {
            let document = &documents[hit.index];
            json!({
                "server_path": document.server_path,
                "server_name": document.server_name,
                "tool_name": document.tool.name,
                "description": document.tool.description,
                "inputSchema": document.tool.input_schema,
                "score": rounded(hit.score),
                "matched": matched_fields(query, document),
            })
        })
        .collect();
    // A server ranks by its best tool; the tools it is found by come with it.
    let mut by_server: Vec<(&str, f64, Vec<&str>)> = Vec::new();
    for hit in &hits {
        let document = &documents[hit.index];
        match by_server
            .iter_mut()
            .find(|(path, ..)| *path == document.server_path)
        {
            Some((_, _, names)) => names.push(&document.tool.name),
            None => by_server.push((document.server_path, hit.score, vec![&document.tool.name])),
        }
    }
    let servers_found: Vec<Value> = by_server
        .iter()
        .take(if wanted.servers { wanted.limit } else { 0 })
        .filter_map(|(path, score, names)| {
            let server = servers.iter().find(|server| server.path == *path)?;
            Some(json!({
                "path": server.path,
                "name": server.name,
                "description": server.description,
                "tags": server.tags,
                "score": rounded(*score),
                "matching_tools": names,
            }))
        })
        .collect();
    Ok(json!({
        "query": query,
        "search_mode": mode.as_str(),
        "servers": servers_found,
        "tools": tools,
    }))
}

/// Scores with four decimals: more says nothing and makes answers harder to read.
fn rounded(score: f64) -> f64 {
    (score * 10_000.0).round() / 10_000.0
}
