//! Tool and server search for people and scripts: `GET /api/search?q=&k=&type=&tags=` and
//! the Python registry's `POST /api/search/semantic` (`query`, `entity_types`,
//! `max_results` → `servers`, `tools`, `search_mode`).
//!
//! Only enabled, healthy servers the caller may list are searched, and of their tools only
//! those it may call, and the ranking is computed over that set alone: what a caller may
//! not see moves no score and no count. Ranking is hybrid once an embedding model is
//! loaded and by words until then (`search_mode` says which).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, RawQuery, State};
use mcpgw_auth::Principal;
use mcpgw_policy::UiAction;
use mcpgw_registry::{
    Candidates, SEMANTIC_WEIGHT, SearchCatalog, SearchMode, Server, ToolDocument, document, fuse,
    matched_fields, rank_by_scores, score_candidates, server_matched_fields,
};
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
pub struct Wanted<'a> {
    /// The words.
    pub query: &'a str,
    /// Whether tools are wanted.
    pub tools: bool,
    /// Whether servers are wanted.
    pub servers: bool,
    /// Most results of each kind.
    pub limit: usize,
    /// Only servers with all these tags.
    pub tags: Vec<String>,
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

/// The search itself, shared by the API and the UI's search page: `{query, search_mode,
/// servers, tools}` as `GET /api/search` answers it.
pub async fn search(
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
    let started = std::time::Instant::now();
    let access = Access::of(state, principal);
    access.authorize(UiAction::List, None)?;
    // The catalogue holds the enabled, healthy servers, tokenised once per registry change.
    let catalog = state.search.fresh().await;
    let mut documents: Vec<ToolDocument<'_>> = Vec::new();
    let mut rows: Vec<usize> = Vec::new();
    let mut servers: Vec<usize> = Vec::new();
    for (position, server) in catalog.servers().iter().enumerate() {
        if !access.can_list(server) || !wanted.tags.iter().all(|tag| server.tags.contains(tag)) {
            continue;
        }
        servers.push(position);
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
    let vector = match &semantic {
        Some(index) => index.embed_query(query).await,
        None => None,
    };
    let cosine = semantic
        .as_ref()
        .zip(vector.as_ref())
        .map(|(index, vector)| index.similarities(vector, &documents));
    let mode = if cosine.is_some() {
        SearchMode::Hybrid
    } else {
        SearchMode::Lexical
    };
    let scored = score_candidates(query, &candidates, cosine.as_deref());

    let tools: Vec<Value> = if wanted.tools {
        rank_by_scores(
            &documents,
            &scored.scores,
            &scored.coverage,
            usize::MAX,
            wanted.limit,
        )
        .iter()
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
        .collect()
    } else {
        Vec::new()
    };
    let servers_found = if wanted.servers {
        let found = ServersFound {
            catalog: &catalog,
            visible: &servers,
            documents: &documents,
            tool_scores: &scored.scores,
        };
        let cosine = semantic
            .as_ref()
            .zip(vector.as_ref())
            .map(|(index, vector)| {
                let paths: Vec<&str> = servers
                    .iter()
                    .filter_map(|&position| catalog.servers().get(position))
                    .map(|server| server.path.as_str())
                    .collect();
                index.server_similarities(vector, &paths)
            });
        found.rank(query, cosine.as_deref(), wanted.limit)
    } else {
        Vec::new()
    };
    mcpgw_telemetry::analytics::tool_search(
        "api",
        mode.as_str(),
        query,
        tools.len(),
        (wanted.limit, wanted.limit),
        started.elapsed(),
    );
    Ok(json!({
        "query": query,
        "search_mode": mode.as_str(),
        "servers": servers_found,
        "tools": tools,
    }))
}

/// What server search ranks: the servers a caller may list and their tools' scores.
struct ServersFound<'a> {
    catalog: &'a SearchCatalog,
    /// Positions in `catalog.servers()` of the servers the caller may list.
    visible: &'a [usize],
    documents: &'a [ToolDocument<'a>],
    tool_scores: &'a [f64],
}

/// A server found, before it is written out.
struct ServerHit<'a> {
    score: f64,
    server: &'a Server,
    /// Its best matching tools (score, name), best first.
    tools: Vec<(f64, &'a str)>,
    /// Whether it was found by a tool rather than by its own text.
    by_tools: bool,
}

/// Tools named with a server found.
const MATCHING_TOOLS: usize = 5;

impl ServersFound<'_> {
    /// The best `limit` servers: each scores the better of its own text (words, fused with
    /// `cosine[i]`, the similarity of the query to `visible[i]`'s embedded text, when
    /// given) and its best tool, so a server is found by what it says and by what it does.
    fn rank(&self, query: &str, cosine: Option<&[f32]>, limit: usize) -> Vec<Value> {
        let words = self.catalog.server_scores(query, self.visible);
        let own = match cosine {
            Some(cosine) => fuse(&words, cosine, SEMANTIC_WEIGHT),
            None => words,
        };
        // The caller's tools that matched, by server (documents come grouped by server).
        let mut by_server: HashMap<&str, Vec<(f64, &str)>> = HashMap::new();
        for (document, &score) in self.documents.iter().zip(self.tool_scores) {
            if score > 0.0 {
                by_server
                    .entry(document.server_path)
                    .or_default()
                    .push((score, &document.tool.name));
            }
        }
        let mut ranked: Vec<ServerHit<'_>> = self
            .visible
            .iter()
            .zip(own)
            .filter_map(|(&position, own)| {
                let server = self.catalog.servers().get(position)?;
                let mut tools = by_server.remove(server.path.as_str()).unwrap_or_default();
                tools.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
                tools.truncate(MATCHING_TOOLS);
                let best_tool = tools.first().map_or(0.0, |(score, _)| *score);
                let score = own.max(best_tool);
                (score > 0.0).then_some(ServerHit {
                    score,
                    server,
                    tools,
                    by_tools: best_tool >= own,
                })
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.server.path.cmp(&b.server.path))
        });
        ranked
            .into_iter()
            .take(limit)
            .map(|hit| {
                let server = hit.server;
                let mut matched = server_matched_fields(query, server);
                if hit.by_tools {
                    matched.push("tools");
                }
                let names: Vec<&str> = hit.tools.iter().map(|(_, name)| *name).collect();
                let score = hit.score;
                json!({
                    "path": server.path,
                    "name": server.name,
                    "description": server.description,
                    "tags": server.tags,
                    "num_tools": server.tools.len(),
                    "score": rounded(score),
                    "matched": matched,
                    "matching_tools": names,
                })
            })
            .collect()
    }
}

/// Scores with four decimals: more says nothing and makes answers harder to read.
fn rounded(score: f64) -> f64 {
    (score * 10_000.0).round() / 10_000.0
}
