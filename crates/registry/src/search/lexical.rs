//! [`LexicalIndex`]: field-weighted BM25 (BM25F-style) over tool documents, tokenised once
//! when a catalogue changes rather than on every query.
//!
//! Building reads every document's text once (name, title, description, parameters, and
//! its server's text) into weighted term counts and per-term postings. A query then only
//! walks the postings of its own few terms, so ranking 10 000 tools costs microseconds
//! instead of re-tokenising megabytes of text. Scores are computed over the rows a caller
//! may see, and only those: document frequencies, the average length and the server
//! coverage come from the caller's rows alone, so a tool hidden from a caller moves no
//! score of theirs (scoring rows through a big index gives exactly the scores of an index
//! built from those rows only; tested).

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
/// Marks a row the caller does not see.
const HIDDEN: u32 = u32::MAX;

/// What a query scored, for the rows it was asked about.
pub(super) struct Lexical<'a> {
    /// One score per requested row, in `0..=1`: the share of the best score the query's
    /// known terms could reach (0 for a row that matches no term).
    pub scores: Vec<f64>,
    /// Per server path (of the requested rows), the share of the query (by term weight)
    /// its own text covers.
    pub coverage: HashMap<&'a str, f64>,
}

/// Tool documents tokenised for BM25F. Rows are the documents' positions at build time.
#[derive(Debug, Default)]
pub struct LexicalIndex {
    /// Term → its id.
    vocabulary: HashMap<String, u32>,
    /// Per term id, the rows holding it with their weighted count (server text included),
    /// in row order.
    postings: Vec<Vec<(u32, f64)>>,
    /// Per row, its weighted length (server text included).
    lengths: Vec<f64>,
    /// Per row, its server's number.
    server_of: Vec<u32>,
    /// Per server number, its path.
    server_paths: Vec<String>,
    /// Per server number, the sorted ids of the terms its own text holds.
    server_terms: Vec<Vec<u32>>,
}

impl LexicalIndex {
    /// Tokenises `documents`; row `i` is `documents[i]`. Documents sharing a server path
    /// are one server, whose text is read from the first of them.
    pub fn build(documents: &[ToolDocument<'_>]) -> LexicalIndex {
        let mut index = LexicalIndex::default();
        let mut server_ids: HashMap<&str, u32> = HashMap::new();
        // Per server: unweighted term counts and length, to be added to each of its tools.
        let mut server_counts: Vec<(Vec<(u32, f64)>, f64)> = Vec::new();
        let mut word = String::new();
        let mut counts: HashMap<u32, f64> = HashMap::new();
        for (row, doc) in documents.iter().enumerate() {
            let server = match server_ids.get(doc.server_path) {
                Some(&server) => server,
                None => {
                    counts.clear();
                    let mut length = 0.0;
                    for text in [doc.server_name, doc.server_path, doc.server_description]
                        .into_iter()
                        .chain(doc.server_tags.iter().map(String::as_str))
                    {
                        length += index.count(text, 1.0, &mut word, &mut counts);
                    }
                    let mut terms: Vec<(u32, f64)> = counts.drain().collect();
                    terms.sort_unstable_by_key(|(term, _)| *term);
                    let server = index.server_paths.len() as u32;
                    index.server_paths.push(doc.server_path.to_owned());
                    index
                        .server_terms
                        .push(terms.iter().map(|(term, _)| *term).collect());
                    server_counts.push((terms, length));
                    server_ids.insert(doc.server_path, server);
                    server
                }
            };
            counts.clear();
            let (shared, server_length) = &server_counts[server as usize];
            let length =
                index.count_tool(doc.tool, &mut word, &mut counts) + W_SERVER * server_length;
            for (term, count) in shared {
                *counts.entry(*term).or_insert(0.0) += W_SERVER * count;
            }
            let row = row as u32;
            for (term, count) in counts.drain() {
                index.postings[term as usize].push((row, count));
            }
            index.lengths.push(length);
            index.server_of.push(server);
        }
        for postings in &mut index.postings {
            postings.sort_unstable_by_key(|(row, _)| *row);
        }
        index
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    /// Heap bytes held (capacities; the vocabulary's table counted by its entries), for
    /// memory reports.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let vocabulary: usize = self
            .vocabulary
            .keys()
            .map(|term| term.capacity() + size_of::<(String, u32)>() + 1)
            .sum();
        let postings: usize = self
            .postings
            .iter()
            .map(|list| list.capacity() * size_of::<(u32, f64)>() + size_of::<Vec<(u32, f64)>>())
            .sum();
        let servers: usize = self
            .server_paths
            .iter()
            .zip(&self.server_terms)
            .map(|(path, terms)| path.capacity() + terms.capacity() * size_of::<u32>() + 48)
            .sum();
        vocabulary
            + postings
            + servers
            + self.lengths.capacity() * size_of::<f64>()
            + self.server_of.capacity() * size_of::<u32>()
    }

    /// True when no document was indexed.
    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// Scores the rows `rows` (each below [`len`](Self::len), none twice) against `query`,
    /// as if they were the whole catalogue. `scores[i]` is `rows[i]`'s.
    pub(super) fn score(&self, query: &str, rows: &[usize]) -> Lexical<'_> {
        let mut lexical = Lexical {
            scores: vec![0.0; rows.len()],
            coverage: HashMap::new(),
        };
        let terms: Vec<Option<u32>> = query_terms(query)
            .iter()
            .map(|term| self.vocabulary.get(term.as_str()).copied())
            .collect();
        if rows.is_empty() || terms.iter().all(Option::is_none) {
            return lexical;
        }
        let mut position = vec![HIDDEN; self.len()];
        let mut total_length = 0.0;
        for (i, &row) in rows.iter().enumerate() {
            if let Some(slot) = position.get_mut(row) {
                *slot = i as u32;
                total_length += self.lengths[row];
            }
        }
        let visible = |row: u32| position[row as usize] != HIDDEN;

        // Inverse document frequencies over the caller's rows. Terms none of them holds (a
        // city name, "please") say nothing, so they do not count towards the best score.
        let n_docs = rows.len() as f64;
        let idf: Vec<f64> = terms
            .iter()
            .map(|term| {
                let df = term.map_or(0, |term| {
                    self.postings[term as usize]
                        .iter()
                        .filter(|(row, _)| visible(*row))
                        .count()
                }) as f64;
                if df > 0.0 {
                    (1.0 + (n_docs - df + 0.5) / (df + 0.5)).ln()
                } else {
                    0.0
                }
            })
            .collect();
        let idf_total: f64 = idf.iter().sum();
        let best_possible = idf_total * (K1 + 1.0);
        if best_possible <= 0.0 {
            return lexical;
        }
        let average_length = (total_length / n_docs).max(f64::MIN_POSITIVE);

        // Term by term, in query-term order, so that each row's sum is added up in the
        // same order whatever the catalogue.
        let mut raw = vec![0.0; rows.len()];
        for (term, &idf) in terms.iter().zip(&idf) {
            let Some(term) = term else { continue };
            for &(row, tf) in &self.postings[*term as usize] {
                let slot = position[row as usize];
                if slot == HIDDEN {
                    continue;
                }
                let norm = K1 * (1.0 - B + B * self.lengths[row as usize] / average_length);
                raw[slot as usize] += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        for (score, raw) in lexical.scores.iter_mut().zip(raw) {
            *score = (raw / best_possible).clamp(0.0, 1.0);
        }
        for &row in rows {
            let Some(&server) = self.server_of.get(row) else {
                continue;
            };
            let path = self.server_paths[server as usize].as_str();
            if lexical.coverage.contains_key(path) {
                continue;
            }
            let own = &self.server_terms[server as usize];
            let covered: f64 = terms
                .iter()
                .zip(&idf)
                .filter(|(term, _)| term.is_some_and(|term| own.binary_search(&term).is_ok()))
                .map(|(_, idf)| idf)
                .sum();
            lexical.coverage.insert(path, covered / idf_total);
        }
        lexical
    }

    /// Adds the weighted counts of the tool's own fields to `counts`; returns their
    /// weighted length.
    fn count_tool(
        &mut self,
        tool: &Tool,
        word: &mut String,
        counts: &mut HashMap<u32, f64>,
    ) -> f64 {
        let mut length = self.count(&tool.name, W_NAME, word, counts);
        if let Some(title) = &tool.title {
            length += self.count(title, W_NAME, word, counts);
        }
        if let Some(description) = &tool.description {
            length += self.count(description, W_DESCRIPTION, word, counts);
        }
        if let Some(properties) = tool
            .input_schema
            .get("properties")
            .and_then(Value::as_object)
        {
            for (name, property) in properties {
                length += self.count(name, W_PARAM_NAME, word, counts);
                if let Some(text) = property.get("description").and_then(Value::as_str) {
                    length += self.count(text, W_PARAM_DESCRIPTION, word, counts);
                }
            }
        }
        length
    }

    /// Adds `weight` to `counts[term]` for every term of `text` (new terms join the
    /// vocabulary); returns the weighted number of terms in `text`.
    fn count(
        &mut self,
        text: &str,
        weight: f64,
        word: &mut String,
        counts: &mut HashMap<u32, f64>,
    ) -> f64 {
        let mut length = 0.0;
        for_each_term(text, word, &mut |term| {
            length += weight;
            let id = match self.vocabulary.get(term) {
                Some(&id) => id,
                None => {
                    let id = self.postings.len() as u32;
                    self.vocabulary.insert(term.to_owned(), id);
                    self.postings.push(Vec::new());
                    id
                }
            };
            *counts.entry(id).or_insert(0.0) += weight;
        });
        length
    }
}
