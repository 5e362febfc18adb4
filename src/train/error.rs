//! Errors of the built-in trainer: each names the file or field at fault and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// The base model, its configuration or its tokenizer (the llama runtime's errors).
    #[error(transparent)]
    Llama(#[from] crate::llama::LlamaError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("training setting `{field}`: {message}")]
    BadConfig { field: String, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("no training examples: every sample was empty or had no assistant turn")]
    NoExamples,
    #[error("{path}: {message}")]
    Adapter { path: PathBuf, message: String },
    #[error(
        "{path}: not found; runs trained before `assay eval` existed did not record their split: \
         evaluate with --dataset (and filters) instead"
    )]
    NoSplit { path: PathBuf },
}

pub type Result<T, E = TrainError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}
