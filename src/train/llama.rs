//! A trainable llama-family model (llama, Qwen2's q/k/v biases, Qwen3's per-head q/k norms):
//! base weights frozen, LoRA pairs on the chosen projections. On the CPU each decoder layer is
//! one fused op with a hand-written backward ([`super::fused`]); elsewhere, and as the reference
//! the fused op is tested against, the layer is composed from differentiable tensor ops
//! (half-split RoPE, RMSNorm, softmax).
//!
//! candle-transformers' llama cannot serve here: it returns only the last position's logits and
//! its fused RoPE / softmax / RMSNorm kernels have no backward pass.

use super::attention::Dims;
use super::error::Result;
use super::frozen::frozen_linear;
use super::fused::{FusedLayer, FusedNorm, LayerSpec, LoraSlot};
use super::head::HeadCrossEntropy;
use super::lora::{LoraConfig, LoraPair, Projection, seeded};
use super::loss::masked_cross_entropy;
use crate::llama::{BaseWeights, LlamaConfig};
use candle_core::{D, DType, Device, Tensor, Var};
use rand::RngCore;
use std::sync::{Arc, Mutex};

struct Layer {
    input_norm: Tensor,
    post_norm: Tensor,
    /// Qwen3's RMSNorm weights over each head of q and of k (`q_norm`, `k_norm`).
    qk_norm: Option<[Tensor; 2]>,
    /// q, k, v, o, gate, up, down: in that order, matching [`MODULES`].
    proj: Vec<Projection>,
}

/// The projection module names in the order a layer keeps them.
pub const MODULES: [(&str, &str); 7] = [
    ("self_attn", "q_proj"),
    ("self_attn", "k_proj"),
    ("self_attn", "v_proj"),
    ("self_attn", "o_proj"),
    ("mlp", "gate_proj"),
    ("mlp", "up_proj"),
    ("mlp", "down_proj"),
];

pub struct LoraLlama {
    pub config: LlamaConfig,
    pub lora: LoraConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    lm_head: Tensor,
    cos: Tensor,
    sin: Tensor,
    device: Device,
    /// The layers as fused CPU ops see them (weights shared with `layers`, not copied).
    specs: Vec<Arc<LayerSpec>>,
    /// Seeds the LoRA dropout masks of the fused layers, so a seeded run is reproducible.
    dropout_rng: Mutex<rand_chacha::ChaCha8Rng>,
    /// The fused loss's logits buffer, reused from step to step.
    head_scratch: Arc<Mutex<Vec<f32>>>,
}

impl LoraLlama {
    /// Wraps frozen base weights with fresh LoRA pairs (A seeded by `seed`, B zero).
    pub fn new(base: &BaseWeights, lora: LoraConfig, seed: u64) -> Result<Self> {
        lora.validate()?;
        crate::cpu::memory::keep_freed_memory();
        let cfg = base.config.clone();
        let device = base.get("model.embed_tokens.weight")?.device().clone();
        let mut rng = seeded(seed);
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        let arch = cfg.model_type;
        for i in 0..cfg.num_hidden_layers {
            let mut proj = Vec::with_capacity(MODULES.len());
            for (m, (group, name)) in MODULES.into_iter().enumerate() {
                let weight = base
                    .get(&format!("model.layers.{i}.{group}.{name}.weight"))?
                    .clone();
                // q, k and v are the first three modules.
                let bias = if arch.qkv_bias() && m < 3 {
                    let name = format!("model.layers.{i}.{group}.{name}.bias");
                    Some(sized(base, &name, weight.dim(0)?)?)
                } else {
                    None
                };
                let pair = if lora.targets.iter().any(|t| t == name) {
                    let (out, inp) = weight.dims2()?;
                    Some(LoraPair::init(lora.rank, inp, out, &mut rng, &weight)?)
                } else {
                    None
                };
                proj.push(Projection {
                    weight,
                    bias,
                    lora: pair,
                    scale: lora.scale(),
                    dropout: lora.dropout,
                });
            }
            layers.push(Layer {
                input_norm: base
                    .get(&format!("model.layers.{i}.input_layernorm.weight"))?
                    .clone(),
                post_norm: base
                    .get(&format!("model.layers.{i}.post_attention_layernorm.weight"))?
                    .clone(),
                qk_norm: if arch.qk_norm() {
                    let n = |s: &str| {
                        let name = format!("model.layers.{i}.self_attn.{s}.weight");
                        sized(base, &name, cfg.head_dim())
                    };
                    Some([n("q_norm")?, n("k_norm")?])
                } else {
                    None
                },
                proj,
            });
        }
        let (cos, sin) = rope_tables(&cfg, &device)?;
        let rope = Arc::new((cos.flatten_all()?.to_vec1()?, sin.flatten_all()?.to_vec1()?));
        let specs = layers
            .iter()
            .map(|l| layer_spec(l, &cfg, lora.scale() as f32, &rope))
            .collect::<Result<_>>()?;
        Ok(LoraLlama {
            specs,
            dropout_rng: Mutex::new(seeded(seed ^ 0x5eed_d50f)),
            head_scratch: Arc::default(),
            embed: base.get("model.embed_tokens.weight")?.clone(),
            norm: base.get("model.norm.weight")?.clone(),
            lm_head: base.lm_head()?.clone(),
            config: cfg,
            lora,
            layers,
            cos,
            sin,
            device,
        })
    }

    /// Restarts the LoRA dropout masks of the fused CPU layers from `seed`: the same seed and
    /// inputs give the same masks, hence the same loss (what a gradient check needs).
    pub fn reseed_dropout(&self, seed: u64) {
        if let Ok(mut rng) = self.dropout_rng.lock() {
            *rng = seeded(seed);
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Every LoRA pair with its PEFT module path (`model.layers.3.self_attn.q_proj`).
    pub fn lora_pairs(&self) -> Vec<(String, &LoraPair)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            for (p, (group, name)) in layer.proj.iter().zip(MODULES) {
                if let Some(pair) = &p.lora {
                    out.push((format!("model.layers.{i}.{group}.{name}"), pair));
                }
            }
        }
        out
    }

    /// The trainable variables, in a stable order.
    pub fn vars(&self) -> Vec<Var> {
        self.lora_pairs()
            .into_iter()
            .flat_map(|(_, p)| [p.a.clone(), p.b.clone()])
            .collect()
    }

    /// Base weights with every adapter folded in, under Hugging Face names.
    pub fn merged_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = vec![
            ("model.embed_tokens.weight".to_string(), self.embed.clone()),
            ("model.norm.weight".to_string(), self.norm.clone()),
        ];
        if !self.config.tie_word_embeddings {
            out.push(("lm_head.weight".into(), self.lm_head.clone()));
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let l = |s: &str| format!("model.layers.{i}.{s}.weight");
            out.push((l("input_layernorm"), layer.input_norm.clone()));
            out.push((l("post_attention_layernorm"), layer.post_norm.clone()));
            if let Some([q, k]) = &layer.qk_norm {
                out.push((l("self_attn.q_norm"), q.clone()));
                out.push((l("self_attn.k_norm"), k.clone()));
            }
            for (p, (group, name)) in layer.proj.iter().zip(MODULES) {
                out.push((l(&format!("{group}.{name}")), p.merged_weight()?));
                if let Some(b) = &p.bias {
                    out.push((format!("model.layers.{i}.{group}.{name}.bias"), b.clone()));
                }
            }
        }
        Ok(out)
    }

    /// Logits for every position: ids (batch, seq) -> (batch, seq, vocab).
    pub fn forward(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.hidden(ids, train)?;
        Ok(frozen_linear(&h, &self.lm_head)?)
    }

    /// The mean cross-entropy over masked positions, as [`masked_cross_entropy`] of
    /// [`Self::forward`]; on the CPU the output projection and the loss are one op
    /// ([`HeadCrossEntropy`]) that never hands the (tokens x vocab) logits to autograd.
    pub fn masked_loss(
        &self,
        ids: &Tensor,
        targets: &Tensor,
        mask: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        if !self.device.is_cpu() {
            return masked_cross_entropy(&self.forward(ids, train)?, targets, mask);
        }
        let (b, s) = ids.dims2()?;
        let h = self
            .hidden(ids, train)?
            .reshape((b * s, self.config.hidden_size))?;
        let op =
            HeadCrossEntropy::new(self.lm_head.contiguous()?, train, self.head_scratch.clone());
        let targets = targets.reshape(b * s)?.to_dtype(DType::U32)?.contiguous()?;
        let nll = h.contiguous()?.apply_op2(&targets, op)?;
        let mask = mask.reshape(b * s)?.to_dtype(DType::F32)?;
        let count = mask.sum_all()?.to_scalar::<f32>()?.max(1.0);
        Ok(((nll * mask)?.sum_all()? / f64::from(count))?)
    }

    /// Logits through the composed, autograd-differentiated layers (any device); the fused CPU
    /// path must match it.
    pub fn forward_composed(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.hidden_composed(ids, train)?;
        Ok(frozen_linear(&h, &self.lm_head)?)
    }

    /// The final normed hidden states (batch, seq, hidden): fused layers on the CPU.
    pub fn hidden(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        if self.device.is_cpu() {
            self.hidden_fused(ids, train)
        } else {
            self.hidden_composed(ids, train)
        }
    }

    fn hidden_fused(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        let (b, s) = ids.dims2()?;
        let cfg = &self.config;
        if s > cfg.max_position_embeddings {
            return Err(super::error::TrainError::BadConfig {
                field: "max_seq_len".into(),
                message: format!(
                    "{s} tokens exceed the model's {} positions",
                    cfg.max_position_embeddings
                ),
            });
        }
        let dims = Dims {
            batch: b,
            seq: s,
            heads: cfg.num_attention_heads,
            kv_heads: cfg.num_key_value_heads,
            head_dim: cfg.head_dim(),
        };
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?;
        for (i, (layer, spec)) in self.layers.iter().zip(&self.specs).enumerate() {
            let parts = layer
                .proj
                .iter()
                .filter_map(|p| p.lora.as_ref())
                .flat_map(|p| [p.a.as_tensor(), p.b.as_tensor()])
                .map(|t| t.flatten_all())
                .collect::<candle_core::Result<Vec<_>>>()?;
            let packed = if parts.is_empty() {
                Tensor::zeros(1, DType::F32, &self.device)?
            } else {
                Tensor::cat(&parts, 0)?
            };
            let dropout = (train && self.lora.dropout > 0.0).then(|| {
                let seed = self
                    .dropout_rng
                    .lock()
                    .map_or(i as u64, |mut r| r.next_u64());
                (self.lora.dropout, seed)
            });
            let op = FusedLayer::new(spec.clone(), dims, dropout, i > 0 || x.track_op());
            x = x.contiguous()?.apply_op2(&packed, op)?;
        }
        let norm = FusedNorm {
            weight: self.norm.clone(),
            eps: cfg.rms_norm_eps as f32,
        };
        Ok(x.apply_op1(norm)?.reshape((b, s, cfg.hidden_size))?)
    }

    /// [`Self::hidden`] through composed tensor ops with autograd.
    pub fn hidden_composed(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        let (b, s) = ids.dims2()?;
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?.reshape((
            b,
            s,
            self.config.hidden_size,
        ))?;
        let mask = causal_mask(s, &self.device)?;
        let cos = self.cos.narrow(0, 0, s)?;
        let sin = self.sin.narrow(0, 0, s)?;
        let eps = self.config.rms_norm_eps as f32;
        for layer in &self.layers {
            let hn = candle_nn::ops::rms_norm_slow(&x, &layer.input_norm, eps)?;
            let att = self.attention(layer, &hn, &mask, &cos, &sin, train)?;
            x = (x + att)?;
            let hn = candle_nn::ops::rms_norm_slow(&x, &layer.post_norm, eps)?;
            let gate = layer.proj[4].forward(&hn, train)?;
            let up = layer.proj[5].forward(&hn, train)?;
            let mlp = layer.proj[6].forward(&(gate.silu()? * up)?, train)?;
            x = (x + mlp)?;
        }
        Ok(candle_nn::ops::rms_norm_slow(&x, &self.norm, eps)?)
    }

    fn attention(
        &self,
        layer: &Layer,
        x: &Tensor,
        mask: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let cfg = &self.config;
        let (b, s, _) = x.dims3()?;
        let (h, kv, d) = (
            cfg.num_attention_heads,
            cfg.num_key_value_heads,
            cfg.head_dim(),
        );
        let rep = h / kv;
        let eps = cfg.rms_norm_eps as f32;
        // Qwen3 norms each head of q and k (the last axis) before RoPE.
        let heads = |t: Tensor, n: usize, norm: Option<&Tensor>| -> Result<Tensor> {
            let t = t.reshape((b, s, n, d))?;
            let t = match norm {
                Some(w) => candle_nn::ops::rms_norm_slow(&t, w, eps)?,
                None => t,
            };
            Ok(t.transpose(1, 2)?.contiguous()?)
        };
        let (qn, kn) = match &layer.qk_norm {
            Some([q, k]) => (Some(q), Some(k)),
            None => (None, None),
        };
        let q = heads(layer.proj[0].forward(x, train)?, h, qn)?;
        let k = heads(layer.proj[1].forward(x, train)?, kv, kn)?;
        let v = heads(layer.proj[2].forward(x, train)?, kv, None)?;
        let q = candle_nn::rotary_emb::rope_slow(&q, cos, sin)?;
        let k = candle_nn::rotary_emb::rope_slow(&k, cos, sin)?;
        // Grouped-query attention without copying k and v: the `rep` query heads that share a
        // key/value head are stacked along the sequence axis (head h uses kv head h / rep).
        let q = q.reshape((b, kv, rep * s, d))?;
        let scores = (q.matmul(&k.t()?)? * (1.0 / (d as f64).sqrt()))?;
        let scores = scores.reshape((b, h, s, s))?.broadcast_add(mask)?;
        let probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let y = probs.reshape((b, kv, rep * s, s))?.matmul(&v)?;
        let y = y
            .reshape((b, h, s, d))?
            .transpose(1, 2)?
            .reshape((b, s, h * d))?;
        layer.proj[3].forward(&y, train)
    }
}

/// The vector weight `name` (a bias, a per-head norm), which must hold `len` values.
fn sized(base: &BaseWeights, name: &str, len: usize) -> Result<Tensor> {
    let t = base.get(name)?;
    if t.dims() != [len] {
        return Err(crate::llama::LlamaError::BadModel {
            path: base.source.clone(),
            field: name.into(),
            message: format!("shape {:?}; the model's config implies [{len}]", t.dims()),
        }
        .into());
    }
    Ok(t.clone())
}

/// A layer's weights and LoRA slots (offsets into the packed A/B tensor) for the fused op.
fn layer_spec(
    layer: &Layer,
    cfg: &LlamaConfig,
    scale: f32,
    rope: &Arc<(Vec<f32>, Vec<f32>)>,
) -> Result<Arc<LayerSpec>> {
    let mut offset = 0;
    let mut lora = Vec::with_capacity(layer.proj.len());
    for p in &layer.proj {
        lora.push(match &p.lora {
            Some(pair) => {
                let slot = LoraSlot {
                    rank: pair.a.dim(0)?,
                    offset,
                };
                offset += pair.a.elem_count() + pair.b.elem_count();
                Some(slot)
            }
            None => None,
        });
    }
    let vec = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
    Ok(Arc::new(LayerSpec {
        proj: layer
            .proj
            .iter()
            .map(|p| p.weight.contiguous())
            .collect::<candle_core::Result<_>>()?,
        bias: layer
            .proj
            .iter()
            .map(|p| p.bias.as_ref().map(vec).transpose())
            .collect::<candle_core::Result<_>>()?,
        qk_norm: match &layer.qk_norm {
            Some([q, k]) => Some([vec(q)?, vec(k)?]),
            None => None,
        },
        lora,
        norms: [
            layer.input_norm.contiguous()?,
            layer.post_norm.contiguous()?,
        ],
        eps: cfg.rms_norm_eps as f32,
        scale,
        rope: rope.clone(),
    }))
}

fn causal_mask(s: usize, device: &Device) -> Result<Tensor> {
    let data: Vec<f32> = (0..s)
        .flat_map(|i| (0..s).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Ok(Tensor::from_vec(data, (s, s), device)?)
}

fn rope_tables(cfg: &LlamaConfig, device: &Device) -> Result<(Tensor, Tensor)> {
    let d = cfg.head_dim();
    let n = cfg.max_position_embeddings.max(1);
    let inv: Vec<f32> = cfg.inv_freq().into_iter().map(|f| f as f32).collect();
    let inv = Tensor::from_vec(inv, (1, d / 2), device)?;
    let t = Tensor::arange(0u32, n as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((n, 1))?;
    let freqs = t.broadcast_mul(&inv)?;
    Ok((freqs.cos()?, freqs.sin()?))
}
