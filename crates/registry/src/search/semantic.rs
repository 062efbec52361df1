//! The semantic side of tool search, as the registry sees it: [`SemanticIndex`] is what a
//! loaded embedding model provides (`crates/discovery`), and [`find_tools`] ranks with it
//! when there is one, and by words alone when there is none (no model fetched yet, or it
//! failed to load): search always answers.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use serde_json::Value;

use super::{Candidates, ToolDocument, ToolHit, rank_candidates};

/// How a search was ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// Words only (BM25).
    Lexical,
    /// Words and meaning (BM25 fused with embedding similarity).
    Hybrid,
}

impl SearchMode {
    /// The name used in API answers (`search_mode`).
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Lexical => "lexical",
            SearchMode::Hybrid => "hybrid",
        }
    }
}

/// Sentence embeddings of the registry's tools, and of queries.
#[async_trait]
pub trait SemanticIndex: Send + Sync {
    /// The model's name (for answers and logs).
    fn model(&self) -> &str;

    /// The query's embedding, computed away from the async runtime's threads (it takes
    /// milliseconds of CPU); `None` when it cannot be had now.
    async fn embed_query(&self, query: &str) -> Option<Vec<f32>>;

    /// The cosine similarity of `query` (an embedding) to each document, in order: the best
    /// over the document's embedded texts ([`tool_texts`]; see [`super::best_cosine`]); 0
    /// for a document not embedded yet (it is then found by words only).
    fn similarities(&self, query: &[f32], documents: &[ToolDocument<'_>]) -> Vec<f32>;

    /// The cosine similarity of `query` to each server's own text ([`server_text`]: name,
    /// description, tags), by path, in order; 0 for a server not embedded yet.
    fn server_similarities(&self, query: &[f32], servers: &[&str]) -> Vec<f32>;
}

/// Where the semantic index is put once a model is loaded (it may never be): cheap to
/// clone, read on every search.
#[derive(Clone, Default)]
pub struct SemanticSlot(Arc<RwLock<Option<Arc<dyn SemanticIndex>>>>);

impl SemanticSlot {
    /// Puts `index` in force for every search from now on.
    pub fn set(&self, index: Arc<dyn SemanticIndex>) {
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(index);
        }
    }

    /// The index in force, if any.
    pub fn get(&self) -> Option<Arc<dyn SemanticIndex>> {
        self.0.read().ok().and_then(|slot| slot.clone())
    }
}

/// Ranks a caller's `candidates` for `query`: hybrid when `semantic` is given and can embed
/// the query, lexical otherwise. Two stages, as [`rank_tools`](super::rank_tools).
pub async fn find_tools(
    query: &str,
    candidates: &Candidates<'_>,
    semantic: Option<&dyn SemanticIndex>,
    top_k_services: usize,
    top_n_tools: usize,
) -> (Vec<ToolHit>, SearchMode) {
    if let Some(index) = semantic
        && let Some(vector) = index.embed_query(query).await
    {
        let cosine = index.similarities(&vector, candidates.documents);
        let hits = rank_candidates(
            query,
            candidates,
            Some(&cosine),
            top_k_services,
            top_n_tools,
        );
        return (hits, SearchMode::Hybrid);
    }
    let hits = rank_candidates(query, candidates, None, top_k_services, top_n_tools);
    (hits, SearchMode::Lexical)
}

/// The text a tool is embedded by: its server's name, the tool's name split into words,
/// its title and description, and its parameters' names and descriptions. One function,
/// so that the index, its cache keys and the evaluation embed the same text.
pub fn tool_text(document: &ToolDocument<'_>) -> String {
    let tool = document.tool;
    let mut parts: Vec<String> = vec![
        document.server_name.to_owned(),
        split_identifier(&tool.name),
    ];
    parts.extend(tool.title.clone());
    parts.extend(tool.description.clone());
    if let Some(properties) = tool
        .input_schema
        .get("properties")
        .and_then(Value::as_object)
    {
        for (name, property) in properties {
            parts.push(split_identifier(name));
            if let Some(text) = property.get("description").and_then(Value::as_str) {
                parts.push(text.to_owned());
            }
        }
    }
    parts.retain(|part| !part.trim().is_empty());
    parts.join(". ")
}

/// The short text a tool is also embedded by: the tool's name split into words, its title
/// and description, nothing else. Mean pooling over a long text (parameters, server name)
/// blurs what the tool does; on the evaluation set this summary alone ranks the right tool
/// first more often than [`tool_text`], and the better of the two cosines finds more tools
/// in the first five than either (`bench/RESULTS.md`).
pub fn tool_summary(document: &ToolDocument<'_>) -> String {
    let tool = document.tool;
    let mut parts = vec![split_identifier(&tool.name)];
    parts.extend(tool.title.clone());
    parts.extend(tool.description.clone());
    parts.retain(|part| !part.trim().is_empty());
    parts.join(". ")
}

/// Every text a tool is embedded by, [`tool_text`] first, then [`tool_summary`]: one
/// function, so that the index and the evaluation embed the same texts.
pub fn tool_texts(document: &ToolDocument<'_>) -> [String; 2] {
    [tool_text(document), tool_summary(document)]
}

/// The text a server is embedded by: name, description and tags.
pub fn server_text(name: &str, description: &str, tags: &[String]) -> String {
    let mut parts = vec![name.to_owned(), description.to_owned()];
    if !tags.is_empty() {
        parts.push(tags.join(", "));
    }
    parts.retain(|part| !part.trim().is_empty());
    parts.join(". ")
}

/// `get_pullRequest-list` → `get pull request list`: identifiers read as words.
fn split_identifier(name: &str) -> String {
    let mut words = String::with_capacity(name.len() + 8);
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !words.ends_with(' ') && !words.is_empty() {
                words.push(' ');
            }
        } else {
            if c.is_uppercase()
                && previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                && !words.ends_with(' ')
            {
                words.push(' ');
            }
            words.extend(c.to_lowercase());
        }
        previous = Some(c);
    }
    words.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Tool;

    #[test]
    fn a_tool_reads_as_words() {
        assert_eq!(
            split_identifier("get_pullRequest-list"),
            "get pull request list"
        );
        assert_eq!(
            split_identifier("current_time_by_timezone"),
            "current time by timezone"
        );
        let tool = Tool {
            name: "current_time_by_timezone".into(),
            title: Some("Current time".into()),
            description: Some("Tells the time".into()),
            input_schema: json!({"properties": {"tz_name": {"description": "IANA zone"}}}),
            output_schema: None,
            annotations: None,
        };
        let document = ToolDocument {
            server_path: "clock",
            server_name: "Clock",
            server_description: "ignored here",
            server_tags: &[],
            tool: &tool,
        };
        assert_eq!(
            tool_text(&document),
            "Clock. current time by timezone. Current time. Tells the time. tz name. IANA zone"
        );
        assert_eq!(
            tool_summary(&document),
            "current time by timezone. Current time. Tells the time"
        );
        assert_eq!(tool_texts(&document)[0], tool_text(&document));
        assert_eq!(server_text("Clock", "", &["time".into()]), "Clock. time");
    }
}
