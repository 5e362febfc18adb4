//! The fast path for a GGUF base on the CPU: base (+ merged adapter) weights written once as a
//! Q8_0 GGUF with the base's own metadata and tokenizer, then run on the offline model's
//! single-threaded Q8_0 engine (`llm::local::fast_llama`), which keeps a KV cache.
//!
//! Why: candle's f32 llama spends most of a token in per-op overhead and thread barriers on a
//! small model. Measured on SmolLM2-135M, release build, 2 shared cores (load ~6), 3 held-out
//! cot-math items x 48 tokens, base and base+adapter: 38-43 tokens/s here against 15.6-15.9
//! for candle f32 (prefill included). In a dev build this crate's kernel is unoptimised, so
//! tests use `--engine candle`.
//! The file is written to the temporary folder and removed once loaded (the engine keeps its
//! weights in memory).

use super::error::{EvalError, Result};
use super::generate::Forward;
use crate::llama::LlamaConfig;
use crate::llama::weights::permute;
use crate::llm::local::engine::{Engine, MAX_SEQ_LEN};
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use std::path::Path;

/// The engine behind [`Forward`].
pub struct EngineForward(Engine);

impl Forward for EngineForward {
    fn logits(&mut self, ids: &[u32], pos: usize) -> Result<Vec<f32>> {
        self.0
            .logits(ids, pos)
            .map_err(|e| EvalError::Invalid(format!("local engine: {e}")))
    }

    fn max_positions(&self) -> usize {
        MAX_SEQ_LEN
    }
}

/// The GGUF name of a Hugging Face weight of the llama family, and how many heads its rows are
/// permuted by (a llama's q and k are stored for interleaved RoPE; Qwen's are not).
fn gguf_name(hf: &str, cfg: &LlamaConfig) -> Option<(String, Option<usize>)> {
    match hf {
        "model.embed_tokens.weight" => return Some(("token_embd.weight".into(), None)),
        "model.norm.weight" => return Some(("output_norm.weight".into(), None)),
        "lm_head.weight" => return Some(("output.weight".into(), None)),
        _ => {}
    }
    let permuted = cfg.model_type.gguf_permutes_qk();
    let heads = |n: usize| permuted.then_some(n);
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, name) = rest.split_once('.')?;
    let (g, heads) = match name {
        "self_attn.q_proj.weight" => ("attn_q.weight", heads(cfg.num_attention_heads)),
        "self_attn.k_proj.weight" => ("attn_k.weight", heads(cfg.num_key_value_heads)),
        "self_attn.v_proj.weight" => ("attn_v.weight", None),
        "self_attn.o_proj.weight" => ("attn_output.weight", None),
        "self_attn.q_proj.bias" => ("attn_q.bias", None),
        "self_attn.k_proj.bias" => ("attn_k.bias", None),
        "self_attn.v_proj.bias" => ("attn_v.bias", None),
        "self_attn.q_norm.weight" => ("attn_q_norm.weight", None),
        "self_attn.k_norm.weight" => ("attn_k_norm.weight", None),
        "mlp.gate_proj.weight" => ("ffn_gate.weight", None),
        "mlp.up_proj.weight" => ("ffn_up.weight", None),
        "mlp.down_proj.weight" => ("ffn_down.weight", None),
        "input_layernorm.weight" => ("attn_norm.weight", None),
        "post_attention_layernorm.weight" => ("ffn_norm.weight", None),
        _ => return None,
    };
    Some((format!("blk.{layer}.{g}"), heads))
}

/// Loads `tensors` (Hugging Face names, f32) on the Q8_0 engine with the metadata and tokenizer
/// of the GGUF `base`.
pub fn engine_model(
    base: &Path,
    tensors: &[(String, Tensor)],
    cfg: &LlamaConfig,
) -> Result<Box<dyn Forward>> {
    let bad = |message: String| EvalError::BadModel {
        path: base.to_path_buf(),
        message,
    };
    let mut file = std::fs::File::open(base).map_err(super::error::io_err(base))?;
    let content = gguf_file::Content::read(&mut file)
        .map_err(|e| bad(format!("not a readable GGUF file: {e}")))?;
    let mut qts: Vec<(String, QTensor)> = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let Some((gname, heads)) = gguf_name(name, cfg) else {
            return Err(bad(format!("weight `{name}` has no GGUF name")));
        };
        let t = match heads {
            Some(h) => permute(t, h)?,
            None => t.clone(),
        };
        let q = if t.rank() == 2 && t.dim(1)? % 32 == 0 {
            QTensor::quantize(&t, GgmlDType::Q8_0)?
        } else {
            QTensor::quantize(&t, GgmlDType::F32)?
        };
        qts.push((gname, q));
    }
    let md: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let ts: Vec<(&str, &QTensor)> = qts.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tmp = std::env::temp_dir().join(format!(
        "assay-eval-{}-{}.gguf",
        std::process::id(),
        rand::random::<u64>()
    ));
    let written = (|| -> Result<()> {
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&tmp).map_err(super::error::io_err(&tmp))?,
        );
        gguf_file::write(&mut w, &md, &ts)?;
        std::io::Write::flush(&mut w).map_err(super::error::io_err(&tmp))?;
        Ok(())
    })();
    let loaded = written.and_then(|()| {
        crate::llm::local::load_engine(&tmp, &Device::Cpu)
            .map_err(|e| EvalError::Invalid(format!("loading the merged model: {e}")))
    });
    let _ = std::fs::remove_file(&tmp);
    Ok(Box::new(EngineForward(loaded?)))
}
