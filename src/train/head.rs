//! The output projection and the per-row cross-entropy as one CPU op: logits, loss and, in
//! training, the unscaled hidden-state gradient `(softmax - onehot) · W`, all in the forward.
//!
//! With a 49k vocabulary the (tokens x vocab) logits are 50 MB per sequence of 256: composed
//! from candle ops they are allocated (and page-faulted) four times a step (logits, their
//! gradient, autograd's zero-filled accumulator and the sum), each one more pass over memory.
//! Here they live in one buffer reused from step to step, and backward only scales rows.

use super::fused::in_pool;
use super::op_input::{f32_input, u32_input};
use crate::cpu::gemm::{View, gemm};
use crate::cpu::ops::{log_sum_exp, softmax_in_place};
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Storage, Tensor, bail};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// `hidden` (n, h) · `weight`ᵀ (v, h) -> per-row cross-entropy against u32 targets, (n,).
pub struct HeadCrossEntropy {
    pub weight: Tensor,
    /// Whether to prepare the gradient (training): off, backward is refused.
    pub train: bool,
    /// The logits buffer, kept between steps so it is not allocated again.
    pub scratch: Arc<Mutex<Vec<f32>>>,
    /// `(softmax - onehot) · W` per row, before the upstream gradient scales it.
    dh: Mutex<Option<Vec<f32>>>,
}

impl HeadCrossEntropy {
    pub fn new(weight: Tensor, train: bool, scratch: Arc<Mutex<Vec<f32>>>) -> Self {
        HeadCrossEntropy {
            weight,
            train,
            scratch,
            dh: Mutex::new(None),
        }
    }

    fn run(&self, x: &[f32], targets: &[u32], w: &[f32], h: usize, v: usize) -> Result<Vec<f32>> {
        let n = targets.len();
        if x.len() != n * h || w.len() != v * h {
            bail!("head loss: {n} rows of {h} features do not match a ({v}, {h}) head")
        }
        if let Some(&t) = targets.iter().find(|&&t| t as usize >= v) {
            bail!("head loss: target {t} outside the vocabulary of {v}")
        }
        let Ok(mut buf) = self.scratch.lock() else {
            bail!("head loss: a previous pass panicked")
        };
        if buf.len() < n * v {
            buf.resize(n * v, 0.0);
        }
        let logits = &mut buf[..n * v];
        let (wv, xv) = (View::rows(w, h), View::rows(x, h));
        gemm(logits, v, (n, v, h), xv, wv.t(), 1.0, false, true)?;
        let train = self.train;
        let mut nll = vec![0f32; n];
        nll.par_iter_mut()
            .zip(logits.par_chunks_mut(v).zip(targets.par_iter()))
            .for_each(|(o, (row, &t))| {
                let t = t as usize;
                let target = row[t];
                if !train {
                    *o = log_sum_exp(row) - target;
                    return;
                }
                *o = softmax_in_place(row, 1.0) - target;
                row[t] -= 1.0;
            });
        if train {
            let mut dh = vec![0f32; n * h];
            gemm(
                &mut dh,
                h,
                (n, h, v),
                View::rows(logits, v),
                wv,
                1.0,
                false,
                true,
            )?;
            if let Ok(mut slot) = self.dh.lock() {
                *slot = Some(dh);
            }
        }
        Ok(nll)
    }
}

impl CustomOp2 for HeadCrossEntropy {
    fn name(&self) -> &'static str {
        "head-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, h) = l1.shape().dims2()?;
        let (v, _) = self.weight.dims2()?;
        let x = f32_input(s1, l1, "head loss: the hidden states")?;
        let t = u32_input(s2, l2, "head loss: the targets")?;
        if t.len() != n {
            bail!("head loss: {n} rows but {} targets", t.len())
        }
        let (st, lw) = self.weight.storage_and_layout();
        let w = match (&*st, lw.contiguous_offsets()) {
            (Storage::Cpu(CpuStorage::F32(w)), Some((a, b))) => &w[a..b],
            _ => bail!("head loss: the output weight must be a contiguous f32 CPU tensor"),
        };
        let nll = in_pool(|| self.run(x, t, w, h, v))?;
        Ok((CpuStorage::F32(nll), Shape::from(n)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        _targets: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (n, h) = x.dims2()?;
        let g: Vec<f32> = grad.to_vec1()?;
        let Ok(mut slot) = self.dh.lock() else {
            bail!("head loss: a previous pass panicked")
        };
        let Some(mut dh) = slot.take() else {
            bail!("head loss: backward without a training forward")
        };
        if g.len() != n || dh.len() != n * h {
            bail!("head loss: gradient of {} rows for {n}", g.len())
        }
        dh.par_chunks_mut(h)
            .zip(g.par_iter())
            .for_each(|(row, &g)| row.iter_mut().for_each(|x| *x *= g));
        Ok((Some(Tensor::from_vec(dh, (n, h), x.device())?), None))
    }
}
