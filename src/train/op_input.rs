//! The inputs of the trainer's custom candle ops as plain slices: each op reads its tensors'
//! CPU storage once, contiguous and of the expected type, or names the input that is not.

use candle_core::{CpuStorage, Layout, Result, bail};

/// A custom op's input as a contiguous f32 slice; `what` names it in the error.
pub fn f32_input<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => bail!("{what} must be a contiguous f32 CPU tensor"),
    }
}

/// A custom op's input as a contiguous u32 slice (token ids); `what` names it in the error.
pub fn u32_input<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [u32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::U32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => bail!("{what} must be a contiguous u32 CPU tensor"),
    }
}
