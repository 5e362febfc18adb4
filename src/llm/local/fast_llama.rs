//! assay's forward pass for the llama family (llama; Qwen2 with its q/k/v biases; Qwen3 with
//! its per-head q/k norms) over Q4_1 / Q8_0 weights for the CPU: preallocated buffers and
//! KV cache, no per-op tensors, a persistent thread pool (`cpu::pool`) for the matrix products
//! and attention, the products' kernel chosen once at load (`cpu::Kernel`), and the prompt fed as batches of tokens (one pass over the weights per batch, not
//! per token).
//!
//! Why: on a small model candle's per-op overhead (an allocation and a thread barrier for each
//! of ~600 ops per token) dominates, and on a busy machine the barriers' spinning threads make
//! it several times slower (see benches/local_llm.rs). The maths is candle's `quantized_llama`
//! (interleaved RoPE as GGUF stores llama's q/k, grouped-query attention; Qwen GGUFs keep the
//! half-split order, as candle's `quantized_qwen2` / `quantized_qwen3` read them); `tests/local_model.rs`
//! checks its logits against llama.cpp's on the real model, and that any thread count or batch
//! size gives the very same logits (each value is always summed in the same order).

use std::ops::Range;
use std::sync::Mutex;

use candle_core::quantized::{GgmlDType, gguf_file};
use candle_core::{Device, Result};

use crate::cpu::Kernel;
use crate::cpu::ops::{
    add, dot, rms_norm_row, rms_norm_rows, rope_half_split, rope_interleaved, silu, softmax,
};
use crate::cpu::pool::{Disjoint, Pool, chunking};
use crate::cpu::q8_batch::Q8Batch;
use crate::cpu::qmatrix::QMatrix;
use crate::llama::Architecture;

/// Prompt tokens per batch: bounds the scratch memory; larger batches gain little.
const MAX_BATCH: usize = 64;
/// The widest attention head the forward takes (Qwen3 and llama use 64 or 128).
const MAX_HEAD_DIM: usize = 512;
/// Output rows per chunk are a multiple of this (a cache line of f32), so threads never write
/// the same line.
const ROW_ALIGN: usize = 16;

struct Layer {
    attn_norm: Vec<f32>,
    /// q, k and v stacked: one parallel product instead of three.
    wqkv: QMatrix,
    /// Qwen2's q, k and v biases, stacked as the rows of `wqkv`.
    qkv_bias: Option<Vec<f32>>,
    /// Qwen3's RMSNorm weights over each head of q and of k.
    qk_norm: Option<[Vec<f32>; 2]>,
    wo: QMatrix,
    ffn_norm: Vec<f32>,
    w_gate: QMatrix,
    w_up: QMatrix,
    w_down: QMatrix,
}

/// The model plus its KV cache, scratch buffers and thread pool.
pub struct FastLlama {
    /// Token embeddings in f32; None where they are the output matrix's rows (tied weights
    /// kept as stored: dequantising a row on lookup gives the same values, 113 MB less).
    embeddings: Option<Vec<f32>>,
    layers: Vec<Layer>,
    out_norm: Vec<f32>,
    output: QMatrix,
    dim: usize,
    hidden: usize,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    /// `n_head * head_dim`: the query width, which Qwen3 sets apart from `dim`.
    q_dim: usize,
    /// Half-split RoPE (Qwen's GGUFs) rather than interleaved (llama's permuted q/k).
    half_split: bool,
    eps: f32,
    /// cos/sin per position and frequency: `[pos * head_dim / 2 + i]`.
    cos: Vec<f32>,
    sin: Vec<f32>,
    max_seq: usize,
    /// Per layer: `[pos][kv_dim]`.
    k_cache: Vec<Vec<f32>>,
    v_cache: Vec<Vec<f32>>,
    pool: Pool,
    /// The products' code path, detected once at load.
    kernel: Kernel,
    s: Scratch,
}

/// Per-batch buffers, `tokens x width` row-major.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    xn: Vec<f32>,
    qkv: Vec<f32>,
    att: Vec<f32>,
    proj: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    xq: Q8Batch,
    logits: Vec<f32>,
    /// Attention scores, one buffer per pool thread.
    scores: Vec<Mutex<Vec<f32>>>,
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
) -> Result<QMatrix> {
    QMatrix::from_qtensor(&ct.tensor(r, name, &Device::Cpu)?)
}

fn stacked<R: std::io::Read + std::io::Seek>(
    ct: &gguf_file::Content,
    r: &mut R,
    names: &[String],
) -> Result<QMatrix> {
    let parts = names
        .iter()
        .map(|n| ct.tensor(r, n, &Device::Cpu))
        .collect::<Result<Vec<_>>>()?;
    QMatrix::stack(&parts)
}

/// Threads to use when none is asked for: `ASSAY_THREADS`, else every available core.
pub fn default_threads() -> usize {
    std::env::var("ASSAY_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl FastLlama {
    /// Loads a GGUF of the llama family (dense, no mixture of experts), run by `threads` threads.
    pub fn from_gguf<R: std::io::Read + std::io::Seek>(
        ct: &gguf_file::Content,
        r: &mut R,
        max_seq: usize,
        threads: usize,
    ) -> Result<Self> {
        let arch_name = match ct.metadata.get("general.architecture") {
            Some(v) => v.to_string()?.clone(),
            None => "llama".into(),
        };
        let Some(arch) = Architecture::from_name(&arch_name) else {
            candle_core::bail!("architecture `{arch_name}` is not supported by the fast path");
        };
        let p = arch.name();
        let n_head = md_u32(ct, &format!("{p}.attention.head_count"))?;
        let n_kv_head = md_u32(ct, &format!("{p}.attention.head_count_kv"))?;
        let n_layer = md_u32(ct, &format!("{p}.block_count"))?;
        let dim = md_u32(ct, &format!("{p}.embedding_length"))?;
        if ct.metadata.contains_key(&format!("{p}.expert_count")) {
            candle_core::bail!("mixture-of-experts models are not supported by the fast path");
        }
        let eps = match ct
            .metadata
            .get(&format!("{p}.attention.layer_norm_rms_epsilon"))
        {
            Some(v) => v.to_f32()?,
            None => 1e-5,
        };
        let base = ct
            .metadata
            .get(&format!("{p}.rope.freq_base"))
            .and_then(|v| v.to_f32().ok())
            .unwrap_or(10000.0);
        let head_dim = match arch {
            Architecture::Qwen3 => md_u32(ct, &format!("{p}.attention.key_length"))?,
            _ if n_head > 0 => dim / n_head,
            _ => 0,
        };
        if n_head == 0
            || n_kv_head == 0
            || n_head % n_kv_head != 0
            || head_dim == 0
            || head_dim % 2 != 0
            || head_dim > MAX_HEAD_DIM
        {
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
        let tied = !ct.tensor_infos.contains_key("output.weight");
        let embd_exact = ct
            .tensor_infos
            .get("token_embd.weight")
            .is_some_and(|t| matches!(t.ggml_dtype, GgmlDType::Q8_0 | GgmlDType::Q4_1));
        let (embeddings, output) = if tied && embd_exact {
            (None, matrix(ct, r, "token_embd.weight")?)
        } else if tied {
            let e = vector(ct, r, "token_embd.weight")?;
            (Some(e), matrix(ct, r, "token_embd.weight")?)
        } else {
            let e = vector(ct, r, "token_embd.weight")?;
            (Some(e), matrix(ct, r, "output.weight")?)
        };
        if embeddings
            .as_ref()
            .is_some_and(|e| e.len() != output.rows() * dim)
        {
            candle_core::bail!("token_embd.weight and output.weight disagree on the vocabulary");
        }
        let mut layers = Vec::with_capacity(n_layer);
        for i in 0..n_layer {
            let p = format!("blk.{i}");
            let m = |r: &mut R, name: &str| matrix(ct, r, &format!("{p}.{name}.weight"));
            let sized = |r: &mut R, name: String, len: usize| -> Result<Vec<f32>> {
                let v = vector(ct, r, &name)?;
                if v.len() != len {
                    candle_core::bail!("{name} holds {} values, the model needs {len}", v.len());
                }
                Ok(v)
            };
            let kv_dim = n_kv_head * head_dim;
            let qkv_bias = if arch.qkv_bias() {
                let mut b = sized(r, format!("{p}.attn_q.bias"), n_head * head_dim)?;
                b.extend(sized(r, format!("{p}.attn_k.bias"), kv_dim)?);
                b.extend(sized(r, format!("{p}.attn_v.bias"), kv_dim)?);
                Some(b)
            } else {
                None
            };
            let qk_norm = if arch.qk_norm() {
                Some([
                    sized(r, format!("{p}.attn_q_norm.weight"), head_dim)?,
                    sized(r, format!("{p}.attn_k_norm.weight"), head_dim)?,
                ])
            } else {
                None
            };
            layers.push(Layer {
                attn_norm: vector(ct, r, &format!("{p}.attn_norm.weight"))?,
                wqkv: stacked(
                    ct,
                    r,
                    &["attn_q", "attn_k", "attn_v"].map(|n| format!("{p}.{n}.weight")),
                )?,
                qkv_bias,
                qk_norm,
                wo: m(r, "attn_output")?,
                ffn_norm: vector(ct, r, &format!("{p}.ffn_norm.weight"))?,
                w_gate: m(r, "ffn_gate")?,
                w_up: m(r, "ffn_up")?,
                w_down: m(r, "ffn_down")?,
            });
        }
        let qkv_rows = n_head * head_dim + 2 * n_kv_head * head_dim;
        if let Some(l) = layers.iter().find(|l| l.wqkv.rows() != qkv_rows) {
            candle_core::bail!(
                "q, k and v have {} rows together; {n_head} heads and {n_kv_head} kv heads of {head_dim} need {qkv_rows}",
                l.wqkv.rows()
            );
        }
        let hidden = layers.first().map_or(0, |l| l.w_gate.rows());
        let mut me = Self {
            embeddings,
            k_cache: (0..n_layer).map(|_| Vec::new()).collect(),
            v_cache: (0..n_layer).map(|_| Vec::new()).collect(),
            layers,
            out_norm: vector(ct, r, "output_norm.weight")?,
            output,
            dim,
            hidden,
            n_head,
            n_kv_head,
            head_dim,
            q_dim: n_head * head_dim,
            half_split: !arch.gguf_permutes_qk(),
            eps,
            cos,
            sin,
            max_seq,
            pool: Pool::new(1)?,
            kernel: Kernel::detect(),
            s: Scratch::default(),
        };
        me.set_threads(threads)?;
        Ok(me)
    }

    pub fn vocab_size(&self) -> usize {
        self.output.rows()
    }

    /// Threads running the forward pass (the caller's included).
    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// Restarts the pool with `threads` threads (at least 1). Results do not change.
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        let threads = threads.max(1);
        self.pool = Pool::new(threads)?;
        self.s.scores = (0..threads)
            .map(|_| Mutex::new(vec![0.0; self.max_seq]))
            .collect();
        Ok(())
    }

    /// Feeds `tokens` at positions `pos..`, returns the logits after the last one.
    /// The cache is cut back to `pos` first (0 starts a new sequence).
    pub fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<&[f32]> {
        if pos + tokens.len() > self.max_seq {
            candle_core::bail!(
                "position {} is past the context of {}",
                pos + tokens.len(),
                self.max_seq
            );
        }
        if let Some(&t) = tokens.iter().find(|&&t| t as usize >= self.vocab_size()) {
            candle_core::bail!("token id {t} is outside the vocabulary");
        }
        let kv_dim = self.n_kv_head * self.head_dim;
        for c in self.k_cache.iter_mut().chain(self.v_cache.iter_mut()) {
            c.truncate(pos * kv_dim);
        }
        let batches = tokens.len().div_ceil(MAX_BATCH);
        for (i, batch) in tokens.chunks(MAX_BATCH).enumerate() {
            self.batch(batch, pos + i * MAX_BATCH, i + 1 == batches);
        }
        Ok(&self.s.logits)
    }

    /// Runs `tokens` (at `pos0..`) through every layer; the logits of the last one if `last`.
    fn batch(&mut self, tokens: &[u32], pos0: usize, last: bool) {
        let (n, dim, hidden, eps) = (tokens.len(), self.dim, self.hidden, self.eps);
        let (hd, q_dim, half_split) = (self.head_dim, self.q_dim, self.half_split);
        let kv_dim = self.n_kv_head * hd;
        let qkv_rows = q_dim + 2 * kv_dim;
        let kernel = self.kernel;
        let Self {
            layers,
            pool,
            s,
            k_cache,
            v_cache,
            embeddings,
            ..
        } = self;
        s.x.clear();
        for &t in tokens {
            let t = t as usize;
            match embeddings {
                Some(e) => s.x.extend_from_slice(&e[t * dim..(t + 1) * dim]),
                None => self.output.row_f32(t, &mut s.x),
            }
        }
        for (buf, width) in [
            (&mut s.xn, dim),
            (&mut s.att, q_dim),
            (&mut s.proj, dim),
            (&mut s.qkv, qkv_rows),
            (&mut s.gate, hidden),
            (&mut s.up, hidden),
        ] {
            buf.resize(n * width, 0.0);
        }
        let half = hd / 2;
        for (li, l) in layers.iter().enumerate() {
            rms_norm_rows(&s.x, &l.attn_norm, eps, &mut s.xn);
            s.xq.quantize(&s.xn, dim);
            par_product(pool, kernel, &l.wqkv, &s.xq, 0..qkv_rows, &mut s.qkv);
            // Qwen2's biases, Qwen3's per-head norms, RoPE on q and k, then k and v into the
            // cache. The architecture's extras are decided once per layer, not per value.
            let mut head = [0f32; MAX_HEAD_DIM];
            for (t, row) in s.qkv.chunks_exact_mut(qkv_rows).enumerate() {
                if let Some(b) = &l.qkv_bias {
                    add(row, b);
                }
                if let Some([qn, kn]) = &l.qk_norm {
                    let (q, rest) = row.split_at_mut(q_dim);
                    for (part, w) in [(q, qn), (&mut rest[..kv_dim], kn)] {
                        for h in part.chunks_exact_mut(hd) {
                            let tmp = &mut head[..hd];
                            tmp.copy_from_slice(h);
                            rms_norm_row(tmp, w, eps, h);
                        }
                    }
                }
                let p = (pos0 + t) * half;
                let (cos, sin) = (&self.cos[p..p + half], &self.sin[p..p + half]);
                for h in row[..q_dim + kv_dim].chunks_exact_mut(hd) {
                    if half_split {
                        rope_half_split(h, cos, sin, 1.0);
                    } else {
                        rope_interleaved(h, cos, sin);
                    }
                }
                k_cache[li].extend_from_slice(&row[q_dim..q_dim + kv_dim]);
                v_cache[li].extend_from_slice(&row[q_dim + kv_dim..]);
            }
            let geometry = Attn {
                k: &k_cache[li],
                v: &v_cache[li],
                pos0,
                n,
                qkv_rows,
                q_dim,
                n_head: self.n_head,
                group: self.n_head / self.n_kv_head,
                head_dim: hd,
                kv_dim,
            };
            attention(pool, &geometry, s);
            s.xq.quantize(&s.att, q_dim);
            par_product(pool, kernel, &l.wo, &s.xq, 0..dim, &mut s.proj);
            add(&mut s.x, &s.proj);
            rms_norm_rows(&s.x, &l.ffn_norm, eps, &mut s.xn);
            s.xq.quantize(&s.xn, dim);
            gate_up(pool, kernel, l, &s.xq, &mut s.gate, &mut s.up);
            s.xq.quantize(&s.gate, hidden);
            par_product(pool, kernel, &l.w_down, &s.xq, 0..dim, &mut s.proj);
            add(&mut s.x, &s.proj);
        }
        if last {
            rms_norm_rows(&s.x[(n - 1) * dim..], &self.out_norm, eps, &mut s.xn[..dim]);
            s.xq.quantize(&s.xn[..dim], dim);
            let rows = self.output.rows();
            s.logits.resize(rows, 0.0);
            par_product(pool, kernel, &self.output, &s.xq, 0..rows, &mut s.logits);
        }
    }
}

/// What one layer's attention over the cache needs.
struct Attn<'a> {
    k: &'a [f32],
    v: &'a [f32],
    pos0: usize,
    n: usize,
    qkv_rows: usize,
    /// The attention output's row width (`n_head * head_dim`).
    q_dim: usize,
    n_head: usize,
    group: usize,
    head_dim: usize,
    kv_dim: usize,
}

/// Causal attention for every (token, head) of the batch, split across the pool.
fn attention(pool: &mut Pool, a: &Attn, s: &mut Scratch) {
    let tasks = a.n * a.n_head;
    let (chunks, per) = chunking(tasks, pool.threads(), 1);
    let hd = a.head_dim;
    let scale = 1.0 / (hd as f32).sqrt();
    let (qkv, scores) = (&s.qkv, &s.scores);
    let out = Disjoint::new(&mut s.att);
    pool.run(chunks, &|c, worker| {
        let Some(buf) = scores.get(worker) else {
            return;
        };
        let mut buf = buf.lock().unwrap_or_else(|e| e.into_inner());
        for task in c * per..((c + 1) * per).min(tasks) {
            let (t, h) = (task / a.n_head, task % a.n_head);
            let q = &qkv[t * a.qkv_rows + h * hd..t * a.qkv_rows + (h + 1) * hd];
            let off = (h / a.group) * hd;
            let npos = a.pos0 + t + 1;
            let sc = &mut buf[..npos];
            for (p, v) in sc.iter_mut().enumerate() {
                *v = dot(q, &a.k[p * a.kv_dim + off..p * a.kv_dim + off + hd]) * scale;
            }
            softmax(sc);
            // SAFETY: each (t, h) task is in exactly one chunk and owns this head's output.
            let o = unsafe { out.range(t * a.q_dim + h * hd..t * a.q_dim + (h + 1) * hd) };
            o.fill(0.0);
            for (p, &w) in sc.iter().enumerate() {
                let v = &a.v[p * a.kv_dim + off..p * a.kv_dim + off + hd];
                for (o, &vv) in o.iter_mut().zip(v) {
                    *o += w * vv;
                }
            }
        }
    });
}

/// `out[t * rows.len() + r] = m[r] · x[t]` for `r` in `rows`, split across the pool.
fn par_product(
    pool: &mut Pool,
    kernel: Kernel,
    m: &QMatrix,
    x: &Q8Batch,
    rows: Range<usize>,
    out: &mut [f32],
) {
    let width = rows.len();
    let (chunks, per) = chunking(width, pool.threads(), ROW_ALIGN);
    let d = Disjoint::new(out);
    pool.run(chunks, &|c, _| {
        let r = rows.start + c * per..(rows.start + (c + 1) * per).min(rows.end);
        // SAFETY: chunks cover disjoint rows, so disjoint output indices.
        m.product(x, r, kernel, |t, row, v| unsafe {
            d.set(t * width + row - rows.start, v)
        });
    });
}

/// `gate = silu(w_gate · x) * (w_up · x)`, each chunk doing both products for its rows.
fn gate_up(
    pool: &mut Pool,
    kernel: Kernel,
    l: &Layer,
    x: &Q8Batch,
    gate: &mut [f32],
    up: &mut [f32],
) {
    let hidden = l.w_gate.rows();
    let (chunks, per) = chunking(hidden, pool.threads(), ROW_ALIGN);
    let (g, u) = (Disjoint::new(gate), Disjoint::new(up));
    pool.run(chunks, &|c, _| {
        let r = c * per..((c + 1) * per).min(hidden);
        // SAFETY: chunks cover disjoint rows of both buffers.
        l.w_gate.product(x, r.clone(), kernel, |t, row, v| unsafe {
            g.set(t * hidden + row, v)
        });
        // SAFETY: as above.
        l.w_up.product(x, r.clone(), kernel, |t, row, v| unsafe {
            u.set(t * hidden + row, v)
        });
        for t in 0..x.len() {
            let span = t * hidden + r.start..t * hidden + r.end;
            // SAFETY: as above; this chunk alone touches `span`.
            let (gs, us) = unsafe { (g.range(span.clone()), u.range(span)) };
            for (gv, &uv) in gs.iter_mut().zip(us.iter()) {
                *gv = silu(*gv) * uv;
            }
        }
    });
}
