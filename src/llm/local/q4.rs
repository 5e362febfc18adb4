//! Q4_1 weights run as stored (4-bit values with a scale and a minimum per 32), and the
//! `QMatrix` the forward pass holds: Q4_1 where the file has it, Q8_0 for everything else.
//!
//! Why: generating one token reads every weight once, and on this CPU that read is the
//! bottleneck; Q4_1 is 24 bytes per 32 weights here against Q8_0's 36, which is what let
//! llama.cpp generate faster than assay's Q8_0 copy. The product follows ggml's
//! `vec_dot_q4_1_q8_1`: `Σ (d·q + m)·dx·qx = d·dx·Σ q·qx + m·(dx·Σ qx)`.

use std::ops::Range;

use candle_core::Result;
use candle_core::quantized::{GgmlDType, QTensor};

use super::batch::Q8Batch;
use super::q8::{BLOCK, GROUP, Kernel, Q8Matrix, for_groups, regroup};

/// Bytes per Q4_1 block in the file: f16 scale, f16 minimum, 16 bytes of nibbles.
const BLOCK_BYTES: usize = 20;
/// Bytes per block of a row group: eight f16 scales, eight f16 minimums, eight rows' nibbles.
pub const GROUP_BYTES: usize = GROUP * BLOCK_BYTES;

/// A `rows x cols` matrix in Q4_1, rows in groups of eight as `Q8Matrix` keeps them: per
/// group and block, the eight scales, the eight minimums, then each row's 16 bytes, where byte
/// `j` holds value `j` (low nibble) and value `j + 16` (high nibble), as in ggml. 20 bytes per
/// 32 weights, as in the file.
pub struct Q41Matrix {
    pub rows: usize,
    pub cols: usize,
    data: Vec<u8>,
}

impl Q41Matrix {
    /// Builds the matrix from `rows` rows of Q4_1 blocks as ggml stores them.
    fn from_q4_1(rows: usize, cols: usize, raw: &[u8]) -> Result<Self> {
        let nb = cols / BLOCK;
        if !cols.is_multiple_of(BLOCK) || raw.len() != rows * nb * BLOCK_BYTES {
            candle_core::bail!(
                "Q4_1 data of {} bytes does not fit {rows}x{cols}",
                raw.len()
            );
        }
        Ok(Self {
            rows,
            cols,
            data: regroup(raw, rows, nb, (BLOCK_BYTES, 4), &[0; BLOCK_BYTES], |v| v),
        })
    }

    fn row_f32(&self, r: usize, out: &mut Vec<f32>) {
        let nb = self.cols / BLOCK;
        let (g, k) = (r / GROUP, r % GROUP);
        for b in 0..nb {
            let blk = &self.data[(g * nb + b) * GROUP_BYTES..(g * nb + b + 1) * GROUP_BYTES];
            let (d, m) = scale_min(blk, k);
            let q = &blk[4 * GROUP + k * 16..4 * GROUP + (k + 1) * 16];
            out.extend(q.iter().map(|&v| f32::from(v & 0x0f) * d + m));
            out.extend(q.iter().map(|&v| f32::from(v >> 4) * d + m));
        }
    }

    fn product(&self, x: &Q8Batch, rows: Range<usize>, emit: &mut impl FnMut(usize, usize, f32)) {
        debug_assert_eq!(x.cols(), self.cols);
        let nb = self.cols / BLOCK;
        let kernel = Kernel::detect();
        let group = |g: usize, t: usize| {
            let w = &self.data[g * nb * GROUP_BYTES..(g + 1) * nb * GROUP_BYTES];
            let (xq, xs, xsum) = x.token(t);
            match kernel {
                // SAFETY: the kernel's CPU features were detected; `w` holds the group's
                // `nb` blocks and the token has `nb` blocks of values, scales and sums.
                #[cfg(target_arch = "x86_64")]
                Kernel::Vnni => unsafe { super::simd::q4_1_vnni(w, nb, xq, xs, xsum) },
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx2 => unsafe { super::simd::q4_1_avx2(w, nb, xq, xs, xsum) },
                _ => scalar(w, nb, xq, xs, xsum),
            }
        };
        for_groups(self.rows, x, rows, group, emit);
    }
}

/// Row `k`'s scale and minimum in a group block.
fn scale_min(blk: &[u8], k: usize) -> (f32, f32) {
    let f = |i: usize| half::f16::from_le_bytes([blk[i], blk[i + 1]]).to_f32();
    (f(2 * k), f(2 * GROUP + 2 * k))
}

/// Portable fallback: the same layout, one row at a time.
fn scalar(w: &[u8], nb: usize, xq: &[i8], xs: &[f32], xsum: &[f32]) -> [f32; GROUP] {
    let mut out = [0f32; GROUP];
    for (k, o) in out.iter_mut().enumerate() {
        for b in 0..nb {
            let blk = &w[b * GROUP_BYTES..(b + 1) * GROUP_BYTES];
            let (d, m) = scale_min(blk, k);
            let q = &blk[4 * GROUP + k * 16..4 * GROUP + (k + 1) * 16];
            let v = &xq[b * BLOCK..(b + 1) * BLOCK];
            let dot: i32 = (0..16)
                .map(|j| {
                    i32::from(q[j] & 0x0f) * i32::from(v[j])
                        + i32::from(q[j] >> 4) * i32::from(v[j + 16])
                })
                .sum();
            *o += d * xs[b] * dot as f32 + m * xsum[b];
        }
    }
    out
}

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

    /// Calls `emit(t, r, row r · x[t])` for `r` in `rows`, every token `t` (see `Q8Matrix`).
    pub fn product(
        &self,
        x: &Q8Batch,
        rows: Range<usize>,
        mut emit: impl FnMut(usize, usize, f32),
    ) {
        match self {
            Self::Q8(m) => m.product(x, rows, emit),
            Self::Q41(m) => m.product(x, rows, &mut emit),
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
    use candle_core::{Device, Module, Tensor};
    use std::sync::atomic::Ordering;

    #[test]
    fn q4_1_product_matches_candle_and_splits_equal() -> Result<()> {
        let (rows, cols, n) = (21, 128, 3);
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919) % 251) as f32 / 125.0 - 1.0)
            .collect();
        let part = |r: Range<usize>| {
            let t = Tensor::from_slice(
                &w[r.start * cols..r.end * cols],
                (r.len(), cols),
                &Device::Cpu,
            )?;
            QTensor::quantize(&t, GgmlDType::Q4_1)
        };
        let q = part(0..rows)?;
        // Stacked from two parts whose row counts are not multiples of the group.
        let m = QMatrix::stack(&[part(0..13)?, part(13..rows)?])?;
        assert!(matches!(m, QMatrix::Q41(_)));
        let x: Vec<f32> = (0..n * cols)
            .map(|i| ((i * 31) % 17) as f32 / 8.0 - 1.0)
            .collect();
        let mut xb = Q8Batch::default();
        xb.quantize(&x, cols);
        let mut ours = vec![0f32; n * rows];
        m.product(&xb, 0..rows, |t, r, v| ours[t * rows + r] = v);
        let mut split = vec![0f32; n * rows];
        for range in [0..5, 5..6, 6..21] {
            m.product(&xb, range, |t, r, v| split[t * rows + r] = v);
        }
        assert_eq!(ours, split);
        // Either SIMD kernel: the same integers, so the same bits.
        super::super::q8::FORCE_AVX2.store(true, Ordering::Relaxed);
        let mut avx2 = vec![0f32; n * rows];
        m.product(&xb, 0..rows, |t, r, v| avx2[t * rows + r] = v);
        super::super::q8::FORCE_AVX2.store(false, Ordering::Relaxed);
        assert_eq!(ours, avx2);
        let QMatrix::Q41(q41) = &m else {
            unreachable!("checked above")
        };
        let nb = cols / BLOCK;
        for t in 0..n {
            let (xq, xs, xsum) = xb.token(t);
            for g in 0..rows.div_ceil(GROUP) {
                let s = scalar(&q41.data[g * nb * GROUP_BYTES..], nb, xq, xs, xsum);
                for (k, v) in s.iter().enumerate().filter(|(k, _)| g * GROUP + k < rows) {
                    let simd = ours[t * rows + g * GROUP + k];
                    assert!((v - simd).abs() < 1e-4 * (1.0 + v.abs()), "{v} vs {simd}");
                }
            }
        }
        let deq: Vec<f32> = q.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1()?;
        for r in [3, 8, 20] {
            let mut row = Vec::new();
            m.row_f32(r, &mut row);
            assert_eq!(row, deq[r * cols..(r + 1) * cols]);
        }
        let theirs: Vec<f32> = candle_core::quantized::QMatMul::from_qtensor(q)?
            .forward(&Tensor::from_vec(x, (n, cols), &Device::Cpu)?)?
            .flatten_all()?
            .to_vec1()?;
        for (a, b) in ours.iter().zip(&theirs) {
            assert!((a - b).abs() < 2e-2 * (1.0 + b.abs()), "{a} vs {b}");
        }
        Ok(())
    }
}
