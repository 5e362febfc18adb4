//! Greedy generation for evaluation: prompt ids built exactly as training builds them, then
//! one token at a time through a model with a KV cache until end of turn or `max_tokens`.
//!
//! The adapter is merged into the base (`W + (alpha/r)·B·A`, once) and the merged weights run in
//! candle-transformers' llama, which keeps a KV cache; the training model's forward has none
//! and would recompute the whole sequence for every token. A GGUF base can instead run on the
//! offline model's Q8_0 engine (see [`super::fast`]).

use super::error::{EvalError, Result};
use super::items::EvalItem;
use crate::llama::{LlamaConfig, TextTokenizer};
use crate::model::{Content, Turn};
use crate::train::data::encode_chatml;
use candle_core::{DType, Device, Tensor};
use candle_transformers::models::llama as tl;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// Prompt ids for `item`: the ChatML encoding training uses, cut right after the opened
/// assistant turn (`<|im_start|>assistant\n`), so the model sees what it was trained to continue.
pub fn prompt_ids(tok: &dyn TextTokenizer, item: &EvalItem) -> Result<Vec<u32>> {
    let mut turns = item.turns.clone();
    turns.push(Turn::assistant(""));
    let content = Content {
        system: item.system.clone(),
        turns,
        ..Content::default()
    };
    let ex = encode_chatml(tok, &content, usize::MAX)?
        .ok_or_else(|| EvalError::Invalid(format!("sample {}: empty prompt", item.sample_id)))?;
    // The empty answer leaves one trained id: the closing `<|im_end|>` of the assistant turn.
    let end =
        ex.trained.iter().rposition(|t| *t).ok_or_else(|| {
            EvalError::Invalid(format!("sample {}: empty prompt", item.sample_id))
        })?;
    Ok(ex.ids[..end].to_vec())
}

/// The ids that end an answer: `<|im_end|>` and, where the vocabulary has it, `<|endoftext|>`.
pub fn stop_ids(tok: &dyn TextTokenizer) -> Vec<u32> {
    ["<|im_end|>", "<|endoftext|>"]
        .iter()
        .filter_map(|t| tok.special(t))
        .collect()
}

/// A network that gives next-token logits with a KV cache.
pub trait Forward {
    /// Logits after feeding `ids` at positions `pos..`; `pos == 0` starts a new sequence.
    fn logits(&mut self, ids: &[u32], pos: usize) -> Result<Vec<f32>>;
    /// The longest sequence (prompt + answer) the model takes.
    fn max_positions(&self) -> usize;
}

/// What greedy decoding produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Done(Vec<u32>),
    /// The cancel flag was set; the partial answer is not scored.
    Cancelled,
}

/// Greedy decoding from `prompt` until a stop id, `max_new` tokens or the model's last
/// position.
pub fn greedy(
    model: &mut dyn Forward,
    prompt: &[u32],
    max_new: usize,
    stops: &[u32],
    cancel: &AtomicBool,
) -> Result<Decoded> {
    let room = model.max_positions().saturating_sub(prompt.len());
    let max_new = max_new.min(room);
    let mut out = Vec::new();
    if max_new == 0 {
        return Ok(Decoded::Done(out));
    }
    let mut logits = model.logits(prompt, 0)?;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Ok(Decoded::Cancelled);
        }
        let next = argmax(&logits)
            .ok_or_else(|| EvalError::Invalid("the model returned no logits".into()))?;
        if stops.contains(&next) {
            break;
        }
        out.push(next);
        if out.len() >= max_new {
            break;
        }
        logits = model.logits(&[next], prompt.len() + out.len() - 1)?;
    }
    Ok(Decoded::Done(out))
}

/// The first index of the largest value (NaN counts as smallest).
fn argmax(v: &[f32]) -> Option<u32> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &x) in v.iter().enumerate() {
        let x = if x.is_nan() { f32::NEG_INFINITY } else { x };
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i as u32)
}

/// candle-transformers' llama over plain f32 weights (Hugging Face names), with its KV cache.
pub struct CandleLlama {
    model: tl::Llama,
    config: tl::Config,
    cache: tl::Cache,
    device: Device,
}

impl CandleLlama {
    /// Builds the model from weights named as in [`crate::train::LoraLlama::merged_tensors`].
    pub fn new(tensors: Vec<(String, Tensor)>, cfg: &LlamaConfig, device: &Device) -> Result<Self> {
        if cfg.model_type != crate::llama::Architecture::Llama {
            return Err(EvalError::Invalid(format!(
                "a {} model runs on the evaluator's candle Qwen, not its llama",
                cfg.model_type.name()
            )));
        }
        let map: HashMap<String, Tensor> = tensors.into_iter().collect();
        check_shapes(&map, cfg)?;
        use crate::llama::rope::RopeScaling;
        let rope_scaling = match &cfg.rope_scaling {
            // Dynamic scaling changes nothing within max_position_embeddings (see `rope`).
            None | Some(RopeScaling::Dynamic { .. }) => None,
            Some(RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            }) => Some(tl::Llama3RopeConfig {
                factor: *factor as f32,
                low_freq_factor: *low_freq_factor as f32,
                high_freq_factor: *high_freq_factor as f32,
                original_max_position_embeddings: *original_max_position_embeddings,
                rope_type: tl::Llama3RopeType::Llama3,
            }),
            Some(RopeScaling::Linear { .. }) => {
                return Err(EvalError::Invalid(
                    "rope_scaling: linear scaling is not supported by the evaluator's candle \
                     llama (the built-in trainer supports it)"
                        .into(),
                ));
            }
        };
        let config = tl::Config {
            hidden_size: cfg.hidden_size,
            intermediate_size: cfg.intermediate_size,
            vocab_size: cfg.vocab_size,
            num_hidden_layers: cfg.num_hidden_layers,
            num_attention_heads: cfg.num_attention_heads,
            num_key_value_heads: cfg.num_key_value_heads,
            use_flash_attn: false,
            rms_norm_eps: cfg.rms_norm_eps,
            rope_theta: cfg.rope_theta as f32,
            bos_token_id: None,
            eos_token_id: None,
            rope_scaling,
            max_position_embeddings: cfg.max_position_embeddings,
            tie_word_embeddings: cfg.tie_word_embeddings,
        };
        let vb = candle_nn::VarBuilder::from_tensors(map, DType::F32, device);
        let model = tl::Llama::load(vb, &config)?;
        let cache = tl::Cache::new(true, DType::F32, &config, device)?;
        Ok(CandleLlama {
            model,
            config,
            cache,
            device: device.clone(),
        })
    }
}

impl Forward for CandleLlama {
    fn logits(&mut self, ids: &[u32], pos: usize) -> Result<Vec<f32>> {
        if pos == 0 {
            self.cache = tl::Cache::new(true, DType::F32, &self.config, &self.device)?;
        }
        let input = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        let logits = self.model.forward(&input, pos, &mut self.cache)?;
        Ok(logits.squeeze(0)?.to_vec1::<f32>()?)
    }

    fn max_positions(&self) -> usize {
        self.config.max_position_embeddings
    }
}

/// Every weight candle's llama / Qwen loaders read, with the shape they expect: a loader may
/// panic on a missing or misshapen weight, so a bad model folder is reported here first.
pub(super) fn check_shapes(map: &HashMap<String, Tensor>, c: &LlamaConfig) -> Result<()> {
    let (h, i) = (c.hidden_size, c.intermediate_size);
    let (q, kv) = (c.q_dim(), c.kv_dim());
    let mut want: Vec<(String, Vec<usize>)> = vec![
        ("model.embed_tokens.weight".into(), vec![c.vocab_size, h]),
        ("model.norm.weight".into(), vec![h]),
    ];
    if !c.tie_word_embeddings {
        want.push(("lm_head.weight".into(), vec![c.vocab_size, h]));
    }
    for l in 0..c.num_hidden_layers {
        let n = |s: &str| format!("model.layers.{l}.{s}.weight");
        want.extend([
            (n("self_attn.q_proj"), vec![q, h]),
            (n("self_attn.k_proj"), vec![kv, h]),
            (n("self_attn.v_proj"), vec![kv, h]),
            (n("self_attn.o_proj"), vec![h, q]),
            (n("mlp.gate_proj"), vec![i, h]),
            (n("mlp.up_proj"), vec![i, h]),
            (n("mlp.down_proj"), vec![h, i]),
            (n("input_layernorm"), vec![h]),
            (n("post_attention_layernorm"), vec![h]),
        ]);
        if c.model_type.qkv_bias() {
            let b = |s: &str| format!("model.layers.{l}.self_attn.{s}.bias");
            want.extend([
                (b("q_proj"), vec![q]),
                (b("k_proj"), vec![kv]),
                (b("v_proj"), vec![kv]),
            ]);
        }
        if c.model_type.qk_norm() {
            let d = c.head_dim();
            want.extend([
                (n("self_attn.q_norm"), vec![d]),
                (n("self_attn.k_norm"), vec![d]),
            ]);
        }
    }
    for (name, shape) in want {
        match map.get(&name) {
            None => {
                return Err(EvalError::Invalid(format!(
                    "weight `{name}` is missing; does the config's model_type ({}) match the weights?",
                    c.model_type.name()
                )));
            }
            Some(t) if t.dims() != shape.as_slice() => {
                return Err(EvalError::Invalid(format!(
                    "weight `{name}` has shape {:?}; the model's config implies {shape:?}",
                    t.dims()
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llama::ByteTokenizer;

    #[test]
    fn argmax_takes_the_first_best_and_skips_nan() {
        assert_eq!(argmax(&[0.1, 3.0, 3.0, f32::NAN]), Some(1));
        assert_eq!(argmax(&[f32::NAN, -1.0]), Some(1));
        assert_eq!(argmax(&[]), None);
    }

    #[test]
    fn prompt_ends_with_the_opened_assistant_turn() {
        let item = EvalItem {
            sample_id: 1,
            kind: crate::model::SampleKind::Qa,
            system: Some("sys".into()),
            turns: vec![Turn::user("1+1?")],
            golden: "2".into(),
            options: vec![],
        };
        let ids = prompt_ids(&ByteTokenizer, &item).unwrap();
        let text = ByteTokenizer.decode(&ids).unwrap();
        assert_eq!(text, "system\nsys\nuser\n1+1?\nassistant\n");
        assert_eq!(ids.iter().filter(|&&i| i == 256).count(), 3);
        assert_eq!(ids.last(), Some(&u32::from(b'\n')));
    }
}
