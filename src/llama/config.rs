//! The shape of a llama-architecture model, read from a Hugging Face `config.json` or from a
//! GGUF file's `llama.*` metadata.

use super::error::{LlamaError, Result, io_err};
use super::rope::RopeScaling;
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
    /// How the rotary frequencies are scaled (none: plain RoPE with `rope_theta`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::rope::deserialize_scaling"
    )]
    pub rope_scaling: Option<RopeScaling>,
}

/// Config keys that change a llama's maths, with the values assay computes; any other value
/// stops the load with the key named (a silent mismatch would train and score another model).
fn check_supported(v: &serde_json::Value) -> std::result::Result<(), (String, String)> {
    use serde_json::Value;
    let bad = |k: &str, why: String| Err((k.to_string(), why));
    if let Some(t) = v.get("model_type").and_then(Value::as_str)
        && !matches!(t, "llama" | "mistral")
    {
        return bad(
            "model_type",
            format!(
                "{t:?} is not a llama-architecture model (only llama and mistral are supported)"
            ),
        );
    }
    if let Some(a) = v.get("hidden_act").and_then(Value::as_str)
        && a != "silu"
    {
        return bad("hidden_act", format!("{a:?} is not supported (only silu)"));
    }
    for key in ["attention_bias", "mlp_bias"] {
        if v.get(key).and_then(Value::as_bool) == Some(true) {
            return bad(key, "biases on the projections are not supported".into());
        }
    }
    if let Some(w) = v.get("sliding_window").filter(|w| !w.is_null()) {
        return bad(
            "sliding_window",
            format!("{w} given; sliding-window attention is not supported"),
        );
    }
    if let Some(f) = v.get("partial_rotary_factor").and_then(Value::as_f64)
        && f != 1.0
    {
        return bad(
            "partial_rotary_factor",
            format!("{f}: only 1.0 is supported"),
        );
    }
    if v.get("quantization_config").is_some_and(|q| !q.is_null()) {
        return bad(
            "quantization_config",
            "quantised checkpoints are not supported; give full-precision safetensors or a GGUF"
                .into(),
        );
    }
    if let (Some(h), Some(hidden), Some(heads)) = (
        v.get("head_dim").and_then(Value::as_u64),
        v.get("hidden_size").and_then(Value::as_u64),
        v.get("num_attention_heads").and_then(Value::as_u64),
    ) && heads > 0
        && h != hidden / heads
    {
        return bad(
            "head_dim",
            format!(
                "{h} differs from hidden_size / num_attention_heads = {}",
                hidden / heads
            ),
        );
    }
    Ok(())
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

    /// The rotary inverse frequencies of one head, scaling applied.
    pub fn inv_freq(&self) -> Vec<f64> {
        super::rope::inv_freq(self.rope_theta, self.rope_scaling.as_ref(), self.head_dim())
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

    /// Reads a Hugging Face `config.json` (transformers 4 or 5). A key that changes the maths
    /// in a way assay does not compute is an error naming it.
    pub fn from_hf_json(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let json_err = |source| LlamaError::Json {
            path: path.to_path_buf(),
            source,
        };
        let v: serde_json::Value = serde_json::from_str(&text).map_err(json_err)?;
        let bad = |(field, message): (String, String)| LlamaError::BadModel {
            path: path.to_path_buf(),
            field,
            message,
        };
        check_supported(&v).map_err(bad)?;
        let (theta, scaling) = super::rope::from_hf(&v).map_err(bad)?;
        let mut plain = v;
        if let Some(o) = plain.as_object_mut() {
            // Read above, in either layout; the derive reads the rest.
            o.remove("rope_scaling");
        }
        let mut cfg: LlamaConfig = serde_json::from_value(plain).map_err(json_err)?;
        cfg.rope_theta = theta;
        cfg.rope_scaling = scaling;
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
        let unsupported = |field: &str, message: String| LlamaError::BadModel {
            path: path.to_path_buf(),
            field: field.into(),
            message,
        };
        if content.tensor_infos.contains_key("rope_freqs.weight") {
            return Err(unsupported(
                "rope_freqs.weight",
                "per-frequency rope factors (llama3 scaling in GGUF) are not supported".into(),
            ));
        }
        let rope_scaling = match content
            .metadata
            .get("llama.rope.scaling.type")
            .and_then(|v| v.to_string().ok())
            .map(String::as_str)
        {
            None | Some("none") => None,
            Some("linear") => Some(RopeScaling::Linear {
                factor: f64::from(
                    content
                        .metadata
                        .get("llama.rope.scaling.factor")
                        .and_then(|v| v.to_f32().ok())
                        .ok_or_else(|| {
                            unsupported(
                                "llama.rope.scaling.factor",
                                "linear scaling needs a factor".into(),
                            )
                        })?,
                ),
            }),
            Some(other) => {
                return Err(unsupported(
                    "llama.rope.scaling.type",
                    format!("rope scaling {other:?} is not supported (only linear)"),
                ));
            }
        };
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
            rope_scaling,
        };
        cfg.validate(path)?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: serde_json::Value) -> Result<LlamaConfig> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json.to_string()).unwrap();
        LlamaConfig::from_hf_json(&path)
    }

    fn smollm2(extra: serde_json::Value) -> serde_json::Value {
        let mut v = serde_json::json!({"model_type": "llama", "vocab_size": 49152,
            "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
            "num_attention_heads": 9, "num_key_value_heads": 3, "hidden_act": "silu",
            "attention_bias": false, "mlp_bias": false, "head_dim": 64});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn a_transformers_5_config_keeps_its_rope_theta() {
        let cfg = read(smollm2(serde_json::json!({
            "rope_parameters": {"rope_theta": 100000.0, "rope_type": "default"}})))
        .unwrap();
        assert_eq!(cfg.rope_theta, 100_000.0);
        assert_eq!(cfg.rope_scaling, None);
    }

    #[test]
    fn rope_scaling_is_read_and_written_back() {
        let cfg = read(smollm2(serde_json::json!({"rope_theta": 5e5,
            "rope_scaling": {"type": "linear", "factor": 2.0}})))
        .unwrap();
        assert_eq!(cfg.rope_scaling, Some(RopeScaling::Linear { factor: 2.0 }));
        let again: LlamaConfig =
            serde_json::from_value(serde_json::to_value(&cfg).unwrap()).unwrap();
        assert_eq!(again, cfg);
    }

    #[test]
    fn keys_that_change_the_maths_are_refused_by_name() {
        for (extra, key) in [
            (
                serde_json::json!({"attention_bias": true}),
                "attention_bias",
            ),
            (serde_json::json!({"hidden_act": "gelu"}), "hidden_act"),
            (serde_json::json!({"model_type": "qwen2"}), "model_type"),
            (
                serde_json::json!({"sliding_window": 4096}),
                "sliding_window",
            ),
            (serde_json::json!({"head_dim": 128}), "head_dim"),
            (
                serde_json::json!({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}),
                "rope_scaling.rope_type",
            ),
        ] {
            match read(smollm2(extra)) {
                Err(LlamaError::BadModel { field, .. }) => assert_eq!(field, key),
                other => panic!("{key}: {other:?}"),
            }
        }
    }
}
