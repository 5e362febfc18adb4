//! Tiny randomly initialised models of the llama family (llama, Qwen2 tied and untied, Qwen3
//! with its own head width) whose every architecture-specific weight matters: biases random,
//! norms (Qwen3's q/k norms too) away from 1. And a writer of such a model as a GGUF file laid
//! out as llama.cpp's converter lays it out (`blk.N.attn_q.bias`, `blk.N.attn_q_norm.weight`,
//! `<arch>.*` metadata, q/k rows permuted for llama only, `output.weight` absent when tied).
#![allow(dead_code)]

use assay::llama::weights::permute;
use assay::llama::{Architecture, BaseWeights, LlamaConfig};
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use std::path::Path;

/// A tiny config: hidden 64, 2 layers, 4 heads, 2 key/value heads; Qwen3 with heads of 32
/// (q width 128, twice the hidden size), as Qwen3 sizes heads apart from the hidden size.
pub fn config(arch: Architecture, tied: bool) -> LlamaConfig {
    LlamaConfig {
        model_type: arch,
        vocab_size: 101,
        hidden_size: 64,
        intermediate_size: 96,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: (arch == Architecture::Qwen3).then_some(32),
        rms_norm_eps: 1e-6,
        rope_theta: 1_000_000.0,
        max_position_embeddings: 64,
        tie_word_embeddings: tied,
        rope_scaling: None,
    }
}

/// The three cases every Qwen test runs: Qwen2 untied, Qwen2 tied, Qwen3 (untied).
pub fn cases() -> [(&'static str, LlamaConfig); 3] {
    [
        ("qwen2", config(Architecture::Qwen2, false)),
        ("qwen2 tied", config(Architecture::Qwen2, true)),
        ("qwen3", config(Architecture::Qwen3, false)),
    ]
}

/// Random weights for `cfg`, with every norm weight drawn from [0.7, 1.3) so that a norm applied
/// in the wrong place (or not at all) changes the result, and the attention projections five
/// times `random`'s (std 0.1): attention scores of order 1, so that a wrong RoPE or head layout
/// shows in the logits rather than drowning in nearly uniform attention.
pub fn base(cfg: LlamaConfig, seed: u64) -> BaseWeights {
    let mut base = BaseWeights::random(cfg, &Device::Cpu, seed).unwrap();
    for (name, t) in base.tensors.iter_mut() {
        if name.contains("self_attn.") && name.ends_with("_proj.weight") {
            *t = (&*t * 5.0).unwrap();
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xabcd);
    let mut names: Vec<String> = base
        .tensors
        .keys()
        .filter(|n| n.contains("norm"))
        .cloned()
        .collect();
    names.sort();
    for name in names {
        let n = base.tensors[&name].elem_count();
        let data: Vec<f32> = (0..n).map(|_| rng.random_range(0.7..1.3)).collect();
        base.tensors
            .insert(name, Tensor::from_vec(data, n, &Device::Cpu).unwrap());
    }
    base
}

/// The GGUF name of a Hugging Face weight, as llama.cpp's `convert_hf_to_gguf.py` writes it.
fn gguf_name(hf: &str) -> String {
    match hf {
        "model.embed_tokens.weight" => return "token_embd.weight".into(),
        "model.norm.weight" => return "output_norm.weight".into(),
        "lm_head.weight" => return "output.weight".into(),
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.").expect(hf);
    let (layer, name) = rest.split_once('.').expect(hf);
    let g = match name {
        "self_attn.q_proj.weight" => "attn_q.weight",
        "self_attn.k_proj.weight" => "attn_k.weight",
        "self_attn.v_proj.weight" => "attn_v.weight",
        "self_attn.o_proj.weight" => "attn_output.weight",
        "self_attn.q_proj.bias" => "attn_q.bias",
        "self_attn.k_proj.bias" => "attn_k.bias",
        "self_attn.v_proj.bias" => "attn_v.bias",
        "self_attn.q_norm.weight" => "attn_q_norm.weight",
        "self_attn.k_norm.weight" => "attn_k_norm.weight",
        "mlp.gate_proj.weight" => "ffn_gate.weight",
        "mlp.up_proj.weight" => "ffn_up.weight",
        "mlp.down_proj.weight" => "ffn_down.weight",
        "input_layernorm.weight" => "attn_norm.weight",
        "post_attention_layernorm.weight" => "ffn_norm.weight",
        other => panic!("no GGUF name for {other}"),
    };
    format!("blk.{layer}.{g}")
}

/// Writes `base` as a GGUF file (matrices in `dtype`, vectors in f32) with the metadata
/// llama.cpp writes for its architecture, plus `extra` (a tokenizer's); `arch_name` overrides
/// `general.architecture`.
pub fn write_gguf(
    base: &BaseWeights,
    path: &Path,
    dtype: GgmlDType,
    arch_name: Option<&str>,
    extra: &[(String, gguf_file::Value)],
) {
    let c = &base.config;
    let arch = c.model_type;
    let p = arch_name.unwrap_or(arch.name()).to_string();
    let u = |v: usize| gguf_file::Value::U32(v as u32);
    let mut md: Vec<(String, gguf_file::Value)> = vec![
        (
            "general.architecture".into(),
            gguf_file::Value::String(p.clone()),
        ),
        (format!("{p}.embedding_length"), u(c.hidden_size)),
        (format!("{p}.feed_forward_length"), u(c.intermediate_size)),
        (format!("{p}.block_count"), u(c.num_hidden_layers)),
        (
            format!("{p}.attention.head_count"),
            u(c.num_attention_heads),
        ),
        (
            format!("{p}.attention.head_count_kv"),
            u(c.num_key_value_heads),
        ),
        (format!("{p}.context_length"), u(c.max_position_embeddings)),
        (
            format!("{p}.attention.layer_norm_rms_epsilon"),
            gguf_file::Value::F32(c.rms_norm_eps as f32),
        ),
        (
            format!("{p}.rope.freq_base"),
            gguf_file::Value::F32(c.rope_theta as f32),
        ),
    ];
    if arch == Architecture::Qwen3 {
        md.push((format!("{p}.attention.key_length"), u(c.head_dim())));
        md.push((format!("{p}.attention.value_length"), u(c.head_dim())));
    }
    md.extend(extra.iter().cloned());
    let mut names: Vec<&String> = base.tensors.keys().collect();
    names.sort();
    let mut qts = Vec::new();
    for name in names {
        if name == "lm_head.weight" && c.tie_word_embeddings {
            continue;
        }
        let mut t = base.tensors[name].clone();
        if arch.gguf_permutes_qk() {
            if name.ends_with("q_proj.weight") {
                t = permute(&t, c.num_attention_heads).unwrap();
            } else if name.ends_with("k_proj.weight") {
                t = permute(&t, c.num_key_value_heads).unwrap();
            }
        }
        let q = if t.rank() == 2 {
            QTensor::quantize(&t, dtype).unwrap()
        } else {
            QTensor::quantize(&t, GgmlDType::F32).unwrap()
        };
        qts.push((gguf_name(name), q));
    }
    let mdr: Vec<(&str, &gguf_file::Value)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = qts.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut f, &mdr, &ts).unwrap();
}

/// The `tokenizer.*` metadata of a GGUF file (SmolLM2's byte-level BPE and ChatML tokens), to
/// give a tiny model a real tokenizer.
pub fn tokenizer_metadata(gguf: &Path) -> Vec<(String, gguf_file::Value)> {
    let mut f = std::fs::File::open(gguf).unwrap();
    let content = gguf_file::Content::read(&mut f).unwrap();
    let mut md: Vec<(String, gguf_file::Value)> = content
        .metadata
        .into_iter()
        .filter(|(k, _)| k.starts_with("tokenizer."))
        .collect();
    md.sort_by(|a, b| a.0.cmp(&b.0));
    md
}

/// The largest difference between two tensors, relative to the largest magnitude of `want`.
pub fn rel_diff(got: &Tensor, want: &Tensor) -> f32 {
    let scale = want
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let d = (got - want)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    d / scale.max(1e-6)
}
