//! The shape of a model of the llama family (llama, Qwen2, Qwen3: see [`super::arch`]), read
//! from a Hugging Face `config.json` or from a GGUF file's `general.architecture` and its
//! `<architecture>.*` metadata.

use super::arch::Architecture;
use super::error::{LlamaError, Result, io_err};
use super::rope::RopeScaling;
use candle_core::quantized::gguf_file;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Hyperparameters of a llama-family model (Hugging Face `config.json` field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// What the architecture adds to llama's maths (qkv biases, q/k norms).
    #[serde(default)]
    pub model_type: Architecture,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    /// The width of one attention head where it is not `hidden_size / num_attention_heads`
    /// (Qwen3: 128 for a hidden size of 1024 and 16 heads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<usize>,
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

/// Config keys that change the maths, with the values assay computes; any other value stops
/// the load with the key named (a silent mismatch would train and score another model).
fn check_supported(v: &serde_json::Value) -> std::result::Result<(), (String, String)> {
    use serde_json::Value;
    let bad = |k: &str, why: String| Err((k.to_string(), why));
    let arch = match v.get("model_type").and_then(Value::as_str) {
        None => Architecture::Llama,
        Some(t) => match Architecture::from_name(t) {
            Some(a) => a,
            None => return bad("model_type", Architecture::unsupported(t)),
        },
    };
    if let Some(a) = v.get("hidden_act").and_then(Value::as_str)
        && a != "silu"
    {
        return bad("hidden_act", format!("{a:?} is not supported (only silu)"));
    }
    // Qwen2's q, k and v always carry biases, whatever the key says (transformers ignores it).
    let keys: &[&str] = if arch == Architecture::Qwen2 {
        &["mlp_bias"]
    } else {
        &["attention_bias", "mlp_bias"]
    };
    for key in keys {
        if v.get(*key).and_then(Value::as_bool) == Some(true) {
            return bad(
                key,
                format!(
                    "biases on these projections are not supported for {}",
                    arch.name()
                ),
            );
        }
    }
    if arch == Architecture::Llama {
        if let Some(w) = v.get("sliding_window").filter(|w| !w.is_null()) {
            return bad(
                "sliding_window",
                format!("{w} given; sliding-window attention is not supported"),
            );
        }
    } else {
        // Qwen configs carry a `sliding_window` size that applies only when this is set.
        if v.get("use_sliding_window").and_then(Value::as_bool) == Some(true) {
            return bad(
                "use_sliding_window",
                "sliding-window attention is not supported".into(),
            );
        }
        if let Some(types) = v.get("layer_types").and_then(Value::as_array)
            && let Some(t) = types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "full_attention")
        {
            return bad(
                "layer_types",
                format!("{t:?} layers are not supported (only full_attention)"),
            );
        }
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
    // Qwen3 sizes its heads on their own; llama and Qwen2 derive them from the hidden size.
    if arch != Architecture::Qwen3
        && let (Some(h), Some(hidden), Some(heads)) = (
            v.get("head_dim").and_then(Value::as_u64),
            v.get("hidden_size").and_then(Value::as_u64),
            v.get("num_attention_heads").and_then(Value::as_u64),
        )
        && heads > 0
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
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// The width of the query projection's output (and the output projection's input).
    pub fn q_dim(&self) -> usize {
        self.num_attention_heads * self.head_dim()
    }

    /// The width of the key and value projections' outputs.
    pub fn kv_dim(&self) -> usize {
        self.num_key_value_heads * self.head_dim()
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
            || (self.head_dim.is_none()
                && !self.hidden_size.is_multiple_of(self.num_attention_heads))
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
        if self.head_dim() == 0 || !self.head_dim().is_multiple_of(2) {
            return Err(bad(
                if self.head_dim.is_some() {
                    "head_dim"
                } else {
                    "hidden_size"
                },
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
        if cfg.model_type != Architecture::Qwen3 {
            // Checked above to equal hidden / heads where given; one source of truth.
            cfg.head_dim = None;
        } else if cfg.head_dim.is_none() {
            // transformers' `Qwen3Config` default, whatever the hidden size.
            cfg.head_dim = Some(128);
        }
        cfg.rope_theta = theta;
        cfg.rope_scaling = scaling;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Reads a GGUF file's `general.architecture` and its `<architecture>.*` metadata;
    /// `vocab` is the embedding's row count.
    pub fn from_gguf(content: &gguf_file::Content, vocab: usize, path: &Path) -> Result<Self> {
        let unsupported = |field: &str, message: String| LlamaError::BadModel {
            path: path.to_path_buf(),
            field: field.into(),
            message,
        };
        let arch_name = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .map_or("llama", String::as_str);
        let arch = Architecture::from_name(arch_name).ok_or_else(|| {
            unsupported("general.architecture", Architecture::unsupported(arch_name))
        })?;
        // llama.cpp writes Mistral as `llama`; its keys are named after the architecture.
        let p = arch.name();
        let key = |k: &str| format!("{p}.{k}");
        let get = |k: &str| -> Result<&gguf_file::Value> {
            content
                .metadata
                .get(&key(k))
                .ok_or_else(|| unsupported(&key(k), "missing from the GGUF metadata".into()))
        };
        let int = |k: &str| -> Result<usize> {
            let v = get(k)?;
            v.to_u32()
                .map(|x| x as usize)
                .or_else(|_| v.to_u64().map(|x| x as usize))
                .map_err(|e| unsupported(&key(k), e.to_string()))
        };
        let float = |k: &str, default: f64| -> f64 {
            content
                .metadata
                .get(&key(k))
                .and_then(|v| v.to_f32().ok())
                .map_or(default, f64::from)
        };
        let heads = int("attention.head_count")?;
        let hidden = int("embedding_length")?;
        if content.tensor_infos.contains_key("rope_freqs.weight") {
            return Err(unsupported(
                "rope_freqs.weight",
                "per-frequency rope factors (llama3 scaling in GGUF) are not supported".into(),
            ));
        }
        if content.metadata.contains_key(&key("expert_count")) {
            return Err(unsupported(
                &key("expert_count"),
                "mixture-of-experts models are not supported".into(),
            ));
        }
        let rope_scaling = match content
            .metadata
            .get(&key("rope.scaling.type"))
            .and_then(|v| v.to_string().ok())
            .map(String::as_str)
        {
            None | Some("none") => None,
            Some("linear") => Some(RopeScaling::Linear {
                factor: f64::from(
                    content
                        .metadata
                        .get(&key("rope.scaling.factor"))
                        .and_then(|v| v.to_f32().ok())
                        .ok_or_else(|| {
                            unsupported(
                                &key("rope.scaling.factor"),
                                "linear scaling needs a factor".into(),
                            )
                        })?,
                ),
            }),
            Some(other) => {
                return Err(unsupported(
                    &key("rope.scaling.type"),
                    format!("rope scaling {other:?} is not supported (only linear)"),
                ));
            }
        };
        // The head width llama.cpp records; llama and Qwen2 must have hidden / heads.
        let head_dim = match int("attention.key_length") {
            Ok(d) if arch == Architecture::Qwen3 => Some(d),
            Ok(d) if heads > 0 && d != hidden / heads => {
                return Err(unsupported(
                    &key("attention.key_length"),
                    format!("{d} differs from embedding_length / head_count"),
                ));
            }
            _ => None,
        };
        let cfg = LlamaConfig {
            model_type: arch,
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: int("feed_forward_length")?,
            num_hidden_layers: int("block_count")?,
            num_attention_heads: heads,
            num_key_value_heads: int("attention.head_count_kv").unwrap_or(heads),
            head_dim,
            rms_norm_eps: float("attention.layer_norm_rms_epsilon", 1e-5),
            rope_theta: float("rope.freq_base", 10_000.0),
            max_position_embeddings: int("context_length").unwrap_or(2048),
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
            (serde_json::json!({"model_type": "gemma2"}), "model_type"),
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

    /// A Qwen2.5 config as transformers 5 writes it: its `sliding_window` size is inert while
    /// `use_sliding_window` is false, and `attention_bias` is not a Qwen2 key.
    #[test]
    fn qwen2_and_qwen3_configs_are_read() {
        let cfg = read(
            serde_json::json!({"model_type": "qwen2", "vocab_size": 151936,
            "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
            "num_attention_heads": 14, "num_key_value_heads": 2, "hidden_act": "silu",
            "rms_norm_eps": 1e-6, "rope_theta": 1e6, "tie_word_embeddings": true,
            "use_sliding_window": false, "sliding_window": 32768, "max_window_layers": 21,
            "layer_types": ["full_attention"]}),
        )
        .unwrap();
        assert_eq!(cfg.model_type, Architecture::Qwen2);
        assert_eq!((cfg.head_dim(), cfg.q_dim(), cfg.kv_dim()), (64, 896, 128));
        let cfg = read(
            serde_json::json!({"model_type": "qwen3", "vocab_size": 151936,
            "hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 28,
            "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
            "attention_bias": false, "use_sliding_window": false, "sliding_window": null,
            "rope_parameters": {"rope_theta": 1e6, "rope_type": "default"}}),
        )
        .unwrap();
        assert_eq!(cfg.model_type, Architecture::Qwen3);
        assert_eq!(
            (cfg.head_dim(), cfg.q_dim(), cfg.kv_dim()),
            (128, 2048, 1024)
        );
        assert_eq!(cfg.rope_theta, 1e6);
        let again: LlamaConfig =
            serde_json::from_value(serde_json::to_value(&cfg).unwrap()).unwrap();
        assert_eq!(again, cfg);
        // Without `head_dim`, Qwen3's heads are transformers' default 128, not hidden / heads.
        let cfg = read(serde_json::json!({"model_type": "qwen3", "vocab_size": 100,
            "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2}))
        .unwrap();
        assert_eq!(cfg.head_dim(), 128);
    }

    #[test]
    fn an_unknown_architecture_is_named_with_the_way_out() {
        let err = read(smollm2(serde_json::json!({"model_type": "gemma2"}))).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`gemma2`") && msg.contains("--trainer llamafactory"),
            "{msg}"
        );
        for (extra, key) in [
            (
                serde_json::json!({"model_type": "qwen2", "use_sliding_window": true}),
                "use_sliding_window",
            ),
            (
                serde_json::json!({"model_type": "qwen3", "attention_bias": true}),
                "attention_bias",
            ),
            (
                serde_json::json!({"model_type": "qwen2",
                    "layer_types": ["full_attention", "sliding_attention"]}),
                "layer_types",
            ),
        ] {
            match read(smollm2(extra)) {
                Err(LlamaError::BadModel { field, .. }) => assert_eq!(field, key),
                other => panic!("{key}: {other:?}"),
            }
        }
    }
}
