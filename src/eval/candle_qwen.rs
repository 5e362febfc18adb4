//! candle-transformers' Qwen2 and Qwen3 over plain f32 weights (Hugging Face names), with their
//! KV caches: what evaluation runs for a Qwen base from a Hugging Face folder, as
//! [`super::generate::CandleLlama`] does for llama. The weights are the trainer's
//! (`LoraLlama::merged_tensors`), so q/k/v biases and q/k norms arrive under the names these
//! models read.

use super::error::{EvalError, Result};
use super::generate::Forward;
use crate::llama::{Architecture, LlamaConfig};
use candle_core::{DType, Device, Tensor};
use candle_nn::{Activation, VarBuilder};
use candle_transformers::models::{qwen2, qwen3};
use std::collections::HashMap;

enum Net {
    Qwen2(qwen2::ModelForCausalLM),
    Qwen3(qwen3::ModelForCausalLM),
}

/// A Qwen2 or Qwen3 causal LM behind [`Forward`].
pub struct CandleQwen {
    net: Net,
    max_positions: usize,
    device: Device,
}

impl CandleQwen {
    pub fn new(tensors: Vec<(String, Tensor)>, cfg: &LlamaConfig, device: &Device) -> Result<Self> {
        if cfg.rope_scaling.is_some() {
            return Err(EvalError::Invalid(format!(
                "rope_scaling: the evaluator's candle {} runs plain RoPE only",
                cfg.model_type.name()
            )));
        }
        let map: HashMap<String, Tensor> = tensors.into_iter().collect();
        super::generate::check_shapes(&map, cfg)?;
        let vb = VarBuilder::from_tensors(map, DType::F32, device);
        // No sliding window: assay refuses configs that enable it.
        let window = cfg.max_position_embeddings;
        let net = match cfg.model_type {
            Architecture::Qwen2 => {
                let c = qwen2::Config {
                    vocab_size: cfg.vocab_size,
                    hidden_size: cfg.hidden_size,
                    intermediate_size: cfg.intermediate_size,
                    num_hidden_layers: cfg.num_hidden_layers,
                    num_attention_heads: cfg.num_attention_heads,
                    num_key_value_heads: cfg.num_key_value_heads,
                    max_position_embeddings: cfg.max_position_embeddings,
                    sliding_window: window,
                    max_window_layers: cfg.num_hidden_layers,
                    tie_word_embeddings: cfg.tie_word_embeddings,
                    rope_theta: cfg.rope_theta,
                    rms_norm_eps: cfg.rms_norm_eps,
                    use_sliding_window: false,
                    hidden_act: Activation::Silu,
                };
                Net::Qwen2(qwen2::ModelForCausalLM::new(&c, vb)?)
            }
            Architecture::Qwen3 => {
                let c = qwen3::Config {
                    vocab_size: cfg.vocab_size,
                    hidden_size: cfg.hidden_size,
                    intermediate_size: cfg.intermediate_size,
                    num_hidden_layers: cfg.num_hidden_layers,
                    num_attention_heads: cfg.num_attention_heads,
                    head_dim: cfg.head_dim(),
                    attention_bias: false,
                    num_key_value_heads: cfg.num_key_value_heads,
                    max_position_embeddings: cfg.max_position_embeddings,
                    sliding_window: None,
                    max_window_layers: cfg.num_hidden_layers,
                    tie_word_embeddings: cfg.tie_word_embeddings,
                    rope_theta: cfg.rope_theta,
                    rms_norm_eps: cfg.rms_norm_eps,
                    use_sliding_window: false,
                    hidden_act: Activation::Silu,
                };
                Net::Qwen3(qwen3::ModelForCausalLM::new(&c, vb)?)
            }
            Architecture::Llama => {
                return Err(EvalError::Invalid(
                    "a llama model runs on the evaluator's candle llama".into(),
                ));
            }
        };
        Ok(CandleQwen {
            net,
            max_positions: cfg.max_position_embeddings,
            device: device.clone(),
        })
    }
}

impl Forward for CandleQwen {
    fn logits(&mut self, ids: &[u32], pos: usize) -> Result<Vec<f32>> {
        let input = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        let logits = match &mut self.net {
            Net::Qwen2(m) => {
                if pos == 0 {
                    m.clear_kv_cache();
                }
                m.forward(&input, pos)?
            }
            Net::Qwen3(m) => {
                if pos == 0 {
                    m.clear_kv_cache();
                }
                m.forward(&input, pos)?
            }
        };
        Ok(logits.flatten_all()?.to_vec1::<f32>()?)
    }

    fn max_positions(&self) -> usize {
        self.max_positions
    }
}
