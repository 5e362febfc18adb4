//! The shape of a llama-architecture model, read from a Hugging Face `config.json` or from a
//! GGUF file's `llama.*` metadata.

use super::error::{LlamaError, Result, io_err};
use candle_core::quantized::gguf_file;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Hyperparameters of a llama model (Hugging Face `config.json` field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    #[serde(default = "default_ctx")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub tie_word_embeddings: bool,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_ctx() -> usize {
    2048
}

impl LlamaConfig {
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Checks that heads divide the hidden size and key/value heads divide the heads.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let bad = |field: &str, message: String| LlamaError::BadModel {
            path: path.to_path_buf(),
            field: field.into(),
            message,
        };
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(bad(
                "num_attention_heads",
                format!("must divide hidden_size {}", self.hidden_size),
            ));
        }
        if self.num_key_value_heads == 0
            || !self
                .num_attention_heads
                .is_multiple_of(self.num_key_value_heads)
        {
            return Err(bad(
                "num_key_value_heads",
                format!(
                    "must divide num_attention_heads {}",
                    self.num_attention_heads
                ),
            ));
        }
        if !self.head_dim().is_multiple_of(2) {
            return Err(bad(
                "hidden_size",
                "head dimension must be even for RoPE".into(),
            ));
        }
        Ok(())
    }

    /// Reads a Hugging Face `config.json`.
    pub fn from_hf_json(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let cfg: LlamaConfig = serde_json::from_str(&text).map_err(|source| LlamaError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Reads the `llama.*` metadata of a GGUF file; `vocab` is the embedding's row count.
    pub fn from_gguf(content: &gguf_file::Content, vocab: usize, path: &Path) -> Result<Self> {
        let get = |key: &str| -> Result<&gguf_file::Value> {
            content
                .metadata
                .get(key)
                .ok_or_else(|| LlamaError::BadModel {
                    path: path.to_path_buf(),
                    field: key.into(),
                    message: "missing from the GGUF metadata".into(),
                })
        };
        let int = |key: &str| -> Result<usize> {
            let v = get(key)?;
            v.to_u32()
                .map(|x| x as usize)
                .or_else(|_| v.to_u64().map(|x| x as usize))
                .map_err(|e| LlamaError::BadModel {
                    path: path.to_path_buf(),
                    field: key.into(),
                    message: e.to_string(),
                })
        };
        let float = |key: &str, default: f64| -> f64 {
            content
                .metadata
                .get(key)
                .and_then(|v| v.to_f32().ok())
                .map_or(default, f64::from)
        };
        let heads = int("llama.attention.head_count")?;
        let cfg = LlamaConfig {
            vocab_size: vocab,
            hidden_size: int("llama.embedding_length")?,
            intermediate_size: int("llama.feed_forward_length")?,
            num_hidden_layers: int("llama.block_count")?,
            num_attention_heads: heads,
            num_key_value_heads: int("llama.attention.head_count_kv").unwrap_or(heads),
            rms_norm_eps: float("llama.attention.layer_norm_rms_epsilon", 1e-5),
            rope_theta: float("llama.rope.freq_base", 10_000.0),
            max_position_embeddings: int("llama.context_length").unwrap_or(2048),
            tie_word_embeddings: !content.tensor_infos.contains_key("output.weight"),
        };
        cfg.validate(path)?;
        Ok(cfg)
    }
}
