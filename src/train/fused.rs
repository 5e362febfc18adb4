//! One llama-family decoder layer as a single candle op on the CPU, with a hand-written backward
//! pass: RMSNorm, LoRA-wrapped projections (with Qwen2's frozen q/k/v biases), Qwen3's per-head
//! q/k RMSNorm, RoPE, causal GQA attention and the SiLU-gated MLP. The architecture's extras
//! are a branch per projection or per layer, never per element, so llama pays nothing for them.
//!
//! Autograd over the composed layer ([`super::llama`]) runs some ninety small tensor ops per layer
//! and step, each a pass through candle's thread pool; here the forward keeps the activations the
//! backward needs, and the backward computes only input and LoRA gradients (base weights and
//! norms are frozen). The composed layer stays as the reference the tests compare against.

use super::attention::{self, Dims};
use super::op_input::f32_input;
use crate::cpu::gemm::{View, gemm};
use crate::cpu::ops::add;
use crate::cpu::ops::parallel::{add_into, rms_norm, rms_norm_bwd, rope, silu_gate, silu_gate_bwd};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Storage, Tensor, bail};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// A projection's LoRA pair inside the layer's packed LoRA tensor: A (rank x in) at `offset`,
/// then B (out x rank).
#[derive(Clone, Copy)]
pub struct LoraSlot {
    pub rank: usize,
    pub offset: usize,
}

/// Everything a layer op needs besides its two inputs (hidden states and packed LoRA).
pub struct LayerSpec {
    /// q, k, v, o, gate, up, down weights, (out, in) each, contiguous f32 on the CPU.
    pub proj: Vec<Tensor>,
    pub lora: Vec<Option<LoraSlot>>,
    /// Each projection's frozen bias (Qwen2's q, k and v), added after the product.
    pub bias: Vec<Option<Vec<f32>>>,
    /// Qwen3's RMSNorm weights over each head of q and of k, applied before RoPE.
    pub qk_norm: Option<[Vec<f32>; 2]>,
    pub norms: [Tensor; 2],
    pub eps: f32,
    pub scale: f32,
    pub rope: Arc<(Vec<f32>, Vec<f32>)>,
}

struct LoraAct {
    /// The dropout factors (0 or 1/(1-p)) and the input they produced, when dropout is on.
    mask: Option<(Vec<f32>, Vec<f32>)>,
    /// `input · Aᵀ`, (tokens x rank).
    u: Vec<f32>,
}

/// What backward needs of the per-head q/k norms: q and k before them, and each head's `r`.
struct QkNormAct {
    raw: [Vec<f32>; 2],
    r: [Vec<f32>; 2],
}

#[derive(Default)]
struct Cache {
    r1: Vec<f32>,
    xn1: Vec<f32>,
    /// q and k after the norms (if any) and RoPE, and v.
    qkv: [Vec<f32>; 3],
    qk_norm: Option<QkNormAct>,
    probs: Vec<f32>,
    attn: Vec<f32>,
    x2: Vec<f32>,
    r2: Vec<f32>,
    xn2: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    act: Vec<f32>,
    lora: Vec<Option<LoraAct>>,
}

pub struct FusedLayer {
    spec: Arc<LayerSpec>,
    dims: Dims,
    /// Dropout on the LoRA inputs: (probability, seed) in training, `None` otherwise.
    dropout: Option<(f32, u64)>,
    /// Whether the input needs a gradient (not for the first layer, fed by frozen embeddings).
    need_dx: bool,
    cache: Mutex<Option<Cache>>,
}

/// Read guards on tensors' storages, so their f32 data can be borrowed as slices.
struct Guards<'a>(Vec<(candle_core::StorageRef<'a>, &'a Layout)>);

impl<'a> Guards<'a> {
    fn new(ts: impl IntoIterator<Item = &'a Tensor>) -> Self {
        Guards(ts.into_iter().map(|t| t.storage_and_layout()).collect())
    }
    fn slices(&self) -> Result<Vec<&[f32]>> {
        self.0
            .iter()
            .map(|(st, l)| match &**st {
                Storage::Cpu(s) => f32_input(s, l, "fused layer: a weight"),
                _ => bail!("fused layer: weights must be on the CPU"),
            })
            .collect()
    }
}

impl FusedLayer {
    pub fn new(
        spec: Arc<LayerSpec>,
        dims: Dims,
        dropout: Option<(f32, u64)>,
        need_dx: bool,
    ) -> Self {
        FusedLayer {
            spec,
            dims,
            dropout,
            need_dx,
            cache: Mutex::new(None),
        }
    }

    /// `input · Wᵀ` plus the LoRA term for projection `i`; records what backward needs.
    fn proj_fwd(
        &self,
        i: usize,
        w: &[f32],
        lora: &[f32],
        input: &[f32],
        n: usize,
        acts: &mut Vec<Option<LoraAct>>,
    ) -> Result<Vec<f32>> {
        let (out, inp) = self.spec.proj[i].dims2()?;
        let mut y = vec![0f32; n * out];
        gemm(
            &mut y,
            out,
            (n, out, inp),
            View::rows(input, inp),
            View::rows(w, inp).t(),
            1.0,
            false,
            true,
        )?;
        if let Some(bias) = &self.spec.bias[i] {
            y.par_chunks_mut(out).for_each(|row| add(row, bias));
        }
        let Some(slot) = self.spec.lora[i] else {
            acts.push(None);
            return Ok(y);
        };
        let r = slot.rank;
        let (a, b) = (
            &lora[slot.offset..][..r * inp],
            &lora[slot.offset + r * inp..][..out * r],
        );
        let mask = self.dropout.map(|(p, seed)| {
            let mut rng =
                rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ ((i as u64 + 1) * 0x9E37_79B9));
            let keep = 1.0 / (1.0 - p);
            let m: Vec<f32> = (0..input.len())
                .map(|_| if rng.random::<f32>() < p { 0.0 } else { keep })
                .collect();
            let xd: Vec<f32> = input.iter().zip(&m).map(|(x, m)| x * m).collect();
            (m, xd)
        });
        let xd = mask.as_ref().map_or(input, |(_, xd)| xd.as_slice());
        let mut u = vec![0f32; n * r];
        gemm(
            &mut u,
            r,
            (n, r, inp),
            View::rows(xd, inp),
            View::rows(a, inp).t(),
            1.0,
            false,
            true,
        )?;
        gemm(
            &mut y,
            out,
            (n, out, r),
            View::rows(&u, r),
            View::rows(b, r).t(),
            self.spec.scale,
            true,
            true,
        )?;
        acts.push(Some(LoraAct { mask, u }));
        Ok(y)
    }

    /// Backward of projection `i`: adds `dy · W` (and the LoRA path) into `dx` when asked, and
    /// writes the LoRA gradients into `dlora`.
    #[allow(clippy::too_many_arguments)]
    fn proj_bwd(
        &self,
        i: usize,
        w: &[f32],
        lora: &[f32],
        input: &[f32],
        act: Option<&LoraAct>,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        dlora: &mut [f32],
    ) -> Result<()> {
        let (out, inp) = self.spec.proj[i].dims2()?;
        let n = dy.len() / out;
        let mut dx = dx;
        if let Some(dx) = dx.as_deref_mut() {
            gemm(
                dx,
                inp,
                (n, inp, out),
                View::rows(dy, out),
                View::rows(w, inp),
                1.0,
                true,
                true,
            )?;
        }
        let (Some(slot), Some(act)) = (self.spec.lora[i], act) else {
            return Ok(());
        };
        let (r, s) = (slot.rank, self.spec.scale);
        let a = &lora[slot.offset..][..r * inp];
        let b = &lora[slot.offset + r * inp..][..out * r];
        let xd = act.mask.as_ref().map_or(input, |(_, xd)| xd.as_slice());
        let mut gb = vec![0f32; n * r];
        gemm(
            &mut gb,
            r,
            (n, r, out),
            View::rows(dy, out),
            View::rows(b, r),
            1.0,
            false,
            true,
        )?;
        let (da, db) = dlora[slot.offset..].split_at_mut(r * inp);
        gemm(
            da,
            inp,
            (r, inp, n),
            View::rows(&gb, r).t(),
            View::rows(xd, inp),
            s,
            false,
            true,
        )?;
        gemm(
            &mut db[..out * r],
            r,
            (out, r, n),
            View::rows(dy, out).t(),
            View::rows(&act.u, r),
            s,
            false,
            true,
        )?;
        if let Some(dx) = dx {
            match &act.mask {
                None => gemm(
                    dx,
                    inp,
                    (n, inp, r),
                    View::rows(&gb, r),
                    View::rows(a, inp),
                    s,
                    true,
                    true,
                )?,
                Some((m, _)) => {
                    let mut t = vec![0f32; n * inp];
                    gemm(
                        &mut t,
                        inp,
                        (n, inp, r),
                        View::rows(&gb, r),
                        View::rows(a, inp),
                        s,
                        false,
                        true,
                    )?;
                    t.iter_mut().zip(m).for_each(|(t, m)| *t *= m);
                    add_into(dx, &t);
                }
            }
        }
        Ok(())
    }

    fn forward(&self, x: &[f32], lora: &[f32]) -> Result<Vec<f32>> {
        let sp = &self.spec;
        let dm = self.dims;
        let guards = Guards::new(sp.proj.iter().chain(&sp.norms));
        let w = guards.slices()?;
        let h = sp.norms[0].dim(0)?;
        let n = x.len() / h;
        let mut c = Cache::default();
        let mut xn1 = vec![0f32; n * h];
        c.r1 = rms_norm(x, w[7], sp.eps, &mut xn1);
        let mut acts = Vec::with_capacity(7);
        let mut q = self.proj_fwd(0, w[0], lora, &xn1, n, &mut acts)?;
        let mut k = self.proj_fwd(1, w[1], lora, &xn1, n, &mut acts)?;
        let v = self.proj_fwd(2, w[2], lora, &xn1, n, &mut acts)?;
        if let Some([qw, kw]) = &sp.qk_norm {
            // Rows of `head_dim` values: each head is normed on its own.
            let (q_raw, k_raw) = (q.clone(), k.clone());
            let rq = rms_norm(&q_raw, qw, sp.eps, &mut q);
            let rk = rms_norm(&k_raw, kw, sp.eps, &mut k);
            c.qk_norm = Some(QkNormAct {
                raw: [q_raw, k_raw],
                r: [rq, rk],
            });
        }
        let (cos, sin) = (&sp.rope.0, &sp.rope.1);
        rope(&mut q, dm.heads, dm.head_dim, dm.seq, cos, sin, 1.0);
        rope(&mut k, dm.kv_heads, dm.head_dim, dm.seq, cos, sin, 1.0);
        let mut probs = vec![0f32; dm.batch * dm.heads * dm.seq * dm.seq];
        let attn = attention::forward(dm, &q, &k, &v, &mut probs)?;
        let mut x2 = self.proj_fwd(3, w[3], lora, &attn, n, &mut acts)?;
        add_into(&mut x2, x);
        let mut xn2 = vec![0f32; n * h];
        c.r2 = rms_norm(&x2, w[8], sp.eps, &mut xn2);
        let gate = self.proj_fwd(4, w[4], lora, &xn2, n, &mut acts)?;
        let up = self.proj_fwd(5, w[5], lora, &xn2, n, &mut acts)?;
        let mut act = vec![0f32; gate.len()];
        silu_gate(&gate, &up, &mut act);
        let mut out = self.proj_fwd(6, w[6], lora, &act, n, &mut acts)?;
        add_into(&mut out, &x2);
        c.xn1 = xn1;
        c.qkv = [q, k, v];
        c.probs = probs;
        c.attn = attn;
        c.x2 = x2;
        c.xn2 = xn2;
        c.gate = gate;
        c.up = up;
        c.act = act;
        c.lora = acts;
        if let Ok(mut slot) = self.cache.lock() {
            *slot = Some(c);
        }
        Ok(out)
    }

    /// The gradients of the input (when needed) and of the packed LoRA tensor.
    fn backward(&self, x: &[f32], lora: &[f32], g: &[f32]) -> Result<(Option<Vec<f32>>, Vec<f32>)> {
        let sp = &self.spec;
        let dm = self.dims;
        let guard = match self.cache.lock() {
            Ok(guard) => guard,
            Err(_) => bail!("fused layer: a previous pass panicked"),
        };
        let Some(c) = guard.as_ref() else {
            bail!("fused layer: backward before forward")
        };
        let guards = Guards::new(sp.proj.iter().chain(&sp.norms));
        let w = guards.slices()?;
        let h = sp.norms[0].dim(0)?;
        let n = x.len() / h;
        let mut dl = vec![0f32; lora.len()];
        let la = |i: usize| c.lora[i].as_ref();
        let mut dact = vec![0f32; c.act.len()];
        self.proj_bwd(6, w[6], lora, &c.act, la(6), g, Some(&mut dact), &mut dl)?;
        let (mut dgate, mut dup) = (vec![0f32; dact.len()], vec![0f32; dact.len()]);
        silu_gate_bwd(&c.gate, &c.up, &dact, &mut dgate, &mut dup);
        drop(dact);
        let mut dxn2 = vec![0f32; n * h];
        self.proj_bwd(
            4,
            w[4],
            lora,
            &c.xn2,
            la(4),
            &dgate,
            Some(&mut dxn2),
            &mut dl,
        )?;
        self.proj_bwd(5, w[5], lora, &c.xn2, la(5), &dup, Some(&mut dxn2), &mut dl)?;
        let mut dx2 = g.to_vec();
        rms_norm_bwd(&c.x2, &c.r2, w[8], &dxn2, &mut dx2);
        let mut dattn = vec![0f32; c.attn.len()];
        self.proj_bwd(
            3,
            w[3],
            lora,
            &c.attn,
            la(3),
            &dx2,
            Some(&mut dattn),
            &mut dl,
        )?;
        let [q, k, v] = &c.qkv;
        let [mut dq, mut dk, dv] = attention::backward(dm, (q, k, v), &c.probs, &dattn)?;
        let (cos, sin) = (&sp.rope.0, &sp.rope.1);
        rope(&mut dq, dm.heads, dm.head_dim, dm.seq, cos, sin, -1.0);
        rope(&mut dk, dm.kv_heads, dm.head_dim, dm.seq, cos, sin, -1.0);
        if let (Some([qw, kw]), Some(act)) = (&sp.qk_norm, &c.qk_norm) {
            let mut dq_raw = vec![0f32; dq.len()];
            rms_norm_bwd(&act.raw[0], &act.r[0], qw, &dq, &mut dq_raw);
            let mut dk_raw = vec![0f32; dk.len()];
            rms_norm_bwd(&act.raw[1], &act.r[1], kw, &dk, &mut dk_raw);
            (dq, dk) = (dq_raw, dk_raw);
        }
        let mut dxn1 = self.need_dx.then(|| vec![0f32; n * h]);
        for (i, dy) in [(0, &dq), (1, &dk), (2, &dv)] {
            self.proj_bwd(
                i,
                w[i],
                lora,
                &c.xn1,
                la(i),
                dy,
                dxn1.as_deref_mut(),
                &mut dl,
            )?;
        }
        let dx = dxn1.map(|dxn1| {
            let mut dx = dx2;
            rms_norm_bwd(x, &c.r1, w[7], &dxn1, &mut dx);
            dx
        });
        Ok((dx, dl))
    }
}

/// Runs `f` on a worker of rayon's pool: called from outside the pool, every parallel loop and
/// matrix product inside would hand its work over and block on a lock (two wake-ups each, some
/// fifty per layer); from a worker they split by work stealing.
pub(super) fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::join(f, || ()).0
}

impl CustomOp2 for FusedLayer {
    fn name(&self) -> &'static str {
        "fused-llama-layer"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_input(s1, l1, "fused layer: the hidden states")?;
        let lora = f32_input(s2, l2, "fused layer: the LoRA parameters")?;
        let out = in_pool(|| self.forward(x, lora))?;
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        lora: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let guards = Guards::new([x, lora, &grad]);
        let s = guards.slices()?;
        let (dx, dl) = in_pool(|| self.backward(s[0], s[1], s[2]))?;
        let dx = dx
            .map(|d| Tensor::from_vec(d, x.shape(), x.device()))
            .transpose()?;
        Ok((dx, Some(Tensor::from_vec(dl, lora.shape(), lora.device())?)))
    }
}

/// The final RMSNorm as one op: weight frozen, input gradient in closed form.
pub struct FusedNorm {
    pub weight: Tensor,
    pub eps: f32,
}

impl CustomOp1 for FusedNorm {
    fn name(&self) -> &'static str {
        "fused-rms-norm"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_input(s, l, "fused layer: the hidden states")?;
        let guards = Guards::new([&self.weight]);
        let w = guards.slices()?;
        let mut y = vec![0f32; x.len()];
        rms_norm(x, w[0], self.eps, &mut y);
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let grad = grad.contiguous()?;
        let guards = Guards::new([x, &self.weight, &grad]);
        let s = guards.slices()?;
        let mut scratch = vec![0f32; s[0].len()];
        let r = rms_norm(s[0], s[1], self.eps, &mut scratch);
        let mut dx = vec![0f32; s[0].len()];
        rms_norm_bwd(s[0], &r, s[1], s[2], &mut dx);
        Ok(Some(Tensor::from_vec(dx, x.shape(), x.device())?))
    }
}
