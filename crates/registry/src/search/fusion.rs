//! How words and meaning are fused into one score per tool: a weighted sum of the lexical
//! score (BM25F, already in `0..=1`) and the tool's best cosine similarity to the query.
//!
//! Kept as one pure function so that the served ranking, the evaluation and the tests all
//! fuse the same way. Alternatives measured on the evaluation set (`crates/discovery/eval/`,
//! numbers in `bench/RESULTS.md`) and not kept, because none raised recall@5 on the held-out
//! half: reciprocal-rank fusion (k from 5 to 100), min–max normalisation of the cosines
//! (and of BM25) per query, powers of either score, and a bonus for the cosine between the
//! query and the tool's server text. What did pay was a better cosine, not a better sum:
//! each tool is embedded twice (its full text and a short summary of name, title and
//! description, see [`super::tool_texts`]) and the better of the two cosines is fused.

/// The share of a fused score that comes from meaning (cosine similarity); the rest comes
/// from words (BM25). Chosen by `search-eval --sweep` on the evaluation set, where it is
/// also checked on a two-fold split (choose on one half of the queries, score the other).
pub const SEMANTIC_WEIGHT: f64 = 0.75;

/// Fuses per-document scores: `fused[i] = w × max(cosine[i], 0) + (1 − w) × lexical[i]`,
/// with `w = semantic_weight` (clamped to `0..=1`).
///
/// - `lexical[i]`: document `i`'s lexical score in `0..=1` (0 when no query term matches);
///   it sets the number of documents.
/// - `cosine[i]`: the best cosine similarity between the query's embedding and document
///   `i`'s embedded texts; missing entries (a tool not embedded yet) count as 0, so the
///   tool is still found by its words. Negative similarities count as 0: "unrelated" and
///   "opposite" are the same thing for search.
///
/// Every result is in `0..=1`, higher is better, and 0 means the document matched neither
/// by words nor by meaning (callers leave it out). Scores are comparable within one query.
pub fn fuse(lexical: &[f64], cosine: &[f32], semantic_weight: f64) -> Vec<f64> {
    let weight = if semantic_weight.is_nan() {
        SEMANTIC_WEIGHT
    } else {
        semantic_weight.clamp(0.0, 1.0)
    };
    lexical
        .iter()
        .enumerate()
        .map(|(index, &words)| {
            let meaning = cosine
                .get(index)
                .map_or(0.0, |&cosine| f64::from(cosine).clamp(0.0, 1.0));
            let words = if words.is_nan() {
                0.0
            } else {
                words.clamp(0.0, 1.0)
            };
            (weight * meaning + (1.0 - weight) * words).clamp(0.0, 1.0)
        })
        .collect()
}

/// The better of two cosines per document (`a[i]` and `b[i]`; a missing entry counts as
/// the other's): the similarity of a tool embedded as several texts is that of its closest
/// text, since a short summary and a full text each miss queries the other catches.
pub fn best_cosine(a: &[f32], b: &[f32]) -> Vec<f32> {
    (0..a.len().max(b.len()))
        .map(|index| match (a.get(index), b.get(index)) {
            (Some(&a), Some(&b)) => a.max(b),
            (Some(&one), None) | (None, Some(&one)) => one,
            (None, None) => 0.0,
        })
        .collect()
}
