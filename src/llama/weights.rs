//! Frozen base weights: dequantised from a GGUF file or read from a Hugging Face folder, kept as
//! plain f32 tensors under Hugging Face names (`model.layers.0.self_attn.q_proj.weight`, Qwen2's
//! `...q_proj.bias`, Qwen3's `...self_attn.q_norm.weight`).
//!
//! A llama GGUF stores the q and k projections with their rows permuted for interleaved RoPE;
//! they are permuted back here, so one half-split RoPE serves both sources and a LoRA adapter's
//! rows line up with the Hugging Face model that PEFT loads. Qwen GGUFs are not permuted.

use super::config::LlamaConfig;
use super::error::{LlamaError, Result, io_err};
use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A base model's configuration and frozen weights.
pub struct BaseWeights {
    pub config: LlamaConfig,
    pub tensors: HashMap<String, Tensor>,
    /// Where the weights came from (a `.gguf` file or a folder).
    pub source: PathBuf,
}

impl BaseWeights {
    /// Loads a `.gguf` file or a folder holding `config.json` and `*.safetensors`.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        crate::cpu::memory::keep_freed_memory();
        if path.is_dir() {
            Self::from_hf_dir(path, device)
        } else {
            Self::from_gguf(path, device)
        }
    }

    /// Looks up a weight by its Hugging Face name.
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| LlamaError::MissingWeight {
                path: self.source.clone(),
                name: name.into(),
            })
    }

    /// The output projection: the embedding when they are tied (as transformers computes it,
    /// even where a checkpoint also stores `lm_head.weight`), else `lm_head.weight`.
    pub fn lm_head(&self) -> Result<&Tensor> {
        if self.config.tie_word_embeddings {
            self.get("model.embed_tokens.weight")
        } else {
            self.get("lm_head.weight")
        }
    }

    pub fn from_hf_dir(dir: &Path, device: &Device) -> Result<Self> {
        crate::cpu::memory::keep_freed_memory();
        let config = LlamaConfig::from_hf_json(&dir.join("config.json"))?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io_err(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(LlamaError::MissingWeight {
                path: dir.to_path_buf(),
                name: "*.safetensors".into(),
            });
        }
        let mut tensors = HashMap::new();
        for file in &files {
            for (name, t) in candle_core::safetensors::load(file, device)? {
                tensors.insert(name, t.to_dtype(DType::F32)?);
            }
        }
        Ok(BaseWeights {
            config,
            tensors,
            source: dir.to_path_buf(),
        })
    }

    pub fn from_gguf(path: &Path, device: &Device) -> Result<Self> {
        crate::cpu::memory::keep_freed_memory();
        let mut file = std::fs::File::open(path).map_err(io_err(path))?;
        let content = gguf_file::Content::read(&mut file).map_err(|e| LlamaError::BadModel {
            path: path.to_path_buf(),
            field: "header".into(),
            message: format!("not a readable GGUF file: {e}"),
        })?;
        let mut load = |name: &str| -> Result<Tensor> {
            if !content.tensor_infos.contains_key(name) {
                return Err(LlamaError::MissingWeight {
                    path: path.to_path_buf(),
                    name: name.into(),
                });
            }
            let q = content.tensor(&mut file, name, device)?;
            Ok(q.dequantize(device)?.to_dtype(DType::F32)?)
        };
        let embed = load("token_embd.weight")?;
        let config = LlamaConfig::from_gguf(&content, embed.dim(0)?, path)?;
        let mut tensors = HashMap::new();
        tensors.insert("model.embed_tokens.weight".to_string(), embed);
        tensors.insert("model.norm.weight".into(), load("output_norm.weight")?);
        if !config.tie_word_embeddings {
            tensors.insert("lm_head.weight".into(), load("output.weight")?);
        }
        let (h, kv) = (config.num_attention_heads, config.num_key_value_heads);
        let arch = config.model_type;
        for i in 0..config.num_hidden_layers {
            let g = |s: &str| format!("blk.{i}.{s}.weight");
            let hf = |s: &str| format!("model.layers.{i}.{s}.weight");
            let (q, k) = (load(&g("attn_q"))?, load(&g("attn_k"))?);
            let (q, k) = if arch.gguf_permutes_qk() {
                (unpermute(&q, h)?, unpermute(&k, kv)?)
            } else {
                (q, k)
            };
            tensors.insert(hf("self_attn.q_proj"), q);
            tensors.insert(hf("self_attn.k_proj"), k);
            for (gg, name) in [
                ("attn_v", "self_attn.v_proj"),
                ("attn_output", "self_attn.o_proj"),
                ("ffn_gate", "mlp.gate_proj"),
                ("ffn_up", "mlp.up_proj"),
                ("ffn_down", "mlp.down_proj"),
                ("attn_norm", "input_layernorm"),
                ("ffn_norm", "post_attention_layernorm"),
            ] {
                tensors.insert(hf(name), load(&g(gg))?);
            }
            if arch.qkv_bias() {
                for (gg, name) in [
                    ("attn_q", "q_proj"),
                    ("attn_k", "k_proj"),
                    ("attn_v", "v_proj"),
                ] {
                    let t = load(&format!("blk.{i}.{gg}.bias"))?;
                    tensors.insert(format!("model.layers.{i}.self_attn.{name}.bias"), t);
                }
            }
            if arch.qk_norm() {
                tensors.insert(hf("self_attn.q_norm"), load(&g("attn_q_norm"))?);
                tensors.insert(hf("self_attn.k_norm"), load(&g("attn_k_norm"))?);
            }
        }
        Ok(BaseWeights {
            config,
            tensors,
            source: path.to_path_buf(),
        })
    }
}

/// Undoes llama.cpp's `permute` of q/k rows: (heads, 2, d/2) was stored as (heads, d/2, 2).
pub fn unpermute(w: &Tensor, heads: usize) -> Result<Tensor> {
    let (out, inp) = w.dims2()?;
    let d = out / heads;
    Ok(w.reshape((heads, d / 2, 2, inp))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((out, inp))?)
}

/// llama.cpp's `permute` (the inverse of [`unpermute`]), for writing test GGUF files.
pub fn permute(w: &Tensor, heads: usize) -> Result<Tensor> {
    let (out, inp) = w.dims2()?;
    let d = out / heads;
    Ok(w.reshape((heads, 2, d / 2, inp))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((out, inp))?)
}

impl BaseWeights {
    /// A randomly initialised model, for tests and benchmarks: projections normal with std 0.02,
    /// Qwen2's q/k/v biases with std 0.1 (so that they matter), embedding and output with std
    /// 1/sqrt(hidden) so that logits can move far enough for a frozen random output layer to fit
    /// data; norms (Qwen3's q/k norms too) at 1.
    pub fn random(config: LlamaConfig, device: &Device, seed: u64) -> Result<Self> {
        use rand::SeedableRng;
        use rand_distr_free::normal;
        config.validate(Path::new("<random>"))?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut mk = |shape: (usize, usize), std: f32| -> Result<Tensor> {
            let data: Vec<f32> = (0..shape.0 * shape.1)
                .map(|_| std * normal(&mut rng))
                .collect();
            Ok(Tensor::from_vec(data, shape, device)?)
        };
        let c = &config;
        let (hd, qd, kvd) = (c.hidden_size, c.q_dim(), c.kv_dim());
        let emb_std = 1.0 / (hd as f32).sqrt();
        let mut tensors = HashMap::new();
        tensors.insert(
            "model.embed_tokens.weight".to_string(),
            mk((c.vocab_size, hd), emb_std)?,
        );
        if !c.tie_word_embeddings {
            tensors.insert("lm_head.weight".into(), mk((c.vocab_size, hd), emb_std)?);
        }
        let ones = Tensor::ones(hd, DType::F32, device)?;
        tensors.insert("model.norm.weight".into(), ones.clone());
        for i in 0..c.num_hidden_layers {
            let l = |s: &str| format!("model.layers.{i}.{s}.weight");
            tensors.insert(l("self_attn.q_proj"), mk((qd, hd), 0.02)?);
            tensors.insert(l("self_attn.k_proj"), mk((kvd, hd), 0.02)?);
            tensors.insert(l("self_attn.v_proj"), mk((kvd, hd), 0.02)?);
            tensors.insert(l("self_attn.o_proj"), mk((hd, qd), 0.02)?);
            if c.model_type.qkv_bias() {
                for (name, width) in [("q_proj", qd), ("k_proj", kvd), ("v_proj", kvd)] {
                    let b = mk((1, width), 0.1)?.flatten_all()?;
                    tensors.insert(format!("model.layers.{i}.self_attn.{name}.bias"), b);
                }
            }
            if c.model_type.qk_norm() {
                let ones = Tensor::ones(c.head_dim(), DType::F32, device)?;
                tensors.insert(l("self_attn.q_norm"), ones.clone());
                tensors.insert(l("self_attn.k_norm"), ones);
            }
            tensors.insert(l("mlp.gate_proj"), mk((c.intermediate_size, hd), 0.02)?);
            tensors.insert(l("mlp.up_proj"), mk((c.intermediate_size, hd), 0.02)?);
            tensors.insert(l("mlp.down_proj"), mk((hd, c.intermediate_size), 0.02)?);
            tensors.insert(l("input_layernorm"), ones.clone());
            tensors.insert(l("post_attention_layernorm"), ones.clone());
        }
        Ok(BaseWeights {
            config,
            tensors,
            source: PathBuf::from("<random>"),
        })
    }
}

/// A standard normal sample by Box-Muller: the one distribution needed does not justify a crate.
mod rand_distr_free {
    use rand::Rng;
    pub fn normal(rng: &mut impl Rng) -> f32 {
        let u1: f32 = rng.random_range(f32::EPSILON..1.0);
        let u2: f32 = rng.random();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
    }
}
