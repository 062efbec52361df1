//! Lexical tool search for the `intelligent_tool_finder` tool: an agent describes a task in
//! plain words and gets back the few tools, among possibly thousands, most likely to do it.
//!
//! The ranking is field-weighted BM25 (BM25F-style) over one document per tool, built from
//! the tool's name, title, description and parameters plus its server's name, path,
//! description and tags. Like the Python gateway's finder it works in two stages: the
//! servers most relevant to the query are chosen first, then the best tools among theirs.
//!
//! The words are tokenised once per catalogue into a [`LexicalIndex`] (a query then walks
//! only its own terms' postings, [`lexical`], [`terms`]); [`rank_tools`] indexes on the
//! spot for one-off rankings. Semantic scores (cosine similarities of sentence embeddings,
//! kept in a [`VectorIndex`]) are fused with it by [`rank_candidates`] and
//! [`rank_tools_hybrid`]; any per-document scores can be ranked the same two-stage way by
//! [`rank_by_scores`].

mod catalog;
mod fusion;
mod lexical;
mod semantic;
mod terms;
mod vectors;

use std::collections::HashMap;

use crate::model::Tool;

pub use catalog::{LiveSearchCatalog, SearchCatalog, document, usable_servers};
pub use fusion::{SEMANTIC_WEIGHT, best_cosine, fuse};
pub use lexical::LexicalIndex;
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

/// A caller's view of an indexed catalogue: the documents it may see, each with its row in
/// `index`. Ranking reads only these rows, so what the caller may not see moves no score.
#[derive(Debug, Clone, Copy)]
pub struct Candidates<'a> {
    /// The catalogue, tokenised.
    pub index: &'a LexicalIndex,
    /// The documents the caller may see.
    pub documents: &'a [ToolDocument<'a>],
    /// `rows[i]` is `documents[i]`'s row in `index`.
    pub rows: &'a [usize],
}

/// Ranks like the Python gateway's finder, by words alone: picks the `top_k_services`
/// servers most relevant to the query (by their best tool's score plus how much of the
/// query their own text covers), then returns the `top_n_tools` best tools among those
/// servers' tools, best first. Ties are broken by server path, then tool name, then
/// index, so the order never depends on the order of `documents`' equals. Tools that match
/// no query term are never returned; a query with no searchable words (empty, or stop
/// words only) returns nothing. Tokenises `documents` first: to rank the same catalogue
/// often, build a [`LexicalIndex`] once and use [`rank_candidates`].
pub fn rank_tools(
    query: &str,
    documents: &[ToolDocument<'_>],
    top_k_services: usize,
    top_n_tools: usize,
) -> Vec<ToolHit> {
    with_index(documents, |candidates| {
        rank_candidates(query, candidates, None, top_k_services, top_n_tools)
    })
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
    with_index(documents, |candidates| {
        let lexical = candidates.index.score(query, candidates.rows);
        let fused = fuse(&lexical.scores, cosine, semantic_weight);
        rank_by_scores(
            documents,
            &fused,
            &lexical.coverage,
            top_k_services,
            top_n_tools,
        )
    })
}

/// Ranks a caller's `candidates`: by words alone without `cosine`, by words and meaning
/// (as [`rank_tools_hybrid`]) with it (`cosine[i]` for `candidates.documents[i]`).
pub fn rank_candidates(
    query: &str,
    candidates: &Candidates<'_>,
    cosine: Option<&[f32]>,
    top_k_services: usize,
    top_n_tools: usize,
) -> Vec<ToolHit> {
    let scored = score_candidates(query, candidates, cosine);
    rank_by_scores(
        candidates.documents,
        &scored.scores,
        &scored.coverage,
        top_k_services,
        top_n_tools,
    )
}

/// Every candidate's score, before the two stages pick the best.
#[derive(Debug, Clone)]
pub struct Scored<'a> {
    /// `scores[i]` is `candidates.documents[i]`'s, in `0..=1` (0: no match).
    pub scores: Vec<f64>,
    /// Per server path, the share of the query its own text covers.
    pub coverage: HashMap<&'a str, f64>,
}

/// Scores a caller's `candidates` by words, fused with meaning when `cosine` is given
/// (`cosine[i]` for `candidates.documents[i]`), as [`rank_candidates`] ranks them.
pub fn score_candidates<'a>(
    query: &str,
    candidates: &Candidates<'a>,
    cosine: Option<&[f32]>,
) -> Scored<'a> {
    let lexical = candidates.index.score(query, candidates.rows);
    let scores = match cosine {
        Some(cosine) => fuse(&lexical.scores, cosine, SEMANTIC_WEIGHT),
        None => lexical.scores,
    };
    Scored {
        scores,
        coverage: lexical.coverage,
    }
}

/// Calls `rank` with `documents` indexed on the spot, every one a candidate.
fn with_index<T>(documents: &[ToolDocument<'_>], rank: impl FnOnce(&Candidates<'_>) -> T) -> T {
    let index = LexicalIndex::build(documents);
    let rows: Vec<usize> = (0..documents.len()).collect();
    rank(&Candidates {
        index: &index,
        documents,
        rows: &rows,
    })
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
    // Best score per server. Documents come grouped by server, so the previous document's
    // entry is usually the one: one string comparison instead of a hash per document.
    let mut servers: Vec<(&str, f64)> = Vec::new();
    let mut slot_of: HashMap<&str, usize> = HashMap::new();
    let mut previous: Option<(&str, usize)> = None;
    let mut server_slots: Vec<usize> = Vec::with_capacity(documents.len());
    for (doc, &score) in documents.iter().zip(scores) {
        let slot = match previous {
            Some((path, slot)) if path == doc.server_path => slot,
            _ => *slot_of.entry(doc.server_path).or_insert_with(|| {
                servers.push((doc.server_path, 0.0));
                servers.len() - 1
            }),
        };
        previous = Some((doc.server_path, slot));
        server_slots.push(slot);
        if score > 0.0 {
            servers[slot].1 = servers[slot].1.max(score);
        }
    }
    let mut ranked: Vec<(usize, f64)> = servers
        .iter()
        .enumerate()
        .filter(|(_, (_, best))| *best > 0.0)
        .map(|(slot, (path, best))| {
            let bonus = coverage.get(path).copied().unwrap_or(0.0);
            (slot, best + SERVER_MATCH_BONUS * bonus)
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| servers[a.0].0.cmp(servers[b.0].0))
    });
    let mut chosen = vec![false; servers.len()];
    for (slot, _) in ranked.iter().take(top_k_services) {
        chosen[*slot] = true;
    }
    let mut hits: Vec<ToolHit> = scores
        .iter()
        .zip(&server_slots)
        .enumerate()
        .filter(|(_, (score, slot))| **score > 0.0 && chosen[**slot])
        .map(|(index, (&score, _))| ToolHit { index, score })
        .collect();
    let order = |a: &ToolHit, b: &ToolHit| {
        let (da, db) = (&documents[a.index], &documents[b.index]);
        b.score
            .total_cmp(&a.score)
            .then_with(|| da.server_path.cmp(db.server_path))
            .then_with(|| da.tool.name.cmp(&db.tool.name))
            .then_with(|| a.index.cmp(&b.index))
    };
    // Only the best few are wanted: select them, then sort just those (the order is
    // total, so this is the full sort's prefix).
    if hits.len() > top_n_tools {
        hits.select_nth_unstable_by(top_n_tools - 1, order);
        hits.truncate(top_n_tools);
    }
    hits.sort_by(order);
    hits
}

/// Which fields of `document` hold a term of `query` (`name`, `title`, `description`,
/// `parameters`, `server`), to tell a reader why a tool was found.
pub fn matched_fields(query: &str, document: &ToolDocument<'_>) -> Vec<&'static str> {
    let mut holds = term_finder(query);
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

/// Which of a server's own fields hold a term of `query` (`name`, `path`, `description`,
/// `tags`).
pub fn server_matched_fields(query: &str, server: &crate::model::Server) -> Vec<&'static str> {
    let mut holds = term_finder(query);
    let mut fields = Vec::new();
    for (field, found) in [
        ("name", holds(&server.name)),
        ("path", holds(&server.path)),
        ("description", holds(&server.description)),
        ("tags", server.tags.iter().any(|tag| holds(tag))),
    ] {
        if found {
            fields.push(field);
        }
    }
    fields
}

/// A test of whether a text holds one of `query`'s terms.
fn term_finder(query: &str) -> impl FnMut(&str) -> bool {
    let terms = terms::query_terms(query);
    let mut word = String::new();
    move |text: &str| {
        let mut found = false;
        terms::for_each_term(text, &mut word, &mut |term| {
            found |= terms.binary_search_by(|t| t.as_str().cmp(term)).is_ok();
        });
        found
    }
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "hybrid_tests.rs"]
mod hybrid_tests;
