//! Errors of the llama runtime (configuration, weights, tokenizers): each names the file or
//! field at fault and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LlamaError {
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
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
    #[error(
        "{path}: missing weight `{name}`; does the model type in its config match its weights?"
    )]
    MissingWeight { path: PathBuf, name: String },
    #[error("{path}: field `{field}`: {message}")]
    BadModel {
        path: PathBuf,
        field: String,
        message: String,
    },
    /// A model file or folder that cannot be used at all (missing, unreadable, no tokenizer).
    #[error("{path}: {message}")]
    Unusable { path: PathBuf, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}

pub type Result<T, E = LlamaError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> LlamaError + '_ {
    move |source| LlamaError::Io {
        path: path.to_path_buf(),
        source,
    }
}
