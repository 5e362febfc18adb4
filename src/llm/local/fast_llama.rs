//! A single-threaded llama forward pass over Q8_0 weights, for the CPU: one token at a time,
//! preallocated buffers and KV cache, no per-op tensors or thread barriers.
//!
//! Why: on a small model candle's per-op overhead (an allocation and a thread barrier for each
//! of ~600 ops per token) dominates, and on a busy machine the barriers' spinning threads make
//! it several times slower (see benches/local_llm.rs). The maths is candle's `quantized_llama`
//! (interleaved RoPE as GGUF stores llama's q/k, grouped-query attention); the test in
//! `tests/local_model.rs` checks its logits against llama.cpp's on the real model (candle's
//! drift further from them).

use candle_core::quantized::gguf_file;
use candle_core::{Device, Result};

use super::q8::{Q8Matrix, Q8Vector};

struct Layer {
    attn_norm: Vec<f32>,
    wq: Q8Matrix,
    wk: Q8Matrix,
    wv: Q8Matrix,
    wo: Q8Matrix,
    ffn_norm: Vec<f32>,
    w_gate: Q8Matrix,
    w_up: Q8Matrix,
    w_down: Q8Matrix,
}

/// The model plus its KV cache and scratch buffers.
pub struct FastLlama {
    embeddings: Vec<f32>,
    layers: Vec<Layer>,
    out_norm: Vec<f32>,
    output: Q8Matrix,
    dim: usize,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    eps: f32,
    /// cos/sin per position and frequency: `[pos * head_dim / 2 + i]`.
    cos: Vec<f32>,
    sin: Vec<f32>,
    max_seq: usize,
    /// Per layer: `[pos][kv_dim]`.
    k_cache: Vec<Vec<f32>>,
    v_cache: Vec<Vec<f32>>,
    s: Scratch,
}

#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    xn: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att_out: Vec<f32>,
    proj: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    scores: Vec<f32>,
    xq: Q8Vector,
    logits: Vec<f32>,
}

fn md_u32(ct: &gguf_file::Content, key: &str) -> Result<usize> {
    match ct.metadata.get(key) {
        Some(v) => Ok(v.to_u32()? as usize),
        None => candle_core::bail!("cannot find {key} in the GGUF metadata"),
    }
}

fn vector<R: std::io::Read + std::io::Seek>(
    ct: &gguf_file::Content,
    r: &mut R,
    name: &str,
) -> Result<Vec<f32>> {
    ct.tensor(r, name, &Device::Cpu)?
        .dequantize(&Device::Cpu)?
        .flatten_all()?
        .to_vec1()
}

fn matrix<R: std::io::Read + std::io::Seek>(
    ct: &gguf_file::Content,
    r: &mut R,
    name: &str,
) -> Result<Q8Matrix> {
    Q8Matrix::from_qtensor(&ct.tensor(r, name, &Device::Cpu)?)
}

impl FastLlama {
    /// Loads a llama-architecture GGUF (dense, no mixture of experts).
    pub fn from_gguf<R: std::io::Read + std::io::Seek>(
        ct: &gguf_file::Content,
        r: &mut R,
        max_seq: usize,
    ) -> Result<Self> {
        let n_head = md_u32(ct, "llama.attention.head_count")?;
        let n_kv_head = md_u32(ct, "llama.attention.head_count_kv")?;
        let n_layer = md_u32(ct, "llama.block_count")?;
        let dim = md_u32(ct, "llama.embedding_length")?;
        if ct.metadata.contains_key("llama.expert_count") {
            candle_core::bail!("mixture-of-experts models are not supported by the fast path");
        }
        let eps = match ct.metadata.get("llama.attention.layer_norm_rms_epsilon") {
            Some(v) => v.to_f32()?,
            None => 1e-5,
        };
        let base = ct
            .metadata
            .get("llama.rope.freq_base")
            .and_then(|v| v.to_f32().ok())
            .unwrap_or(10000.0);
        let head_dim = dim / n_head;
        if n_head == 0 || n_kv_head == 0 || n_head % n_kv_head != 0 || head_dim % 2 != 0 {
            candle_core::bail!("unsupported head layout: {n_head} heads, {n_kv_head} kv heads");
        }
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(max_seq * half);
        let mut sin = Vec::with_capacity(max_seq * half);
        for pos in 0..max_seq {
            for i in 0..half {
                let theta = 1.0 / base.powf((2 * i) as f32 / head_dim as f32);
                let a = pos as f32 * theta;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
        let embeddings = vector(ct, r, "token_embd.weight")?;
        let output = if ct.tensor_infos.contains_key("output.weight") {
            matrix(ct, r, "output.weight")?
        } else {
            matrix(ct, r, "token_embd.weight")?
        };
        let mut layers = Vec::with_capacity(n_layer);
        for i in 0..n_layer {
            let p = format!("blk.{i}");
            layers.push(Layer {
                attn_norm: vector(ct, r, &format!("{p}.attn_norm.weight"))?,
                wq: matrix(ct, r, &format!("{p}.attn_q.weight"))?,
                wk: matrix(ct, r, &format!("{p}.attn_k.weight"))?,
                wv: matrix(ct, r, &format!("{p}.attn_v.weight"))?,
                wo: matrix(ct, r, &format!("{p}.attn_output.weight"))?,
                ffn_norm: vector(ct, r, &format!("{p}.ffn_norm.weight"))?,
                w_gate: matrix(ct, r, &format!("{p}.ffn_gate.weight"))?,
                w_up: matrix(ct, r, &format!("{p}.ffn_up.weight"))?,
                w_down: matrix(ct, r, &format!("{p}.ffn_down.weight"))?,
            });
        }
        let kv_dim = n_kv_head * head_dim;
        let hidden = layers.first().map_or(0, |l| l.w_gate.rows);
        let s = Scratch {
            x: vec![0.0; dim],
            xn: vec![0.0; dim.max(hidden)],
            q: vec![0.0; dim],
            k: vec![0.0; kv_dim],
            v: vec![0.0; kv_dim],
            att_out: vec![0.0; dim],
            proj: vec![0.0; dim],
            gate: vec![0.0; hidden],
            up: vec![0.0; hidden],
            scores: vec![0.0; max_seq],
            xq: Q8Vector::default(),
            logits: vec![0.0; output.rows],
        };
        Ok(Self {
            embeddings,
            k_cache: (0..n_layer).map(|_| Vec::new()).collect(),
            v_cache: (0..n_layer).map(|_| Vec::new()).collect(),
            layers,
            out_norm: vector(ct, r, "output_norm.weight")?,
            output,
            dim,
            n_head,
            n_kv_head,
            head_dim,
            eps,
            cos,
            sin,
            max_seq,
            s,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.output.rows
    }

    /// Feeds `tokens` at positions `pos..`, returns the logits after the last one.
    /// Position 0 starts a new sequence (the cache is cut back to `pos`).
    pub fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<&[f32]> {
        if pos + tokens.len() > self.max_seq {
            candle_core::bail!(
                "position {} is past the context of {}",
                pos + tokens.len(),
                self.max_seq
            );
        }
        let kv_dim = self.n_kv_head * self.head_dim;
        for c in self.k_cache.iter_mut().chain(self.v_cache.iter_mut()) {
            c.truncate(pos * kv_dim);
        }
        for (i, &t) in tokens.iter().enumerate() {
            self.step(t, pos + i)?;
        }
        Ok(&self.s.logits)
    }

    fn step(&mut self, token: u32, pos: usize) -> Result<()> {
        let dim = self.dim;
        let t = token as usize;
        if (t + 1) * dim > self.embeddings.len() {
            candle_core::bail!("token id {token} is outside the vocabulary");
        }
        let s = &mut self.s;
        s.x.copy_from_slice(&self.embeddings[t * dim..(t + 1) * dim]);
        let (hd, nh, nkv) = (self.head_dim, self.n_head, self.n_kv_head);
        let group = nh / nkv;
        let half = hd / 2;
        let (cos, sin) = (
            &self.cos[pos * half..(pos + 1) * half],
            &self.sin[pos * half..(pos + 1) * half],
        );
        let scale = 1.0 / (hd as f32).sqrt();
        for (li, l) in self.layers.iter().enumerate() {
            rms_norm(&s.x, &l.attn_norm, self.eps, &mut s.xn[..dim]);
            s.xq.quantize(&s.xn[..dim]);
            l.wq.matvec(&s.xq, &mut s.q);
            l.wk.matvec(&s.xq, &mut s.k);
            l.wv.matvec(&s.xq, &mut s.v);
            for h in s.q.chunks_exact_mut(hd).chain(s.k.chunks_exact_mut(hd)) {
                rope_interleaved(h, cos, sin);
            }
            self.k_cache[li].extend_from_slice(&s.k);
            self.v_cache[li].extend_from_slice(&s.v);
            let (kc, vc) = (&self.k_cache[li], &self.v_cache[li]);
            let kv_dim = nkv * hd;
            let n = pos + 1;
            for h in 0..nh {
                let q = &s.q[h * hd..(h + 1) * hd];
                let off = (h / group) * hd;
                let scores = &mut s.scores[..n];
                for (t, sc) in scores.iter_mut().enumerate() {
                    let k = &kc[t * kv_dim + off..t * kv_dim + off + hd];
                    *sc = dot(q, k) * scale;
                }
                softmax(scores);
                let out = &mut s.att_out[h * hd..(h + 1) * hd];
                out.fill(0.0);
                for (t, &p) in scores.iter().enumerate() {
                    let v = &vc[t * kv_dim + off..t * kv_dim + off + hd];
                    for (o, &vv) in out.iter_mut().zip(v) {
                        *o += p * vv;
                    }
                }
            }
            s.xq.quantize(&s.att_out);
            l.wo.matvec(&s.xq, &mut s.proj);
            for (x, p) in s.x.iter_mut().zip(&s.proj) {
                *x += p;
            }
            rms_norm(&s.x, &l.ffn_norm, self.eps, &mut s.xn[..dim]);
            s.xq.quantize(&s.xn[..dim]);
            l.w_gate.matvec(&s.xq, &mut s.gate);
            l.w_up.matvec(&s.xq, &mut s.up);
            for (g, u) in s.gate.iter_mut().zip(&s.up) {
                *g = *g / (1.0 + (-*g).exp()) * u;
            }
            s.xq.quantize(&s.gate);
            l.w_down.matvec(&s.xq, &mut s.proj);
            for (x, p) in s.x.iter_mut().zip(&s.proj) {
                *x += p;
            }
        }
        rms_norm(&s.x, &self.out_norm, self.eps, &mut s.xn[..dim]);
        s.xq.quantize(&s.xn[..dim]);
        self.output.matvec(&s.xq, &mut s.logits);
        Ok(())
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Four accumulators let the compiler vectorise without reassociation rules.
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let ms = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let inv = 1.0 / (ms + eps).sqrt();
    for ((o, &v), &g) in out.iter_mut().zip(x).zip(w) {
        *o = v * inv * g;
    }
}

fn softmax(x: &mut [f32]) {
    let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in x.iter_mut() {
        *v /= sum;
    }
}

/// Rotates pairs (2i, 2i+1), as candle's `rope_i` and ggml's "norm" RoPE do.
fn rope_interleaved(h: &mut [f32], cos: &[f32], sin: &[f32]) {
    for (i, pair) in h.chunks_exact_mut(2).enumerate() {
        let (a, b) = (pair[0], pair[1]);
        pair[0] = a * cos[i] - b * sin[i];
        pair[1] = a * sin[i] + b * cos[i];
    }
}
