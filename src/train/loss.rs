//! The supervised fine-tuning loss: mean cross-entropy over the positions whose target is an
//! assistant token (the mask), so prompts and padding teach nothing.
//!
//! On the CPU the per-row cross-entropy is one fused op with the closed-form backward
//! `softmax - onehot`: the composed `log_softmax` + `gather` graph walks the (tokens x vocab)
//! logits a dozen times in backward, which for a 49k vocabulary is a visible share of a step.

use super::error::Result;
use candle_core::{CpuStorage, CustomOp2, D, DType, Layout, Shape, Tensor};

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
        let (Some((a, b)), Some((c, d))) = (l1.contiguous_offsets(), l2.contiguous_offsets())
        else {
            candle_core::bail!("cross-entropy: inputs must be contiguous")
        };
        let (CpuStorage::F32(logits), CpuStorage::U32(targets)) = (s1, s2) else {
            candle_core::bail!("cross-entropy: expects f32 logits and u32 targets")
        };
        let (logits, targets) = (&logits[a..b], &targets[c..d]);
        let mut out = Vec::with_capacity(n);
        for (row, &t) in logits.chunks_exact(v).zip(targets) {
            let t = t as usize;
            if t >= v {
                candle_core::bail!("cross-entropy: target {t} outside the vocabulary of {v}")
            }
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = row.iter().map(|x| (x - max).exp()).sum();
            out.push(max + sum.ln() - row[t]);
        }
        Ok((CpuStorage::F32(out), Shape::from(n)))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let n = targets.dim(0)?;
        let probs = candle_nn::ops::softmax_last_dim(logits)?;
        let minus_one = Tensor::full(-1f32, (n, 1), logits.device())?;
        let g = probs.scatter_add(&targets.reshape((n, 1))?, &minus_one, 1)?;
        Ok((Some(g.broadcast_mul(&grad.reshape((n, 1))?)?), None))
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
