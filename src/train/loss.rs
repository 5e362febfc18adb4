//! The supervised fine-tuning loss: mean cross-entropy over the positions whose target is an
//! assistant token (the mask), so prompts and padding teach nothing.
//!
//! On the CPU the per-row cross-entropy is one fused op with the closed-form backward
//! `softmax - onehot`: the composed `log_softmax` + `gather` graph walks the (tokens x vocab)
//! logits a dozen times in backward, which for a 49k vocabulary is a visible share of a step.

use super::error::Result;
use super::op_input::{f32_input, u32_input};
use crate::cpu::ops::{log_sum_exp, softmax_in_place};
use candle_core::{CpuStorage, CustomOp2, CustomOp3, D, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

struct CrossEntropyRows;

impl CustomOp2 for CrossEntropyRows {
    fn name(&self) -> &'static str {
        "cross-entropy-rows"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, v) = l1.shape().dims2()?;
        let logits = f32_input(s1, l1, "cross-entropy: the logits")?;
        let targets = u32_input(s2, l2, "cross-entropy: the targets")?;
        if let Some(&t) = targets.iter().find(|&&t| t as usize >= v) {
            candle_core::bail!("cross-entropy: target {t} outside the vocabulary of {v}")
        }
        let mut out = vec![0f32; n];
        out.par_iter_mut()
            .zip(logits.par_chunks(v).zip(targets.par_iter()))
            .for_each(|(o, (row, &t))| {
                *o = log_sum_exp(row) - row[t as usize];
            });
        Ok((CpuStorage::F32(out), Shape::from(n)))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let g = logits.apply_op3_no_bwd(targets, &grad, &CrossEntropyGrad)?;
        Ok((Some(g), None))
    }
}

/// `(softmax(logits) - onehot(target)) * grad` per row, in one parallel pass: the composed
/// softmax, scatter and broadcast would walk the (tokens x vocab) logits three times.
struct CrossEntropyGrad;

impl CustomOp3 for CrossEntropyGrad {
    fn name(&self) -> &'static str {
        "cross-entropy-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, v) = l1.shape().dims2()?;
        let logits = f32_input(s1, l1, "cross-entropy: the logits")?;
        let targets = u32_input(s2, l2, "cross-entropy: the targets")?;
        let grad = f32_input(s3, l3, "cross-entropy: the gradient")?;
        if targets.len() != n || grad.len() != n || targets.iter().any(|&t| t as usize >= v) {
            candle_core::bail!("cross-entropy: {n} rows of {v} logits need {n} valid targets")
        }
        let mut out = vec![0f32; n * v];
        out.par_chunks_mut(v)
            .zip(logits.par_chunks(v))
            .zip(targets.par_iter().zip(grad.par_iter()))
            .for_each(|((o, row), (&t, &g))| {
                o.copy_from_slice(row);
                softmax_in_place(o, g);
                o[t as usize] -= g;
            });
        Ok((CpuStorage::F32(out), Shape::from((n, v))))
    }
}

/// Per-row cross-entropy: `logits` (n, vocab) f32, `targets` (n,) u32 -> (n,).
pub fn cross_entropy_rows(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let targets = targets.to_dtype(DType::U32)?;
    if logits.device().is_cpu() {
        return Ok(logits
            .contiguous()?
            .apply_op2(&targets.contiguous()?, CrossEntropyRows)?);
    }
    let n = targets.dim(0)?;
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    Ok(logp
        .gather(&targets.reshape((n, 1))?, 1)?
        .squeeze(1)?
        .neg()?)
}

/// `logits` (batch, seq, vocab), `targets` (batch, seq) u32, `mask` (batch, seq) f32 of 0/1.
/// Returns the scalar mean loss over masked positions (0 when the mask is empty).
pub fn masked_cross_entropy(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (b, s, v) = logits.dims3()?;
    let nll = cross_entropy_rows(&logits.reshape((b * s, v))?, &targets.reshape(b * s)?)?;
    let mask = mask.reshape(b * s)?.to_dtype(DType::F32)?;
    let count = mask.sum_all()?.to_scalar::<f32>()?.max(1.0);
    Ok(((nll * mask)?.sum_all()? / f64::from(count))?)
}
