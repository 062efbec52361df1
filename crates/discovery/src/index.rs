//! [`EmbeddingIndex`]: the registry's tools as sentence embeddings, kept current off the
//! request path, implementing the registry's [`SemanticIndex`].
//!
//! Each tool's texts ([`tool_texts`]: its full text and a short summary; a tool is as close
//! to a query as its closer text) and each server's own text ([`server_text`]) are
//! embedded once: vectors are kept in the database by
//! model and a SHA-256 of the text ([`EmbeddingStore`]), so a restart, or a server
//! registered again unchanged, embeds nothing. A follower task reads the registry after
//! every change, embeds only texts it has not seen (in batches, on a blocking thread), and
//! swaps in the new table; a search uses whatever table is in force, so a tool added a
//! moment ago is found by words until its vector is there. Queries are embedded on the
//! blocking pool too, a few at a time, and the last ones are remembered.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mcpgw_registry::{
    EmbeddingStore, RegistryService, SemanticIndex, Server, ToolDocument, VectorIndex, document,
    server_text, tool_texts,
};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::embed::Embedder;

/// Queries embedded at once (each takes a core for a few milliseconds).
const QUERY_CONCURRENCY: usize = 2;
/// Query embeddings remembered (agents repeat themselves).
const QUERY_CACHE: usize = 1024;
/// Texts embedded per batch by the follower.
const BATCH: usize = 64;
/// How long a vector no registry text uses is kept before it is pruned.
const PRUNE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
/// Pause after a failed registry read or embedding batch.
const RETRY: Duration = Duration::from_secs(1);

/// A unit vector, as embedded or loaded.
type Vector = Arc<[f32]>;

/// What searches read: every text's vector in one contiguous matrix, the rows of each
/// tool's texts by server path, then tool name (borrowed lookups, no key building), and the
/// row of each server's own text.
#[derive(Default)]
struct Table {
    rows: HashMap<String, HashMap<String, Vec<usize>>>,
    servers: HashMap<String, usize>,
    matrix: VectorIndex,
}

/// One text to embed: a tool's (`tool` is its name) or its server's own (`tool` is `None`).
struct Text<'a> {
    path: &'a str,
    tool: Option<&'a str>,
    hash: String,
    text: String,
}

/// Sentence embeddings of the registry's tools.
pub struct EmbeddingIndex {
    embedder: Arc<dyn Embedder>,
    store: Arc<dyn EmbeddingStore>,
    /// Vectors by text hash: everything embedded or loaded so far.
    by_hash: Mutex<HashMap<String, Vector>>,
    /// The table searches read.
    table: RwLock<Arc<Table>>,
    /// Vectors no registry text uses, since when.
    retired: Mutex<HashMap<String, Instant>>,
    /// How long an unused vector is kept.
    prune_after: Duration,
    queries: Semaphore,
    recent: Mutex<HashMap<String, Vector>>,
}

/// The SHA-256 of `text`, in hex: the cache key of its vector.
pub fn text_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl EmbeddingIndex {
    /// An index for `embedder`'s vectors, loading those already in `store`.
    pub async fn load(
        embedder: Arc<dyn Embedder>,
        store: Arc<dyn EmbeddingStore>,
    ) -> Result<Arc<EmbeddingIndex>, mcpgw_registry::StoreError> {
        Self::load_pruning_after(embedder, store, PRUNE_AFTER).await
    }

    /// [`load`](Self::load), forgetting unused vectors after `prune_after` instead of
    /// [`PRUNE_AFTER`].
    pub async fn load_pruning_after(
        embedder: Arc<dyn Embedder>,
        store: Arc<dyn EmbeddingStore>,
        prune_after: Duration,
    ) -> Result<Arc<EmbeddingIndex>, mcpgw_registry::StoreError> {
        let stored = store.load_embeddings(embedder.model_id()).await?;
        let dimensions = embedder.dimensions();
        let by_hash: HashMap<String, Vector> = stored
            .into_iter()
            .filter(|(_, vector)| vector.len() == dimensions)
            .map(|(hash, vector)| (hash, Vector::from(vector)))
            .collect();
        Ok(Arc::new(EmbeddingIndex {
            embedder,
            store,
            by_hash: Mutex::new(by_hash),
            table: RwLock::new(Arc::new(Table::default())),
            retired: Mutex::new(HashMap::new()),
            prune_after,
            queries: Semaphore::new(QUERY_CONCURRENCY),
            recent: Mutex::new(HashMap::new()),
        }))
    }

    /// Number of texts with a vector (loaded or embedded).
    pub fn known(&self) -> usize {
        self.by_hash.lock().map(|known| known.len()).unwrap_or(0)
    }

    /// Keeps the table in line with `registry`, now and after every change, until the
    /// registry goes away.
    pub fn follow(self: &Arc<Self>, registry: RegistryService) {
        let index = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut changes = registry.subscribe();
            loop {
                changes.borrow_and_update();
                let Some(current) = index.upgrade() else {
                    return;
                };
                let done = match registry.list().await {
                    Ok(servers) => current.refresh(&servers).await,
                    Err(error) => {
                        tracing::warn!(%error, "search index not refreshed; retrying");
                        false
                    }
                };
                drop(current);
                if !done {
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        });
    }

    /// Embeds what is new among `servers`' texts (every tool's, and every server's own
    /// name, description and tags), stores it, and puts the new table in force after each
    /// batch, so a large catalogue becomes searchable piece by piece. False when something
    /// failed (the next attempt finishes the job).
    pub async fn refresh(&self, servers: &[Server]) -> bool {
        let mut texts: Vec<Text<'_>> = Vec::new();
        let mut add = |path, tool, text: String| {
            texts.push(Text {
                path,
                tool,
                hash: text_hash(&text),
                text,
            });
        };
        for server in servers {
            add(
                &server.path,
                None,
                server_text(&server.name, &server.description, &server.tags),
            );
            for tool in &server.tools {
                for text in tool_texts(&document(server, tool)) {
                    add(&server.path, Some(&tool.name), text);
                }
            }
        }
        let mut missing: Vec<(String, String)> = {
            let Ok(known) = self.by_hash.lock() else {
                return false;
            };
            let mut seen = HashSet::new();
            texts
                .iter()
                .filter(|text| !known.contains_key(&text.hash) && seen.insert(text.hash.clone()))
                .map(|text| (text.hash.clone(), text.text.clone()))
                .collect()
        };
        // Shortest first, so batches hold texts of like length (little padding) and the
        // short summaries, which find most tools, are searchable soonest.
        missing.sort_by_key(|(_, text)| text.len());
        let mut complete = self.publish(&texts);
        for batch in missing.chunks(BATCH) {
            if !self.embed_batch(batch).await {
                complete = false;
                break;
            }
            complete &= self.publish(&texts);
        }
        if complete {
            self.prune(&texts).await;
        }
        complete
    }

    /// Forgets (in memory and in the store) the vectors no text of the registry has used
    /// for a while ([`PRUNE_AFTER`] by default): a server removed and registered again meanwhile embeds nothing,
    /// while edited descriptions do not pile up for ever.
    async fn prune(&self, texts: &[Text<'_>]) {
        let used: HashSet<&str> = texts.iter().map(|text| text.hash.as_str()).collect();
        let now = Instant::now();
        let expired: Vec<String> = {
            let (Ok(known), Ok(mut retired)) = (self.by_hash.lock(), self.retired.lock()) else {
                return;
            };
            retired.retain(|hash, _| !used.contains(hash.as_str()));
            for hash in known.keys().filter(|hash| !used.contains(hash.as_str())) {
                retired.entry(hash.clone()).or_insert(now);
            }
            retired
                .iter()
                .filter(|(_, since)| now.duration_since(**since) >= self.prune_after)
                .map(|(hash, _)| hash.clone())
                .collect()
        };
        if expired.is_empty() {
            return;
        }
        match self
            .store
            .forget_embeddings(self.embedder.model_id(), &expired)
            .await
        {
            Ok(_) => {
                if let (Ok(mut known), Ok(mut retired)) = (self.by_hash.lock(), self.retired.lock())
                {
                    for hash in &expired {
                        known.remove(hash);
                        retired.remove(hash);
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "old embeddings not pruned"),
        }
    }

    /// Puts in force the table of those of `texts` that have a vector. False if a lock was
    /// poisoned.
    fn publish(&self, texts: &[Text<'_>]) -> bool {
        let table = {
            let Ok(known) = self.by_hash.lock() else {
                return false;
            };
            let mut table = Table {
                rows: HashMap::new(),
                servers: HashMap::new(),
                matrix: VectorIndex::new(self.embedder.dimensions()),
            };
            for text in texts {
                let Some(row) = known
                    .get(&text.hash)
                    .and_then(|vector| table.matrix.push(vector))
                else {
                    continue;
                };
                match text.tool {
                    Some(tool) => table
                        .rows
                        .entry(text.path.to_owned())
                        .or_default()
                        .entry(tool.to_owned())
                        .or_default()
                        .push(row),
                    None => {
                        table.servers.insert(text.path.to_owned(), row);
                    }
                }
            }
            table
        };
        match self.table.write() {
            Ok(mut current) => {
                *current = Arc::new(table);
                true
            }
            Err(_) => false,
        }
    }

    /// Embeds one batch on the blocking pool and remembers it (in memory and the store).
    async fn embed_batch(&self, batch: &[(String, String)]) -> bool {
        let embedder = Arc::clone(&self.embedder);
        let texts: Vec<String> = batch.iter().map(|(_, text)| text.clone()).collect();
        let embedded = tokio::task::spawn_blocking(move || {
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            embedder.embed(&texts)
        })
        .await;
        let vectors = match embedded {
            Ok(Ok(vectors)) if vectors.len() == batch.len() => vectors,
            Ok(Ok(_)) => {
                tracing::warn!("the embedder returned the wrong number of vectors");
                return false;
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "tool texts not embedded");
                return false;
            }
            Err(error) => {
                tracing::warn!(%error, "embedding task failed");
                return false;
            }
        };
        let entries: Vec<(String, Vec<f32>)> = batch
            .iter()
            .map(|(hash, _)| hash.clone())
            .zip(vectors)
            .collect();
        if let Err(error) = self
            .store
            .save_embeddings(self.embedder.model_id(), &entries)
            .await
        {
            // Still usable from memory; stored again after the next change.
            tracing::warn!(%error, "embeddings not stored");
        }
        if let Ok(mut known) = self.by_hash.lock() {
            for (hash, vector) in entries {
                known.insert(hash, Vector::from(vector));
            }
        }
        true
    }
}

#[async_trait]
impl SemanticIndex for EmbeddingIndex {
    fn model(&self) -> &str {
        self.embedder.model_id()
    }

    async fn embed_query(&self, query: &str) -> Option<Vec<f32>> {
        if let Some(vector) = self.recent.lock().ok()?.get(query) {
            return Some(vector.to_vec());
        }
        let _permit = self.queries.acquire().await.ok()?;
        let embedder = Arc::clone(&self.embedder);
        let text = query.to_owned();
        let vector = tokio::task::spawn_blocking(move || embedder.embed(&[text.as_str()]))
            .await
            .ok()?
            .ok()?
            .pop()?;
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() >= QUERY_CACHE {
                recent.clear();
            }
            recent.insert(query.to_owned(), Vector::from(vector.clone()));
        }
        Some(vector)
    }

    fn server_similarities(&self, query: &[f32], servers: &[&str]) -> Vec<f32> {
        let Ok(table) = self.table.read().map(|table| Arc::clone(&table)) else {
            return vec![0.0; servers.len()];
        };
        servers
            .iter()
            .map(|path| {
                table
                    .servers
                    .get(*path)
                    .and_then(|row| table.matrix.row_score(*row, query))
                    .unwrap_or(0.0)
            })
            .collect()
    }

    fn similarities(&self, query: &[f32], documents: &[ToolDocument<'_>]) -> Vec<f32> {
        let table = match self.table.read() {
            Ok(table) => Arc::clone(&table),
            Err(_) => return vec![0.0; documents.len()],
        };
        // Every row at once (one pass over contiguous memory), then the caller's documents
        // picked out: cheaper than a scattered pass once a caller sees most tools. A tool
        // is as close as its closest text.
        let scores = table.matrix.scores(query);
        documents
            .iter()
            .map(|document| {
                table
                    .rows
                    .get(document.server_path)
                    .and_then(|tools| tools.get(&document.tool.name))
                    .and_then(|rows| {
                        rows.iter()
                            .filter_map(|row| scores.get(*row).copied())
                            .reduce(f32::max)
                    })
                    .unwrap_or(0.0)
            })
            .collect()
    }
}
