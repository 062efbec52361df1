//! Lexical tool search for the `intelligent_tool_finder` tool: an agent describes a task in
//! plain words and gets back the few tools, among possibly thousands, most likely to do it.
//!
//! The ranking is field-weighted BM25 (BM25F-style) over one document per tool, built from
//! the tool's name, title, description and parameters plus its server's name, path,
//! description and tags. Like the Python gateway's finder it works in two stages: the
//! servers most relevant to the query are chosen first, then the best tools among theirs.
//!
//! The function is pure and needs no index: every call tokenises the documents again, but
//! only counts the (few) query terms, so the cost is one linear pass over the text with no
//! allocation per token. A semantic ranker is meant to implement the same contract
//! ([`rank_tools`] taking [`ToolDocument`]s and returning [`ToolHit`]s).

use std::collections::HashMap;

use serde_json::Value;

use crate::model::Tool;

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
/// How much a server's own text adds to its rank, at full coverage of the query.
const SERVER_MATCH_BONUS: f64 = 0.25;
/// Distinct query terms considered; bounds the per-token cost of a very long query.
const MAX_QUERY_TERMS: usize = 64;

/// Ranks like the Python gateway's finder: picks the `top_k_services` servers most relevant
/// to the query (by their best tool's score plus how much of the query their own text
/// covers), then returns the `top_n_tools` best tools among those servers' tools, best
/// first. Ties are broken by server path, then tool name, then index, so the order never
/// depends on the order of `documents`' equals. Tools that match no query term are never
/// returned; a query with no searchable words (empty, or stop words only) returns nothing.
pub fn rank_tools(
    query: &str,
    documents: &[ToolDocument<'_>],
    top_k_services: usize,
    top_n_tools: usize,
) -> Vec<ToolHit> {
    let terms = query_terms(query);
    if top_k_services == 0 || top_n_tools == 0 || documents.is_empty() || terms.is_empty() {
        return Vec::new();
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
                best: 0.0,
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
                server,
                length,
                tf_start,
                score: 0.0,
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
        return Vec::new();
    }
    let average_length = (total_length / n_docs).max(f64::MIN_POSITIVE);

    for candidate in &mut candidates {
        let norm = K1 * (1.0 - B + B * candidate.length / average_length);
        let tf = &candidate_tf[candidate.tf_start..][..n_terms];
        let raw: f64 = tf
            .iter()
            .zip(&idf)
            .map(|(&tf, &idf)| idf * tf * (K1 + 1.0) / (tf + norm))
            .sum();
        candidate.score = (raw / best_possible).clamp(0.0, 1.0);
        let best = &mut servers[candidate.server].best;
        *best = best.max(candidate.score);
    }

    // Servers: best tool first, nudged by how much of the query the server's text covers.
    let mut ranked: Vec<(usize, f64)> = servers
        .iter()
        .enumerate()
        .filter(|(_, s)| s.best > 0.0)
        .map(|(id, s)| {
            let tf = &server_tf[s.tf_start..][..n_terms];
            let covered: f64 = tf
                .iter()
                .zip(&idf)
                .filter(|(tf, _)| **tf > 0.0)
                .map(|(_, idf)| idf)
                .sum();
            (id, s.best + SERVER_MATCH_BONUS * covered / idf_total)
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| servers[a.0].path.cmp(servers[b.0].path))
    });
    let mut chosen = vec![false; servers.len()];
    for (id, _) in ranked.iter().take(top_k_services) {
        chosen[*id] = true;
    }

    candidates.retain(|c| chosen[c.server] && c.score > 0.0);
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| servers[a.server].path.cmp(servers[b.server].path))
            .then_with(|| {
                documents[a.index]
                    .tool
                    .name
                    .cmp(&documents[b.index].tool.name)
            })
            .then_with(|| a.index.cmp(&b.index))
    });
    candidates
        .iter()
        .take(top_n_tools)
        .map(|c| ToolHit {
            index: c.index,
            score: c.score,
        })
        .collect()
}

/// What is known of one server while ranking.
struct ServerStats<'a> {
    path: &'a str,
    /// Unweighted number of terms in the server's text.
    length: f64,
    /// Start of its unweighted term counts in the shared vector.
    tf_start: usize,
    /// Score of its best tool.
    best: f64,
}

/// A tool that matched at least one query term.
struct Candidate {
    index: usize,
    server: usize,
    /// Weighted number of terms in the whole document.
    length: f64,
    /// Start of its weighted term counts in the shared vector.
    tf_start: usize,
    score: f64,
}

/// The query's distinct terms (the first [`MAX_QUERY_TERMS`]), sorted for binary search.
fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut word = String::new();
    for_each_term(query, &mut word, &mut |term| {
        if terms.len() < MAX_QUERY_TERMS && !terms.iter().any(|t| t == term) {
            terms.push(term.to_owned());
        }
    });
    terms.sort_unstable();
    terms
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

/// Calls `emit` with every searchable term of `text`: words split on non-alphanumerics and
/// at camelCase boundaries (`getPullRequest`, `HTTPServer`), lowercased, stemmed, without
/// stop words and single characters. One pass; `word` is scratch space, reused so that no
/// token allocates.
fn for_each_term(text: &str, word: &mut String, emit: &mut impl FnMut(&str)) {
    word.clear();
    let mut ascii = true;
    let mut previous = ' ';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_alphanumeric() {
            emit_word(word, ascii, emit);
            ascii = true;
            continue;
        }
        if c.is_uppercase()
            && !word.is_empty()
            && (!previous.is_uppercase() || chars.peek().is_some_and(|n| n.is_lowercase()))
        {
            emit_word(word, ascii, emit);
            ascii = true;
        }
        if c.is_ascii() {
            word.push(c.to_ascii_lowercase());
        } else {
            ascii = false;
            word.extend(c.to_lowercase());
        }
        previous = c;
    }
    emit_word(word, ascii, emit);
}

/// Emits the lowercased `word` unless it is not worth searching, then clears it.
fn emit_word(word: &mut String, ascii: bool, emit: &mut impl FnMut(&str)) {
    let single = if ascii {
        word.len() < 2
    } else {
        word.chars().nth(1).is_none()
    };
    if !single && !is_stop_word(word) {
        if ascii {
            stem(word);
        }
        emit(word);
    }
    word.clear();
}

/// Words too common in task descriptions to tell tools apart. A `match`, not a table
/// lookup: the compiler's decision tree is several times faster on the hot path.
#[rustfmt::skip]
fn is_stop_word(word: &str) -> bool {
    matches!(
        word,
        "a" | "about" | "all" | "am" | "an" | "and" | "any" | "are" | "as" | "at" | "be" |
        "been" | "but" | "by" | "can" | "could" | "do" | "does" | "for" | "from" | "has" |
        "have" | "he" | "her" | "his" | "how" | "i" | "if" | "in" | "into" | "is" | "it" |
        "its" | "me" | "my" | "of" | "on" | "or" | "our" | "please" | "she" | "should" |
        "so" | "some" | "than" | "that" | "the" | "their" | "them" | "then" | "there" |
        "these" | "they" | "this" | "those" | "to" | "us" | "was" | "we" | "were" | "what" |
        "when" | "where" | "which" | "who" | "why" | "will" | "with" | "would" | "you" |
        "your"
    )
}

/// A light suffix stemmer, so that inflections meet (`times`/`time`, `forecasting`/
/// `forecast`, `created`/`create`). Stems need not be words, only agree with each other:
/// plurals lose `s`/`es`/`ies`, then `-ing`/`-ed` go, then a doubled final consonant and a
/// final `e` are dropped. Only for ASCII words: the suffixes are English.
fn stem(word: &mut String) {
    let len = word.len();
    if len > 4 && (word.ends_with("ies") || word.ends_with("ied")) {
        word.truncate(len - 3);
        word.push('y');
        return;
    }
    if word.ends_with("sses") {
        word.truncate(len - 2);
    } else if len > 3
        && word.ends_with('s')
        && !(word.ends_with("ss") || word.ends_with("us") || word.ends_with("is"))
    {
        word.truncate(len - 1);
    }
    let len = word.len();
    let keep = |suffix: usize| len >= suffix + 3 && has_vowel(&word[..len - suffix]);
    if word.ends_with("ing") && keep(3) {
        word.truncate(len - 3);
    } else if word.ends_with("ed") && !word.ends_with("eed") && keep(2) {
        word.truncate(len - 2);
    }
    let bytes = word.as_bytes();
    if let [.., x, y] = bytes
        && x == y
        && !b"aeiouylsz".contains(y)
        && y.is_ascii_alphabetic()
    {
        word.pop();
    }
    if word.len() >= 4 && word.ends_with('e') {
        word.pop();
    }
}

/// True if `stem` has a vowel, so `string` and `thing` keep their `ing`.
fn has_vowel(stem: &str) -> bool {
    stem.bytes().any(|b| b"aeiouy".contains(&b))
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
