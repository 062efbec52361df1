//! Loading the embedding model in the background at start: until it is loaded (or when
//! there is none) tool search ranks by words, and the log says so once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use mcpgw_discovery::{EmbeddingIndex, MiniLm};
use mcpgw_registry::{EmbeddingStore, RegistryService, SemanticSlot};

/// Loads the model in `dir` (if it is there), indexes the registry's tools with it, and
/// puts the index in `slot`. Never fails the gateway: a missing or broken model means
/// lexical search, logged once.
pub fn start(
    dir: PathBuf,
    store: Arc<dyn EmbeddingStore>,
    registry: RegistryService,
    slot: SemanticSlot,
) {
    tokio::spawn(async move {
        if !dir.join("model.safetensors").is_file() {
            tracing::info!(
                model_dir = %dir.display(),
                "no embedding model: tool search ranks by words (run `mcpgw model fetch` for semantic search)"
            );
            return;
        }
        let started = Instant::now();
        let loading = dir.clone();
        let model = match tokio::task::spawn_blocking(move || MiniLm::load(&loading)).await {
            Ok(Ok(model)) => model,
            Ok(Err(error)) => {
                tracing::warn!(%error, "embedding model not loaded: tool search ranks by words");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "embedding model not loaded: tool search ranks by words");
                return;
            }
        };
        let index = match EmbeddingIndex::load(Arc::new(model), store).await {
            Ok(index) => index,
            Err(error) => {
                tracing::warn!(%error, "cached embeddings not readable: tool search ranks by words");
                return;
            }
        };
        tracing::info!(
            model_dir = %dir.display(),
            cached = index.known(),
            millis = started.elapsed().as_millis() as u64,
            "embedding model loaded: tool search is hybrid"
        );
        index.follow(registry);
        slot.set(index);
    });
}
