//! Two checks of the evaluation that keep tuning honest: the held-out score of a chosen
//! parameter ([`holdout`]), and the list of queries a method misses ([`misses`]), to be read
//! before anything is tuned.

use mcpgw_registry::ToolDocument;

use crate::eval::{DEPTH, EvalQuery, Scores, first_relevant, score};

/// Scores a parameter choice on queries it was not chosen on. `swept[p][q]` is the ranking
/// of query `q` with parameter `parameters[p]`. The parameter is chosen on the even-numbered
/// queries (best recall@5, then MRR, then the first listed) and its rankings of the
/// odd-numbered queries are kept; then the other way round. The returned scores are over
/// all queries, each ranked with a parameter chosen without it; also returned are the two
/// choices (on the even queries, then on the odd). With 214 queries a difference of one
/// query is 0.005 of recall, so a choice that only fits noise shows up here as a drop.
pub fn holdout(
    documents: &[ToolDocument<'_>],
    queries: &[EvalQuery],
    parameters: &[f64],
    swept: &[Vec<Vec<usize>>],
) -> (Scores, Vec<f64>) {
    let mut held_out: Vec<Vec<usize>> = vec![Vec::new(); queries.len()];
    let mut chosen = Vec::new();
    for parity in [0, 1] {
        let mut best: Option<(usize, (usize, f64))> = None;
        for (p, rankings) in swept.iter().enumerate() {
            let (mut found, mut reciprocal) = (0, 0.0);
            for (query, ranking) in queries.iter().zip(rankings).skip(parity).step_by(2) {
                if let Some(position) = first_relevant(documents, query, ranking) {
                    found += usize::from(position < 5);
                    reciprocal += 1.0 / (position as f64 + 1.0);
                }
            }
            let better = best.is_none_or(|(_, (best_found, best_reciprocal))| {
                found > best_found || (found == best_found && reciprocal > best_reciprocal)
            });
            if better {
                best = Some((p, (found, reciprocal)));
            }
        }
        let Some((p, _)) = best else {
            continue;
        };
        chosen.extend(parameters.get(p).copied());
        for (q, ranking) in swept[p].iter().enumerate().skip(1 - parity).step_by(2) {
            held_out[q] = ranking.clone();
        }
    }
    let scores = score(
        "hybrid, w chosen on the other half (held out)",
        documents,
        queries,
        &held_out,
    );
    (scores, chosen)
}

/// One paragraph per query whose ranking has none of its relevant tools in the first five:
/// the query, the rank of its first relevant tool (or "none in the first 50"), its relevant
/// tools, and the five tools ranked first instead.
pub fn misses(
    documents: &[ToolDocument<'_>],
    queries: &[EvalQuery],
    rankings: &[Vec<usize>],
) -> Vec<String> {
    let name = |index: usize| {
        documents
            .get(index)
            .map(|document| format!("{}/{}", document.server_path, document.tool.name))
            .unwrap_or_default()
    };
    queries
        .iter()
        .zip(rankings)
        .filter_map(|(query, ranking)| {
            let first = first_relevant(documents, query, ranking);
            if first.is_some_and(|position| position < 5) {
                return None;
            }
            let rank = first.map_or(format!("none in the first {DEPTH}"), |position| {
                format!("first relevant at {}", position + 1)
            });
            let relevant: Vec<String> = query
                .relevant
                .iter()
                .map(|relevant| format!("{}/{}", relevant.server, relevant.tool))
                .collect();
            let top: Vec<String> = ranking.iter().take(5).map(|&index| name(index)).collect();
            Some(format!(
                "- {:?} ({rank})\n  relevant: {}\n  top 5: {}\n",
                query.query,
                relevant.join(", "),
                top.join(", ")
            ))
        })
        .collect()
}
