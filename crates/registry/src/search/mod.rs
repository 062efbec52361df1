//! Lexical tool search for the `intelligent_tool_finder` tool: an agent describes a task in
//! plain words and gets back the few tools, among possibly thousands, most likely to do it.
//!
//! The ranking is field-weighted BM25 (BM25F-style) over one document per tool, built from
//! the tool's name, title, description and parameters plus its server's name, path,
//! description and tags. Like the Python gateway's finder it works in two stages: the
//! servers most relevant to the query are chosen first, then the best tools among theirs.
//!
//! The lexical score is pure and needs no index: every call tokenises the documents again,
//! but only counts the (few) query terms, so the cost is one linear pass over the text with
//! no allocation per token ([`lexical`], [`terms`]). Semantic scores (cosine similarities of
//! sentence embeddings, kept in a [`VectorIndex`]) are fused with it by [`rank_tools_hybrid`];
//! any per-document scores can be ranked the same two-stage way by [`rank_by_scores`].

mod fusion;
mod lexical;
mod semantic;
mod terms;
mod vectors;

use std::collections::HashMap;

use crate::model::Tool;

pub use fusion::{SEMANTIC_WEIGHT, best_cosine, fuse};
pub use semantic::{
    SearchMode, SemanticIndex, SemanticSlot, find_tools, server_text, tool_summary, tool_text,
    tool_texts,
};
pub use vectors::VectorIndex;

/// One tool a caller may use, with the text it is found by. Borrowed so that the caller
/// can rank the registry's servers without copying their tools.
#[derive(Debug, Clone, Copy)]
pub struct ToolDocument<'a> {
    /// The server's path; groups tools into servers (documents sharing a path are one
    /// server, whose text is taken from the first of them) and breaks ties.
    pub server_path: &'a str,
    /// The server's display name; searched with the lowest weight.
    pub server_name: &'a str,
    /// What the server is for; searched with the lowest weight.
    pub server_description: &'a str,
    /// The server's tags; searched with the lowest weight.
    pub server_tags: &'a [String],
    /// The tool itself: name and title weigh most, then descriptions and parameters.
    pub tool: &'a Tool,
}

/// A tool that matched the query, so the caller can look the document up again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToolHit {
    /// Index into the `documents` slice given to [`rank_tools`].
    pub index: usize,
    /// Relevance in `0..=1`, higher is better: the share of the best score the query's
    /// known terms could reach, so it is comparable between results of one query.
    pub score: f64,
}

/// How much a server's own text adds to its rank, at full coverage of the query.
const SERVER_MATCH_BONUS: f64 = 0.25;

/// Ranks like the Python gateway's finder, by words alone: picks the `top_k_services`
/// servers most relevant to the query (by their best tool's score plus how much of the
/// query their own text covers), then returns the `top_n_tools` best tools among those
/// servers' tools, best first. Ties are broken by server path, then tool name, then
/// index, so the order never depends on the order of `documents`' equals. Tools that match
/// no query term are never returned; a query with no searchable words (empty, or stop
/// words only) returns nothing.
pub fn rank_tools(
    query: &str,
    documents: &[ToolDocument<'_>],
    top_k_services: usize,
    top_n_tools: usize,
) -> Vec<ToolHit> {
    let lexical = lexical::score(query, documents);
    rank_by_scores(
        documents,
        &lexical.scores,
        &lexical.coverage,
        top_k_services,
        top_n_tools,
    )
}

/// Ranks by words and meaning together: each document's score is [`fuse`]d from its BM25
/// score and `cosine[i]`, the best similarity of the query's embedding to document `i`'s
/// embedded texts, with [`SEMANTIC_WEIGHT`]; then the same two stages as [`rank_tools`].
pub fn rank_tools_hybrid(
    query: &str,
    documents: &[ToolDocument<'_>],
    cosine: &[f32],
    top_k_services: usize,
    top_n_tools: usize,
) -> Vec<ToolHit> {
    rank_tools_weighted(
        query,
        documents,
        cosine,
        SEMANTIC_WEIGHT,
        top_k_services,
        top_n_tools,
    )
}

/// [`rank_tools_hybrid`] with another share for meaning (`semantic_weight` in 0..=1), for
/// choosing [`SEMANTIC_WEIGHT`] on the evaluation set (`search-eval --sweep`).
pub fn rank_tools_weighted(
    query: &str,
    documents: &[ToolDocument<'_>],
    cosine: &[f32],
    semantic_weight: f64,
    top_k_services: usize,
    top_n_tools: usize,
) -> Vec<ToolHit> {
    let lexical = lexical::score(query, documents);
    let fused = fuse(&lexical.scores, cosine, semantic_weight);
    rank_by_scores(
        documents,
        &fused,
        &lexical.coverage,
        top_k_services,
        top_n_tools,
    )
}

/// The two stages on given per-document scores (`scores[i]` for `documents[i]`, higher is
/// better, 0 = no match): the `top_k_services` servers by their best tool's score plus
/// [`SERVER_MATCH_BONUS`] × `coverage[path]`, then the `top_n_tools` best of their tools.
pub fn rank_by_scores(
    documents: &[ToolDocument<'_>],
    scores: &[f64],
    coverage: &HashMap<&str, f64>,
    top_k_services: usize,
    top_n_tools: usize,
) -> Vec<ToolHit> {
    if top_k_services == 0 || top_n_tools == 0 {
        return Vec::new();
    }
    let mut best: HashMap<&str, f64> = HashMap::new();
    for (doc, &score) in documents.iter().zip(scores) {
        if score > 0.0 {
            let entry = best.entry(doc.server_path).or_insert(0.0);
            *entry = entry.max(score);
        }
    }
    let mut servers: Vec<(&str, f64)> = best
        .iter()
        .map(|(path, best)| {
            let bonus = coverage.get(path).copied().unwrap_or(0.0);
            (*path, best + SERVER_MATCH_BONUS * bonus)
        })
        .collect();
    servers.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    servers.truncate(top_k_services);
    let mut hits: Vec<ToolHit> = documents
        .iter()
        .zip(scores)
        .enumerate()
        .filter(|(_, (doc, score))| {
            **score > 0.0 && servers.iter().any(|(path, _)| *path == doc.server_path)
        })
        .map(|(index, (_, &score))| ToolHit { index, score })
        .collect();
    hits.sort_by(|a, b| {
        let (da, db) = (&documents[a.index], &documents[b.index]);
        b.score
            .total_cmp(&a.score)
            .then_with(|| da.server_path.cmp(db.server_path))
            .then_with(|| da.tool.name.cmp(&db.tool.name))
            .then_with(|| a.index.cmp(&b.index))
    });
    hits.truncate(top_n_tools);
    hits
}

/// Which fields of `document` hold a term of `query` (`name`, `title`, `description`,
/// `parameters`, `server`), to tell a reader why a tool was found.
pub fn matched_fields(query: &str, document: &ToolDocument<'_>) -> Vec<&'static str> {
    let terms = terms::query_terms(query);
    let mut word = String::new();
    let mut holds = |text: &str| {
        let mut found = false;
        terms::for_each_term(text, &mut word, &mut |term| {
            found |= terms.binary_search_by(|t| t.as_str().cmp(term)).is_ok();
        });
        found
    };
    let tool = document.tool;
    let mut fields = Vec::new();
    if holds(&tool.name) {
        fields.push("name");
    }
    if tool.title.as_deref().is_some_and(&mut holds) {
        fields.push("title");
    }
    if tool.description.as_deref().is_some_and(&mut holds) {
        fields.push("description");
    }
    let parameters = tool
        .input_schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .is_some_and(|properties| {
            properties.iter().any(|(name, property)| {
                holds(name)
                    || property
                        .get("description")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(&mut holds)
            })
        });
    if parameters {
        fields.push("parameters");
    }
    let server = [
        document.server_name,
        document.server_path,
        document.server_description,
    ]
    .into_iter()
    .chain(document.server_tags.iter().map(String::as_str))
    .any(&mut holds);
    if server {
        fields.push("server");
    }
    fields
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "hybrid_tests.rs"]
mod hybrid_tests;
