//! The supervised fine-tuning loss: mean cross-entropy over the positions whose target is an
//! assistant token (the mask), so prompts and padding teach nothing.

use super::error::Result;
use candle_core::{D, DType, Tensor};

/// `logits` (batch, seq, vocab), `targets` (batch, seq) u32, `mask` (batch, seq) f32 of 0/1.
/// Returns the scalar mean loss over masked positions (0 when the mask is empty).
pub fn masked_cross_entropy(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (b, s, v) = logits.dims3()?;
    let logits = logits.reshape((b * s, v))?;
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let picked = logp
        .gather(&targets.reshape((b * s, 1))?.to_dtype(DType::U32)?, 1)?
        .squeeze(1)?;
    let mask = mask.reshape(b * s)?.to_dtype(DType::F32)?;
    let count = mask.sum_all()?.to_scalar::<f32>()?.max(1.0);
    Ok(((picked * mask)?.sum_all()?.neg()? / f64::from(count))?)
}
