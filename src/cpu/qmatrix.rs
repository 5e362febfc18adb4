//! The weight matrix as the quantised forward pass holds it: Q4_1 where the file has it (fewer
//! bytes to read per token), Q8_0 for every other type.

use std::ops::Range;

use candle_core::Result;
use candle_core::quantized::{GgmlDType, QTensor};

use super::isa::Kernel;
use super::q4_1::Q41Matrix;
use super::q8_0::Q8Matrix;
use super::q8_batch::Q8Batch;

/// A weight matrix as the forward pass holds it.
pub enum QMatrix {
    Q8(Q8Matrix),
    Q41(Q41Matrix),
}

impl QMatrix {
    /// Q4_1 stays Q4_1; any other type becomes Q8_0.
    pub fn from_qtensor(t: &QTensor) -> Result<Self> {
        Self::stack(std::slice::from_ref(t))
    }

    /// Several tensors' rows as one matrix (q, k and v): Q4_1 if all are, else all Q8_0.
    pub fn stack(parts: &[QTensor]) -> Result<Self> {
        let mut dims = Vec::with_capacity(parts.len());
        for t in parts {
            dims.push(t.shape().dims2()?);
        }
        let cols = dims.first().map_or(0, |d| d.1);
        if dims.iter().any(|d| d.1 != cols) {
            candle_core::bail!("cannot stack matrices of different widths");
        }
        let rows = dims.iter().map(|d| d.0).sum();
        let mut raw = Vec::new();
        if parts.iter().all(|t| t.dtype() == GgmlDType::Q4_1) {
            for t in parts {
                raw.extend_from_slice(&t.data()?);
            }
            return Ok(Self::Q41(Q41Matrix::from_q4_1(rows, cols, &raw)?));
        }
        for t in parts {
            raw.extend(Q8Matrix::q8_0_bytes(t)?);
        }
        Ok(Self::Q8(Q8Matrix::from_q8_0(rows, cols, &raw)?))
    }

    pub fn rows(&self) -> usize {
        match self {
            Self::Q8(m) => m.rows,
            Self::Q41(m) => m.rows,
        }
    }

    /// Calls `emit(t, r, row r · x[t])` for `r` in `rows`, every token `t` (see `Q8Matrix`),
    /// on `kernel`'s code path.
    pub fn product(
        &self,
        x: &Q8Batch,
        rows: Range<usize>,
        kernel: Kernel,
        mut emit: impl FnMut(usize, usize, f32),
    ) {
        match self {
            Self::Q8(m) => m.product(x, rows, kernel, emit),
            Self::Q41(m) => m.product(x, rows, kernel, &mut emit),
        }
    }

    /// Appends row `r` in f32 (as candle's `dequantize`).
    pub fn row_f32(&self, r: usize, out: &mut Vec<f32>) {
        match self {
            Self::Q8(m) => m.row_f32(r, out),
            Self::Q41(m) => m.row_f32(r, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    /// Q4_1 parts stack as Q4_1 (row counts not multiples of the group), mixed parts as Q8_0,
    /// and the stacked rows are the parts' rows.
    #[test]
    fn stacking_keeps_q4_1_and_every_row() -> Result<()> {
        let cols = 64;
        let part = |rows: usize, dtype: GgmlDType| {
            let w: Vec<f32> = (0..rows * cols)
                .map(|i| (i % 13) as f32 / 6.0 - 1.0)
                .collect();
            QTensor::quantize(&Tensor::from_vec(w, (rows, cols), &Device::Cpu)?, dtype)
        };
        let (a, b) = (part(13, GgmlDType::Q4_1)?, part(8, GgmlDType::Q4_1)?);
        let m = QMatrix::stack(&[a, b])?;
        assert!(matches!(m, QMatrix::Q41(_)));
        assert_eq!(m.rows(), 21);
        let (mut first, mut row13) = (Vec::new(), Vec::new());
        m.row_f32(0, &mut first);
        m.row_f32(13, &mut row13);
        assert_eq!(first, row13, "both parts start with the same values");
        let mixed = QMatrix::stack(&[part(3, GgmlDType::Q4_1)?, part(5, GgmlDType::Q8_0)?])?;
        assert!(matches!(mixed, QMatrix::Q8(_)));
        assert_eq!(mixed.rows(), 8);
        Ok(())
    }
}
