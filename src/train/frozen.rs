//! A projection by a frozen weight whose backward pass computes only the input's gradient.
//!
//! candle's `matmul` backward computes gradients for both operands, so with plain frozen weights
//! a LoRA step costs as much as a full fine-tune's (one extra weight-sized matmul per projection
//! and a weight-sized gradient buffer). This custom op computes `x · Wᵀ` forward and only
//! `dL/dx = g · W` backward: the lever that makes LoRA training cheap.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

struct FrozenMatmul;

fn out_shape(l1: &Layout, l2: &Layout) -> Result<(usize, usize, usize, Shape)> {
    let (m, k) = l1.shape().dims2()?;
    let (n, k2) = l2.shape().dims2()?;
    if k != k2 {
        candle_core::bail!("frozen projection: input has {k} features, weight expects {k2}")
    }
    Ok((m, n, k, Shape::from((m, n))))
}

impl CustomOp2 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (m, n, k, shape) = out_shape(l1, l2)?;
        let out = s1.matmul(s2, (1, m, n, k), l1, &l2.transpose(0, 1)?)?;
        Ok((out, shape))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let (m, n, k, shape) = out_shape(l1, l2)?;
        let out = s1.matmul(s2, (1, m, n, k), l1, &l2.transpose(0, 1)?)?;
        Ok((out, shape))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // The weight is frozen: no gradient for it, which is the point of this op.
        Ok((Some(grad.matmul(w)?), None))
    }
}

/// `x · Wᵀ` for `x` of shape (..., in) and a frozen `w` of shape (out, in).
pub fn frozen_linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let dims = x.dims();
    let Some((&k, lead)) = dims.split_last() else {
        candle_core::bail!("frozen projection: input is a scalar")
    };
    let m: usize = lead.iter().product();
    let x2 = x.reshape((m, k))?.contiguous()?;
    let y = x2.apply_op2(w, FrozenMatmul)?;
    let mut out_dims = lead.to_vec();
    out_dims.push(w.dim(0)?);
    y.reshape(out_dims)
}
