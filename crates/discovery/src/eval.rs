//! Measuring retrieval quality on `crates/discovery/eval/`: real tools of public MCP
//! servers and hand-written queries, each with the tools that answer it.
//!
//! For every query each method ranks all tools; a query counts as found at *k* when one
//! of its relevant tools is among the first *k* (`recall@k`), and its reciprocal rank is
//! 1 / the position of the first relevant tool (0 past [`DEPTH`]); MRR is the mean.
//! Methods: lexical (BM25), semantic (a tool's best cosine over its embedded texts), hybrid
//! (both, as served), hybrid with the share of meaning chosen on the other half of the
//! queries ([`holdout`]), and the Python gateway's two-stage method re-created as the
//! baseline: the 3 servers whose embedded description is closest to the query, then their
//! tools by the embedding of their (one, full) text.

use std::collections::HashMap;
use std::path::Path;

use mcpgw_registry::{
    SEMANTIC_WEIGHT, Tool, ToolDocument, VectorIndex, best_cosine, rank_by_scores, rank_tools,
    rank_tools_hybrid, rank_tools_weighted, server_text, tool_texts,
};
use serde::Deserialize;

use crate::embed::Embedder;
use crate::error::DiscoveryError;
pub use crate::eval_misses::{holdout, misses};

/// How deep a ranking is read for the reciprocal rank.
pub const DEPTH: usize = 50;
/// Shares of meaning tried by a sweep and by the held-out choice.
const WEIGHTS: [f64; 8] = [0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 1.0];
/// Names of the sweep's rows, in the order of [`WEIGHTS`].
const SWEEP_NAMES: [&str; 8] = [
    "hybrid w=0.5",
    "hybrid w=0.6",
    "hybrid w=0.65",
    "hybrid w=0.7",
    "hybrid w=0.75",
    "hybrid w=0.8",
    "hybrid w=0.9",
    "hybrid w=1.0",
];
/// The share of meaning served before tools got a second vector, for comparison.
const ONE_VECTOR_WEIGHT: f64 = 0.7;
/// Servers the baseline keeps, as the Python gateway's `top_k_services` default.
const BASELINE_SERVERS: usize = 3;

/// One server of the data set.
#[derive(Debug, Deserialize)]
pub struct EvalServer {
    /// Its description.
    pub server: ServerInfo,
    /// Its tools, as published.
    pub tools: Vec<Tool>,
}

/// A server's own fields.
#[derive(Debug, Deserialize)]
pub struct ServerInfo {
    /// Its path (unique in the set).
    pub path: String,
    /// Its display name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Labels.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// One query and the tools that answer it.
#[derive(Debug, Deserialize)]
pub struct EvalQuery {
    /// As a user would ask.
    pub query: String,
    /// The tools that answer it.
    pub relevant: Vec<Relevant>,
}

/// A tool by server path and name.
#[derive(Debug, Deserialize, PartialEq, Eq, Hash)]
pub struct Relevant {
    /// The server's path.
    pub server: String,
    /// The tool's name.
    pub tool: String,
}

/// The data set.
#[derive(Debug)]
pub struct DataSet {
    /// Servers and their tools.
    pub servers: Vec<EvalServer>,
    /// Queries.
    pub queries: Vec<EvalQuery>,
}

/// Quality of one method.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// The method's name.
    pub method: &'static str,
    /// Share of queries with a relevant tool first.
    pub recall_at_1: f64,
    /// Share of queries with a relevant tool in the first five.
    pub recall_at_5: f64,
    /// Mean reciprocal rank of the first relevant tool.
    pub mrr: f64,
}

/// Reads `tools.json` and `queries.json` from `dir`.
pub fn load(dir: &Path) -> Result<DataSet, DiscoveryError> {
    let read = |name: &str| -> Result<Vec<u8>, DiscoveryError> {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| DiscoveryError::Io { path, source })
    };
    let parse = |name: &str, error: serde_json::Error| DiscoveryError::Config {
        path: dir.join(name),
        reason: error.to_string(),
    };
    let servers =
        serde_json::from_slice(&read("tools.json")?).map_err(|error| parse("tools.json", error))?;
    let queries = serde_json::from_slice(&read("queries.json")?)
        .map_err(|error| parse("queries.json", error))?;
    Ok(DataSet { servers, queries })
}

impl DataSet {
    /// One document per tool, in data-set order.
    pub fn documents(&self) -> Vec<ToolDocument<'_>> {
        self.servers
            .iter()
            .flat_map(|server| {
                server.tools.iter().map(move |tool| ToolDocument {
                    server_path: &server.server.path,
                    server_name: &server.server.name,
                    server_description: &server.server.description,
                    server_tags: &server.server.tags,
                    tool,
                })
            })
            .collect()
    }
}

/// The scores of a ranking (document indices, best first) for each query.
pub fn score(
    method: &'static str,
    documents: &[ToolDocument<'_>],
    queries: &[EvalQuery],
    rankings: &[Vec<usize>],
) -> Scores {
    let mut found_1 = 0.0;
    let mut found_5 = 0.0;
    let mut reciprocal = 0.0;
    for (query, ranking) in queries.iter().zip(rankings) {
        if let Some(position) = first_relevant(documents, query, ranking) {
            found_1 += f64::from(u8::from(position == 0));
            found_5 += f64::from(u8::from(position < 5));
            reciprocal += 1.0 / (position as f64 + 1.0);
        }
    }
    let count = queries.len().max(1) as f64;
    Scores {
        method,
        recall_at_1: found_1 / count,
        recall_at_5: found_5 / count,
        mrr: reciprocal / count,
    }
}

/// What to measure besides the methods as served.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Also score hybrid at every share of meaning in the sweep, with one text per tool,
    /// and with the served three servers (to choose what is served).
    pub sweep: bool,
    /// List the queries hybrid does not find in the first five.
    pub misses: bool,
}

/// What [`evaluate`] found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One row per method.
    pub scores: Vec<Scores>,
    /// With [`Options::misses`], one paragraph per query hybrid misses at 5.
    pub misses: Vec<String>,
    /// The shares of meaning [`holdout`] chose on the even-numbered queries and on the odd
    /// ones (empty without an embedder).
    pub holdout_weights: Vec<f64>,
}

/// The position (from 0) of the first of `query`'s relevant tools in `ranking`, read to
/// [`DEPTH`].
pub(crate) fn first_relevant(
    documents: &[ToolDocument<'_>],
    query: &EvalQuery,
    ranking: &[usize],
) -> Option<usize> {
    ranking.iter().take(DEPTH).position(|&index| {
        let document = &documents[index];
        query.relevant.iter().any(|relevant| {
            relevant.server == document.server_path && relevant.tool == document.tool.name
        })
    })
}

/// Scores every method; without an embedder, lexical only. With an embedder, also the
/// held-out check of the share of meaning: it is chosen on the even-numbered queries and
/// scored on the odd ones, and the other way round ([`holdout`]).
pub fn evaluate(
    data: &DataSet,
    embedder: Option<&dyn Embedder>,
    options: Options,
) -> Result<Report, DiscoveryError> {
    let documents = data.documents();
    let all = documents.len();
    let lexical: Vec<Vec<usize>> = data
        .queries
        .iter()
        .map(|query| indices(rank_tools(&query.query, &documents, all, DEPTH)))
        .collect();
    let mut report = Report {
        scores: vec![score("lexical", &documents, &data.queries, &lexical)],
        ..Report::default()
    };
    let Some(embedder) = embedder else {
        return Ok(report);
    };
    let [full_texts, summaries]: [Vec<String>; 2] = [0, 1].map(|view| {
        documents
            .iter()
            .map(|document| tool_texts(document)[view].clone())
            .collect()
    });
    let (full_vectors, summary_vectors) = (
        matrix(embedder, &full_texts)?,
        matrix(embedder, &summaries)?,
    );
    let query_texts: Vec<String> = data.queries.iter().map(|q| q.query.clone()).collect();
    let query_vectors = embed_all(embedder, &query_texts)?;
    let server_texts: Vec<String> = data
        .servers
        .iter()
        .map(|s| server_text(&s.server.name, &s.server.description, &s.server.tags))
        .collect();
    let server_vectors = matrix(embedder, &server_texts)?;
    // Per query: the cosine of the full text, and the best of both texts (as served).
    let cosines: Vec<(Vec<f32>, Vec<f32>)> = query_vectors
        .iter()
        .map(|vector| {
            let full = full_vectors.scores(vector);
            let best = best_cosine(&full, &summary_vectors.scores(vector));
            (full, best)
        })
        .collect();
    let hybrid_at = |weight: f64, one_vector: bool, servers: usize| -> Vec<Vec<usize>> {
        data.queries
            .iter()
            .zip(&cosines)
            .map(|(query, (full, best))| {
                let cosine = if one_vector { full } else { best };
                let hits =
                    rank_tools_weighted(&query.query, &documents, cosine, weight, servers, DEPTH);
                indices(hits)
            })
            .collect()
    };
    let no_bonus = HashMap::new();
    let (mut semantic, mut hybrid, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    for ((query, vector), (full, best)) in data.queries.iter().zip(&query_vectors).zip(&cosines) {
        let as_scores: Vec<f64> = best.iter().map(|&c| f64::from(c).max(1e-9)).collect();
        semantic.push(indices(rank_by_scores(
            &documents, &as_scores, &no_bonus, all, DEPTH,
        )));
        hybrid.push(indices(rank_tools_hybrid(
            &query.query,
            &documents,
            best,
            all,
            DEPTH,
        )));
        // The Python method: servers by their description first, then their tools by the
        // cosine of their one embedded text.
        let mut servers: Vec<(usize, f32)> = server_vectors
            .scores(vector)
            .into_iter()
            .enumerate()
            .collect();
        servers.sort_by(|a, b| b.1.total_cmp(&a.1));
        let chosen: Vec<&str> = servers
            .iter()
            .take(BASELINE_SERVERS)
            .map(|(index, _)| data.servers[*index].server.path.as_str())
            .collect();
        let mut tools: Vec<(usize, f32)> = documents
            .iter()
            .enumerate()
            .filter(|(_, document)| chosen.contains(&document.server_path))
            .map(|(index, _)| (index, full[index]))
            .collect();
        tools.sort_by(|a, b| b.1.total_cmp(&a.1));
        baseline.push(tools.into_iter().map(|(index, _)| index).collect());
    }
    let scores = &mut report.scores;
    scores.push(score("semantic", &documents, &data.queries, &semantic));
    scores.push(score("hybrid", &documents, &data.queries, &hybrid));
    let swept: Vec<Vec<Vec<usize>>> = WEIGHTS
        .iter()
        .map(|&weight| hybrid_at(weight, false, all))
        .collect();
    let (held_out, chosen) = holdout(&documents, &data.queries, &WEIGHTS, &swept);
    scores.push(held_out);
    report.holdout_weights = chosen;
    scores.push(score(
        "python two-stage (baseline)",
        &documents,
        &data.queries,
        &baseline,
    ));
    if options.sweep {
        for (name, rankings) in SWEEP_NAMES.iter().zip(&swept) {
            scores.push(score(name, &documents, &data.queries, rankings));
        }
        let one_vector = hybrid_at(ONE_VECTOR_WEIGHT, true, all);
        scores.push(score(
            "hybrid, full text only, w=0.7 (before)",
            &documents,
            &data.queries,
            &one_vector,
        ));
        let three = hybrid_at(SEMANTIC_WEIGHT, false, BASELINE_SERVERS);
        scores.push(score(
            "hybrid, top 3 servers only",
            &documents,
            &data.queries,
            &three,
        ));
    }
    if options.misses {
        report.misses = misses(&documents, &data.queries, &hybrid);
    }
    Ok(report)
}

fn indices(hits: Vec<mcpgw_registry::ToolHit>) -> Vec<usize> {
    hits.into_iter().map(|hit| hit.index).collect()
}

fn embed_all(embedder: &dyn Embedder, texts: &[String]) -> Result<Vec<Vec<f32>>, DiscoveryError> {
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    embedder.embed(&texts)
}

/// The texts' embeddings as one matrix, scored like the served index.
fn matrix(embedder: &dyn Embedder, texts: &[String]) -> Result<VectorIndex, DiscoveryError> {
    let mut index = VectorIndex::new(embedder.dimensions());
    for vector in embed_all(embedder, texts)? {
        index.push(&vector);
    }
    Ok(index)
}

/// The scores as a markdown table.
pub fn markdown(results: &[Scores]) -> String {
    let mut table = String::from("| method | recall@1 | recall@5 | MRR |\n|---|---:|---:|---:|\n");
    for result in results {
        table.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.3} |\n",
            result.method, result.recall_at_1, result.recall_at_5, result.mrr
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_set_is_whole_and_lexical_ranking_is_scored() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval");
        let data = load(&dir).unwrap();
        assert!(data.servers.len() >= 30 && data.documents().len() >= 300);
        assert!(data.queries.len() >= 150);
        let results = evaluate(&data, None, Options::default()).unwrap().scores;
        assert_eq!(results.len(), 1);
        let lexical = &results[0];
        assert!(lexical.recall_at_1 <= lexical.recall_at_5);
        assert!((0.0..=1.0).contains(&lexical.mrr));
        assert!(markdown(&results).contains("| lexical |"));
    }

    #[test]
    fn ranks_are_read_as_documented() {
        let tool = |name: &str| Tool {
            name: name.into(),
            title: None,
            description: None,
            input_schema: serde_json::json!({}),
            output_schema: None,
            annotations: None,
        };
        let tools = [tool("a"), tool("b"), tool("c")];
        let documents: Vec<ToolDocument<'_>> = tools
            .iter()
            .map(|tool| ToolDocument {
                server_path: "s",
                server_name: "s",
                server_description: "",
                server_tags: &[],
                tool,
            })
            .collect();
        let query = |tool: &str| EvalQuery {
            query: String::new(),
            relevant: vec![Relevant {
                server: "s".into(),
                tool: tool.into(),
            }],
        };
        let queries = [query("a"), query("c"), query("z")];
        let rankings = [vec![0, 1, 2], vec![0, 1, 2], vec![0, 1, 2]];
        let scores = score("test", &documents, &queries, &rankings);
        assert!((scores.recall_at_1 - 1.0 / 3.0).abs() < 1e-9);
        assert!((scores.recall_at_5 - 2.0 / 3.0).abs() < 1e-9);
        assert!((scores.mrr - (1.0 + 1.0 / 3.0) / 3.0).abs() < 1e-9);
    }
}
