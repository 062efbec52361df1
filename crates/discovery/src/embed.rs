//! Sentence embeddings: the [`Embedder`] trait and [`MiniLm`], sentence-transformers
//! all-MiniLM-L6-v2 run on candle (CPU).

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::DiscoveryError;

/// The model's name, also the name of its directory under `<data-dir>/models/`.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
/// The identifier [`MiniLm::model_id`] reports (part of embedding cache keys).
pub const MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// Length of every vector [`MiniLm`] returns.
pub const DIMENSIONS: usize = 384;
/// Longest input in word pieces, `[CLS]` and `[SEP]` included; longer texts are cut. The
/// model was trained with this limit (`max_seq_length` of its sentence-transformers
/// configuration), although its tokenizer file says 128.
pub const MAX_TOKENS: usize = 256;
/// Texts run through the model at once by default.
pub const DEFAULT_BATCH_SIZE: usize = 32;
/// The files a model directory must hold.
pub const MODEL_FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// Turns texts into unit-length vectors whose dot product is their cosine similarity.
pub trait Embedder: Send + Sync {
    /// One vector of [`Embedder::dimensions`] numbers per text, in the order given. An
    /// empty slice gives an empty result.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, DiscoveryError>;
    /// Length of each vector.
    fn dimensions(&self) -> usize;
    /// Which model makes the vectors: vectors of different models must not be mixed.
    fn model_id(&self) -> &str;
}

/// all-MiniLM-L6-v2: BERT (6 layers, 384 hidden), mean pooling over the attention mask,
/// L2 normalisation; inputs cut at [`MAX_TOKENS`] word pieces. Runs on the CPU.
pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    pad_id: u32,
    batch_size: usize,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("model_id", &MODEL_ID)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl MiniLm {
    /// Loads the model from `dir` (`model.safetensors`, `tokenizer.json`, `config.json`,
    /// as `mcpgw model fetch` installs them). Checks that the configuration is this model's
    /// shape; does not check the files' checksums (fetching did).
    pub fn load(dir: &Path) -> Result<Self, DiscoveryError> {
        for name in MODEL_FILES {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(DiscoveryError::MissingFile { path });
            }
        }
        let config = load_config(&dir.join("config.json"))?;
        let device = Device::Cpu;
        let weights = candle_core::safetensors::load(dir.join("model.safetensors"), &device)?;
        let model = BertModel::load(
            VarBuilder::from_tensors(weights, DType::F32, &device),
            &config,
        )?;
        let (tokenizer, pad_id) = load_tokenizer(&dir.join("tokenizer.json"))?;
        Ok(Self {
            model,
            tokenizer,
            pad_id,
            batch_size: DEFAULT_BATCH_SIZE,
        })
    }

    /// Runs at most `batch_size` texts through the model at once (at least 1).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Embeds one batch: token ids padded to the batch's longest, then the model, mean
    /// pooling over real tokens, and normalisation.
    fn embed_batch(&self, batch: &[Tokens]) -> Result<Vec<Vec<f32>>, DiscoveryError> {
        let rows = batch.len();
        let width = batch.iter().map(|t| t.ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(rows * width);
        let mut type_ids = Vec::with_capacity(rows * width);
        let mut mask = Vec::with_capacity(rows * width);
        for tokens in batch {
            let pad = width - tokens.ids.len();
            ids.extend_from_slice(&tokens.ids);
            ids.extend(std::iter::repeat_n(self.pad_id, pad));
            type_ids.extend_from_slice(&tokens.type_ids);
            type_ids.extend(std::iter::repeat_n(0, pad));
            mask.extend(std::iter::repeat_n(1u32, tokens.ids.len()));
            mask.extend(std::iter::repeat_n(0u32, pad));
        }
        let device = &self.model.device;
        let ids = Tensor::from_vec(ids, (rows, width), device)?;
        let type_ids = Tensor::from_vec(type_ids, (rows, width), device)?;
        let mask = Tensor::from_vec(mask, (rows, width), device)?;
        let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?;
        // Mean over the tokens the mask keeps: (rows, width, 384) → (rows, 384).
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        // L2 normalisation, as sentence-transformers' Normalize (eps 1e-12).
        let norms = mean
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12f32, f32::MAX)?;
        Ok(mean.broadcast_div(&norms)?.to_vec2::<f32>()?)
    }
}

impl Embedder for MiniLm {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, DiscoveryError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|error| DiscoveryError::Tokenizer(error.to_string()))?;
        let tokens: Vec<Tokens> = encodings
            .iter()
            .map(|encoding| Tokens {
                ids: encoding.get_ids().to_vec(),
                type_ids: encoding.get_type_ids().to_vec(),
            })
            .collect();
        // Texts of similar length share a batch, so little is spent on padding.
        let mut order: Vec<usize> = (0..tokens.len()).collect();
        order.sort_by_key(|&index| tokens[index].ids.len());
        let mut vectors = vec![Vec::new(); tokens.len()];
        for chunk in order.chunks(self.batch_size) {
            let batch: Vec<Tokens> = chunk.iter().map(|&index| tokens[index].clone()).collect();
            for (&index, vector) in chunk.iter().zip(self.embed_batch(&batch)?) {
                vectors[index] = vector;
            }
        }
        Ok(vectors)
    }

    fn dimensions(&self) -> usize {
        DIMENSIONS
    }

    fn model_id(&self) -> &str {
        MODEL_ID
    }
}

/// One text's word pieces.
#[derive(Clone)]
struct Tokens {
    ids: Vec<u32>,
    type_ids: Vec<u32>,
}

/// Reads `config.json` and checks it describes all-MiniLM-L6-v2's network.
fn load_config(path: &Path) -> Result<Config, DiscoveryError> {
    let text = std::fs::read_to_string(path).map_err(|error| DiscoveryError::io(path, error))?;
    let config: Config = serde_json::from_str(&text).map_err(|error| DiscoveryError::Config {
        path: path.to_owned(),
        reason: error.to_string(),
    })?;
    if config.hidden_size != DIMENSIONS {
        return Err(DiscoveryError::Config {
            path: path.to_owned(),
            reason: format!(
                "hidden_size is {}, all-MiniLM-L6-v2 has {DIMENSIONS}",
                config.hidden_size
            ),
        });
    }
    if config.max_position_embeddings < MAX_TOKENS {
        return Err(DiscoveryError::Config {
            path: path.to_owned(),
            reason: format!(
                "max_position_embeddings is {}, below {MAX_TOKENS}",
                config.max_position_embeddings
            ),
        });
    }
    Ok(config)
}

/// Loads `tokenizer.json` with truncation at [`MAX_TOKENS`] and no padding (batches are
/// padded by [`MiniLm`]); returns it with the id of `[PAD]`.
fn load_tokenizer(path: &Path) -> Result<(Tokenizer, u32), DiscoveryError> {
    let mut tokenizer = Tokenizer::from_file(path)
        .map_err(|error| DiscoveryError::Tokenizer(format!("{}: {error}", path.display())))?;
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_TOKENS,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .map_err(|error| DiscoveryError::Tokenizer(error.to_string()))?;
    tokenizer.with_padding(None);
    let pad_id = tokenizer
        .token_to_id("[PAD]")
        .ok_or_else(|| DiscoveryError::Tokenizer(format!("{}: no [PAD] token", path.display())))?;
    Ok((tokenizer, pad_id))
}
