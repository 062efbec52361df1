//! Measuring retrieval quality on `crates/discovery/eval/`: real tools of public MCP
//! servers and hand-written queries, each with the tools that answer it.
//!
//! For every query each method ranks all tools; a query counts as found at *k* when one
//! of its relevant tools is among the first *k* (`recall@k`), and its reciprocal rank is
//! 1 / the position of the first relevant tool (0 past [`DEPTH`]); MRR is the mean.
//! Methods: lexical (BM25), semantic (cosine of embeddings), hybrid (both, as served), and
//! the Python gateway's two-stage method re-created as the baseline: the 3 servers whose
//! embedded description is closest to the query, then their tools by embedding.

use std::collections::HashMap;
use std::path::Path;

use mcpgw_registry::{
    Tool, ToolDocument, VectorIndex, rank_by_scores, rank_tools, rank_tools_hybrid,
    rank_tools_weighted, server_text, tool_text,
};
use serde::Deserialize;

use crate::embed::Embedder;
use crate::error::DiscoveryError;

/// How deep a ranking is read for the reciprocal rank.
pub const DEPTH: usize = 50;
/// Shares of meaning tried by a sweep.
const SWEEP: [(f64, &str); 7] = [
    (0.3, "hybrid w=0.3"),
    (0.4, "hybrid w=0.4"),
    (0.5, "hybrid w=0.5"),
    (0.6, "hybrid w=0.6"),
    (0.8, "hybrid w=0.8"),
    (0.9, "hybrid w=0.9"),
    (1.0, "hybrid w=1.0"),
];
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
        let first = ranking.iter().take(DEPTH).position(|&index| {
            let document = &documents[index];
            query.relevant.iter().any(|relevant| {
                relevant.server == document.server_path && relevant.tool == document.tool.name
            })
        });
        if let Some(position) = first {
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

/// Scores every method; without an embedder, lexical only. With `sweep`, hybrid is also
/// scored at other shares of meaning (to choose the one served).
pub fn evaluate(
    data: &DataSet,
    embedder: Option<&dyn Embedder>,
    sweep: bool,
) -> Result<Vec<Scores>, DiscoveryError> {
    let documents = data.documents();
    let all = documents.len();
    let lexical: Vec<Vec<usize>> = data
        .queries
        .iter()
        .map(|query| indices(rank_tools(&query.query, &documents, all, DEPTH)))
        .collect();
    let mut results = vec![score("lexical", &documents, &data.queries, &lexical)];
    let Some(embedder) = embedder else {
        return Ok(results);
    };
    let tool_texts: Vec<String> = documents.iter().map(tool_text).collect();
    let tool_vectors = matrix(embedder, &tool_texts)?;
    let query_texts: Vec<String> = data.queries.iter().map(|q| q.query.clone()).collect();
    let query_vectors = embed_all(embedder, &query_texts)?;
    let server_texts: Vec<String> = data
        .servers
        .iter()
        .map(|s| server_text(&s.server.name, &s.server.description, &s.server.tags))
        .collect();
    let server_vectors = matrix(embedder, &server_texts)?;
    let no_bonus = HashMap::new();
    let (mut semantic, mut hybrid, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    for (query, vector) in data.queries.iter().zip(&query_vectors) {
        let cosine = tool_vectors.scores(vector);
        let as_scores: Vec<f64> = cosine.iter().map(|&c| f64::from(c).max(1e-9)).collect();
        semantic.push(indices(rank_by_scores(
            &documents, &as_scores, &no_bonus, all, DEPTH,
        )));
        hybrid.push(indices(rank_tools_hybrid(
            &query.query,
            &documents,
            &cosine,
            all,
            DEPTH,
        )));
        // The Python method: servers by their description first, then their tools.
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
            .map(|(index, _)| (index, cosine[index]))
            .collect();
        tools.sort_by(|a, b| b.1.total_cmp(&a.1));
        baseline.push(tools.into_iter().map(|(index, _)| index).collect());
    }
    results.push(score("semantic", &documents, &data.queries, &semantic));
    results.push(score("hybrid", &documents, &data.queries, &hybrid));
    results.push(score(
        "python two-stage (baseline)",
        &documents,
        &data.queries,
        &baseline,
    ));
    if sweep {
        for (weight, name) in SWEEP {
            let rankings: Vec<Vec<usize>> = data
                .queries
                .iter()
                .zip(&query_vectors)
                .map(|(query, vector)| {
                    let cosine = tool_vectors.scores(vector);
                    indices(rank_tools_weighted(
                        &query.query,
                        &documents,
                        &cosine,
                        weight,
                        all,
                        DEPTH,
                    ))
                })
                .collect();
            results.push(score(name, &documents, &data.queries, &rankings));
        }
    }
    Ok(results)
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
        let results = evaluate(&data, None, false).unwrap();
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
