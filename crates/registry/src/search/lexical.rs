//! Field-weighted BM25 (BM25F-style) scores of every tool document for one query, and how
//! much of the query each server's own text covers.

use std::collections::HashMap;

use serde_json::Value;

use super::ToolDocument;
use super::terms::{for_each_term, query_terms};
use crate::model::Tool;

/// BM25 term-frequency saturation.
const K1: f64 = 1.2;
/// BM25 length normalisation.
const B: f64 = 0.75;
/// Weight of a term in the tool's name or title: they say what the tool does.
const W_NAME: f64 = 3.0;
/// Weight of a term in the tool's description.
const W_DESCRIPTION: f64 = 2.0;
/// Weight of a term in a parameter name.
const W_PARAM_NAME: f64 = 1.5;
/// Weight of a term in a parameter description.
const W_PARAM_DESCRIPTION: f64 = 1.0;
/// Weight of a term in the server's name, path, description or tags: shared by all its
/// tools, so it tells them apart from other servers' tools but not from each other.
const W_SERVER: f64 = 0.5;

/// What a query scored.
pub(super) struct Lexical<'a> {
    /// One score per document, in `0..=1`: the share of the best score the query's known
    /// terms could reach (0 for a document that matches no term).
    pub scores: Vec<f64>,
    /// Per server path, the share of the query (by term weight) its own text covers.
    pub coverage: HashMap<&'a str, f64>,
}

/// Scores every document against `query`.
pub(super) fn score<'a>(query: &str, documents: &[ToolDocument<'a>]) -> Lexical<'a> {
    let mut lexical = Lexical {
        scores: vec![0.0; documents.len()],
        coverage: HashMap::new(),
    };
    let terms = query_terms(query);
    if documents.is_empty() || terms.is_empty() {
        return lexical;
    }
    let n_terms = terms.len();
    let mut word = String::new();

    let mut server_ids: HashMap<&str, usize> = HashMap::new();
    let mut servers: Vec<ServerStats<'_>> = Vec::new();
    let mut server_tf: Vec<f64> = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut candidate_tf: Vec<f64> = Vec::new();
    let mut total_length = 0.0;

    for (index, doc) in documents.iter().enumerate() {
        let server = *server_ids.entry(doc.server_path).or_insert_with(|| {
            let start = server_tf.len();
            server_tf.resize(start + n_terms, 0.0);
            let tf = &mut server_tf[start..];
            let mut length = 0.0;
            for text in [doc.server_name, doc.server_path, doc.server_description]
                .into_iter()
                .chain(doc.server_tags.iter().map(String::as_str))
            {
                length += count_terms(text, 1.0, &terms, &mut word, tf);
            }
            servers.push(ServerStats {
                path: doc.server_path,
                length,
                tf_start: start,
            });
            servers.len() - 1
        });

        let tf_start = candidate_tf.len();
        candidate_tf.resize(tf_start + n_terms, 0.0);
        let tf = &mut candidate_tf[tf_start..];
        let length =
            tool_length(doc.tool, &terms, &mut word, tf) + W_SERVER * servers[server].length;
        total_length += length;
        let shared = &server_tf[servers[server].tf_start..][..n_terms];
        for (tf, server) in tf.iter_mut().zip(shared) {
            *tf += W_SERVER * server;
        }
        if candidate_tf[tf_start..].iter().any(|&tf| tf > 0.0) {
            candidates.push(Candidate {
                index,
                length,
                tf_start,
            });
        } else {
            candidate_tf.truncate(tf_start);
        }
    }

    // Inverse document frequencies. Terms no document contains (a city name, "please")
    // say nothing about any tool, so they do not count towards the best possible score.
    let n_docs = documents.len() as f64;
    let mut idf = vec![0.0; n_terms];
    for (t, idf) in idf.iter_mut().enumerate() {
        let df = candidates
            .iter()
            .filter(|c| candidate_tf[c.tf_start + t] > 0.0)
            .count() as f64;
        if df > 0.0 {
            *idf = (1.0 + (n_docs - df + 0.5) / (df + 0.5)).ln();
        }
    }
    let idf_total: f64 = idf.iter().sum();
    let best_possible = idf_total * (K1 + 1.0);
    if best_possible <= 0.0 {
        return lexical;
    }
    let average_length = (total_length / n_docs).max(f64::MIN_POSITIVE);

    for candidate in &candidates {
        let norm = K1 * (1.0 - B + B * candidate.length / average_length);
        let tf = &candidate_tf[candidate.tf_start..][..n_terms];
        let raw: f64 = tf
            .iter()
            .zip(&idf)
            .map(|(&tf, &idf)| idf * tf * (K1 + 1.0) / (tf + norm))
            .sum();
        lexical.scores[candidate.index] = (raw / best_possible).clamp(0.0, 1.0);
    }
    for server in &servers {
        let tf = &server_tf[server.tf_start..][..n_terms];
        let covered: f64 = tf
            .iter()
            .zip(&idf)
            .filter(|(tf, _)| **tf > 0.0)
            .map(|(_, idf)| idf)
            .sum();
        lexical.coverage.insert(server.path, covered / idf_total);
    }
    lexical
}

/// What is known of one server while scoring.
struct ServerStats<'a> {
    path: &'a str,
    /// Unweighted number of terms in the server's text.
    length: f64,
    /// Start of its unweighted term counts in the shared vector.
    tf_start: usize,
}

/// A tool that matched at least one query term.
struct Candidate {
    index: usize,
    /// Weighted number of terms in the whole document.
    length: f64,
    /// Start of its weighted term counts in the shared vector.
    tf_start: usize,
}

/// Adds the weighted counts of the tool's own fields to `tf`; returns their weighted length.
fn tool_length(tool: &Tool, terms: &[String], word: &mut String, tf: &mut [f64]) -> f64 {
    let mut length = count_terms(&tool.name, W_NAME, terms, word, tf);
    if let Some(title) = &tool.title {
        length += count_terms(title, W_NAME, terms, word, tf);
    }
    if let Some(description) = &tool.description {
        length += count_terms(description, W_DESCRIPTION, terms, word, tf);
    }
    if let Some(properties) = tool
        .input_schema
        .get("properties")
        .and_then(Value::as_object)
    {
        for (name, property) in properties {
            length += count_terms(name, W_PARAM_NAME, terms, word, tf);
            if let Some(text) = property.get("description").and_then(Value::as_str) {
                length += count_terms(text, W_PARAM_DESCRIPTION, terms, word, tf);
            }
        }
    }
    length
}

/// Adds `weight` to `tf[i]` for every occurrence of `terms[i]` in `text`; returns the
/// weighted number of terms in `text`.
fn count_terms(
    text: &str,
    weight: f64,
    terms: &[String],
    word: &mut String,
    tf: &mut [f64],
) -> f64 {
    let mut length = 0.0;
    for_each_term(text, word, &mut |term| {
        length += weight;
        if let Ok(i) = terms.binary_search_by(|t| t.as_str().cmp(term)) {
            tf[i] += weight;
        }
    });
    length
}
