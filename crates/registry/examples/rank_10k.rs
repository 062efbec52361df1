//! Times one hybrid ranking of 10 000 tools (the target: ≤ 3 ms), split into its
//! parts: the exact cosine scan of a 20 000 × 384 matrix (two texts per tool), and the BM25 pass over the
//! catalogue's index with the fusion and the two stages; and the index's build (done once
//! per registry change, off the request path). Synthetic but realistic text: 40 servers × 250 tools with
//! descriptions of about 20 words and two described parameters each.
//!
//! `cargo run --release -p mcpgw-registry --example rank_10k`

use std::time::{Duration, Instant};

use mcpgw_registry::{Candidates, LexicalIndex, Tool, ToolDocument, VectorIndex, rank_candidates};
use serde_json::json;

const SERVERS: usize = 40;
const TOOLS_PER_SERVER: usize = 250;
const DIMENSIONS: usize = 384;
const RUNS: usize = 200;

const WORDS: &[&str] = &[
    "read",
    "write",
    "file",
    "directory",
    "search",
    "web",
    "page",
    "issue",
    "pull",
    "request",
    "repository",
    "branch",
    "commit",
    "time",
    "zone",
    "weather",
    "forecast",
    "city",
    "database",
    "query",
    "table",
    "row",
    "message",
    "channel",
    "user",
    "email",
    "calendar",
    "event",
    "image",
    "render",
    "browser",
    "click",
    "navigate",
    "screenshot",
    "cluster",
    "pod",
    "deploy",
    "log",
    "metric",
    "alert",
    "ticket",
    "project",
    "note",
    "document",
    "translate",
    "summarise",
    "convert",
    "upload",
    "download",
    "payment",
    "invoice",
    "customer",
    "order",
    "price",
];

/// A deterministic pseudo-random sequence (no dependency for a benchmark).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn word(&mut self) -> &'static str {
        WORDS[self.next() as usize % WORDS.len()]
    }
    fn sentence(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| self.word())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn main() {
    let mut random = Lcg(7);
    let servers: Vec<(String, String, Vec<Tool>)> = (0..SERVERS)
        .map(|s| {
            let tools = (0..TOOLS_PER_SERVER)
                .map(|t| Tool {
                    name: format!("{}_{}_{t}", random.word(), random.word()),
                    title: None,
                    description: Some(random.sentence(20)),
                    input_schema: json!({"type": "object", "properties": {
                        random.word(): {"type": "string", "description": random.sentence(8)},
                        random.word(): {"type": "string", "description": random.sentence(8)},
                    }}),
                    output_schema: None,
                    annotations: None,
                })
                .collect();
            (format!("server-{s}"), random.sentence(12), tools)
        })
        .collect();
    let documents: Vec<ToolDocument<'_>> = servers
        .iter()
        .flat_map(|(path, description, tools)| {
            tools.iter().map(move |tool| ToolDocument {
                server_path: path,
                server_name: path,
                server_description: description,
                server_tags: &[],
                tool,
            })
        })
        .collect();
    // Two vectors per tool, as served (its full text and its summary).
    let mut matrix = VectorIndex::new(DIMENSIONS);
    for _ in 0..2 * documents.len() {
        let raw: Vec<f32> = (0..DIMENSIONS)
            .map(|_| random.next() as f32 / u32::MAX as f32 - 0.5)
            .collect();
        let norm = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
        let unit: Vec<f32> = raw.iter().map(|v| v / norm).collect();
        matrix.push(&unit);
    }
    let query_vector = matrix.row(0).map(<[f32]>::to_vec).unwrap_or_default();
    let query = "open a pull request for the branch in my repository";
    let started = Instant::now();
    let index = LexicalIndex::build(&documents);
    let build = started.elapsed();
    let rows: Vec<usize> = (0..documents.len()).collect();
    let candidates = Candidates {
        index: &index,
        documents: &documents,
        rows: &rows,
    };

    let mut scan = Vec::with_capacity(RUNS);
    let mut whole = Vec::with_capacity(RUNS);
    let mut found = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let both = matrix.scores(&query_vector);
        let cosine: Vec<f32> = both
            .chunks_exact(2)
            .map(|pair| pair[0].max(pair[1]))
            .collect();
        scan.push(started.elapsed());
        let hits = rank_candidates(query, &candidates, Some(&cosine), 3, 5);
        whole.push(started.elapsed());
        found += hits.len();
    }
    let p50 = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    println!(
        "{} tools: cosine scan p50 {:?}, whole hybrid ranking p50 {:?} ({} hits per query); \
         index built in {:?}",
        documents.len(),
        p50(scan),
        p50(whole),
        found / RUNS,
        build
    );
    println!(
        "matrix: {:.1} MiB",
        (matrix.len() * DIMENSIONS * 4) as f64 / (1024.0 * 1024.0)
    );
}
