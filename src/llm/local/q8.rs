//! Q8_0 weights in the layout the products read fastest, and the row-group walk that every
//! weight type shares (`Kernel`, `for_groups`).
//!
//! Hand-written because candle's CPU path costs a thread barrier per tensor op (hundreds per
//! token for a 30-layer model) and its x86 repacked Q8_0 kernels need rows that are multiples
//! of 256 (SmolLM2's are 576). Rows are stored in groups of eight, block by block (eight f16
//! scales, then each row's 32 values as `w + 128`): 34 bytes per 32 weights as in the file,
//! read as one stream, and the kernel (`simd.rs`) forms eight rows' sums side by side. Every
//! row's sum is formed in the same order whatever the batch, row range or thread, so results
//! do not depend on how the work is split.

use std::ops::Range;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Result};

use super::batch::Q8Batch;

/// Values per quantisation block.
pub const BLOCK: usize = 32;
/// Rows stored (and computed) together.
pub const GROUP: usize = 8;
/// Bytes per Q8_0 block in the file: an f16 scale and 32 i8 values.
const BLOCK_BYTES: usize = 34;
/// Bytes per block of a row group: eight f16 scales, then eight rows' 32 values.
pub const GROUP_BYTES: usize = GROUP * BLOCK_BYTES;

/// A weight matrix `rows x cols` (out x in) in Q8_0, grouped (see the module doc).
pub struct Q8Matrix {
    pub rows: usize,
    pub cols: usize,
    data: Vec<u8>,
}

/// The products' code path, chosen once per product from the CPU's features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// AVX-512 VNNI on 256-bit vectors: one `vpdpbusd` per block and row.
    Vnni,
    Avx2,
    Scalar,
}

/// Tests compare the two SIMD kernels on the same machine.
pub static FORCE_AVX2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Kernel {
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
                && std::is_x86_feature_detected!("f16c");
            if avx2
                && std::is_x86_feature_detected!("avx512vnni")
                && std::is_x86_feature_detected!("avx512vl")
                && !FORCE_AVX2.load(std::sync::atomic::Ordering::Relaxed)
            {
                return Self::Vnni;
            }
            if avx2 {
                return Self::Avx2;
            }
        }
        Self::Scalar
    }
}

/// Calls `group(g, t)` for every row group that meets `rows` and every token `t` of `x`,
/// then `emit` for the rows of that group inside `rows` (and inside the matrix).
pub fn for_groups(
    n_rows: usize,
    x: &Q8Batch,
    rows: Range<usize>,
    mut group: impl FnMut(usize, usize) -> [f32; GROUP],
    emit: &mut impl FnMut(usize, usize, f32),
) {
    let end = rows.end.min(n_rows);
    if rows.start >= end {
        return;
    }
    for g in rows.start / GROUP..end.div_ceil(GROUP) {
        let first = (g * GROUP).max(rows.start);
        let last = ((g + 1) * GROUP).min(end);
        for t in 0..x.len() {
            let v = group(g, t);
            for r in first..last {
                emit(t, r, v[r - g * GROUP]);
            }
        }
    }
}

/// Rearranges `rows` file rows of `nb` blocks (`block_bytes` each, `head` bytes of scales
/// first) into row groups: per group and block, each row's head, then each row's values
/// (passed through `value`); missing rows of the last group are `pad` blocks.
pub fn regroup(
    raw: &[u8],
    rows: usize,
    nb: usize,
    (block_bytes, head): (usize, usize),
    pad: &[u8],
    value: impl Fn(u8) -> u8,
) -> Vec<u8> {
    let groups = rows.div_ceil(GROUP);
    let mut out = Vec::with_capacity(groups * nb * GROUP * block_bytes);
    for g in 0..groups {
        for b in 0..nb {
            let block = |k: usize| {
                let r = g * GROUP + k;
                if r < rows {
                    &raw[(r * nb + b) * block_bytes..(r * nb + b + 1) * block_bytes]
                } else {
                    pad
                }
            };
            for h in (0..head).step_by(2) {
                for k in 0..GROUP {
                    out.extend_from_slice(&block(k)[h..h + 2]);
                }
            }
            for k in 0..GROUP {
                out.extend(block(k)[head..].iter().map(|&v| value(v)));
            }
        }
    }
    out
}

impl Q8Matrix {
    /// Converts any 2-D quantised tensor (re-quantising to Q8_0 where it is another type).
    pub fn from_qtensor(t: &QTensor) -> Result<Self> {
        let (rows, cols) = t.shape().dims2()?;
        Self::from_q8_0(rows, cols, &Self::q8_0_bytes(t)?)
    }

    /// The tensor's data as Q8_0 blocks (re-quantised where it is another type).
    pub fn q8_0_bytes(t: &QTensor) -> Result<Vec<u8>> {
        let (_, cols) = t.shape().dims2()?;
        if cols % BLOCK != 0 {
            candle_core::bail!("a weight row of {cols} values is not a multiple of {BLOCK}");
        }
        if t.dtype() == GgmlDType::Q8_0 {
            return t.data().map(|d| d.into_owned());
        }
        let q8 = QTensor::quantize(&t.dequantize(&Device::Cpu)?, GgmlDType::Q8_0)?;
        q8.data().map(|d| d.into_owned())
    }

    /// Builds the matrix from `rows` rows of Q8_0 blocks as ggml stores them.
    pub fn from_q8_0(rows: usize, cols: usize, raw: &[u8]) -> Result<Self> {
        let nb = cols / BLOCK;
        if !cols.is_multiple_of(BLOCK) || raw.len() != rows * nb * BLOCK_BYTES {
            candle_core::bail!(
                "Q8_0 data of {} bytes does not fit {rows}x{cols}",
                raw.len()
            );
        }
        // A zero scale and values of 0.
        let pad = [0u8; BLOCK_BYTES];
        Ok(Self {
            rows,
            cols,
            data: regroup(raw, rows, nb, (BLOCK_BYTES, 2), &pad, |v| v ^ 0x80),
        })
    }

    /// Calls `emit(t, r, row r · x[t])` for every `r` in `rows` and every token `t` of `x`.
    pub fn product(
        &self,
        x: &Q8Batch,
        rows: Range<usize>,
        mut emit: impl FnMut(usize, usize, f32),
    ) {
        debug_assert_eq!(x.cols(), self.cols);
        let nb = self.cols / BLOCK;
        let kernel = Kernel::detect();
        let group = |g: usize, t: usize| {
            let w = &self.data[g * nb * GROUP_BYTES..(g + 1) * nb * GROUP_BYTES];
            let (xq, xs, _) = x.token(t);
            match kernel {
                // SAFETY: the kernel's CPU features were detected; `w` holds the group's
                // `nb` blocks and the token has `nb` blocks of values, scales and biases.
                #[cfg(target_arch = "x86_64")]
                Kernel::Vnni => unsafe { super::simd::q8_vnni(w, nb, xq, xs, x.bias(t)) },
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx2 => unsafe { super::simd::q8_avx2(w, nb, xq, xs, x.bias(t)) },
                _ => scalar(w, nb, xq, xs),
            }
        };
        for_groups(self.rows, x, rows, group, &mut emit);
    }

    /// Appends row `r` as f32 (what candle's `dequantize` gives), for tied embeddings.
    pub fn row_f32(&self, r: usize, out: &mut Vec<f32>) {
        let nb = self.cols / BLOCK;
        let (g, k) = (r / GROUP, r % GROUP);
        for b in 0..nb {
            let blk = &self.data[(g * nb + b) * GROUP_BYTES..(g * nb + b + 1) * GROUP_BYTES];
            let d = half::f16::from_le_bytes([blk[2 * k], blk[2 * k + 1]]).to_f32();
            let q = &blk[2 * GROUP + k * BLOCK..2 * GROUP + (k + 1) * BLOCK];
            out.extend(q.iter().map(|&v| f32::from((v ^ 0x80) as i8) * d));
        }
    }

    /// `out[r] = row r · x` for every row (`x` holds one vector).
    pub fn matvec(&self, x: &Q8Batch, out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.rows);
        self.product(x, 0..self.rows, |_, r, v| out[r] = v);
    }
}

/// Portable fallback: the same layout, one row at a time.
fn scalar(w: &[u8], nb: usize, xq: &[i8], xs: &[f32]) -> [f32; GROUP] {
    let mut out = [0f32; GROUP];
    for (k, o) in out.iter_mut().enumerate() {
        for b in 0..nb {
            let blk = &w[b * GROUP_BYTES..(b + 1) * GROUP_BYTES];
            let d = half::f16::from_le_bytes([blk[2 * k], blk[2 * k + 1]]).to_f32();
            let q = &blk[2 * GROUP + k * BLOCK..2 * GROUP + (k + 1) * BLOCK];
            let dot: i32 = q
                .iter()
                .zip(&xq[b * BLOCK..(b + 1) * BLOCK])
                .map(|(&a, &v)| i32::from((a ^ 0x80) as i8) * i32::from(v))
                .sum();
            *o += dot as f32 * d * xs[b];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Module, Tensor};
    use std::sync::atomic::Ordering;

    fn matrix(rows: usize, cols: usize) -> Result<(QTensor, Q8Matrix)> {
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919) % 251) as f32 / 125.0 - 1.0)
            .collect();
        let wt = Tensor::from_vec(w, (rows, cols), &Device::Cpu)?;
        let q = QTensor::quantize(&wt, GgmlDType::Q8_0)?;
        let m = Q8Matrix::from_qtensor(&q)?;
        Ok((q, m))
    }

    fn inputs(n: usize, cols: usize) -> Vec<f32> {
        (0..n * cols)
            .map(|i| ((i * 31) % 17) as f32 / 8.0 - 1.0)
            .collect()
    }

    #[test]
    fn matvec_matches_candle_and_rows_dequantise_exactly() -> Result<()> {
        let (rows, cols) = (37, 96);
        let (q, m) = matrix(rows, cols)?;
        let x = inputs(1, cols);
        let mut xv = Q8Batch::default();
        xv.quantize(&x, cols);
        let mut ours = vec![0f32; rows];
        m.matvec(&xv, &mut ours);
        let deq: Vec<f32> = q.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1()?;
        let xt = Tensor::from_vec(x, (1, cols), &Device::Cpu)?;
        let theirs: Vec<f32> = candle_core::quantized::QMatMul::from_qtensor(q)?
            .forward(&xt)?
            .flatten_all()?
            .to_vec1()?;
        for r in 0..rows {
            assert!(
                (ours[r] - theirs[r]).abs() < 1e-3 * (1.0 + theirs[r].abs()),
                "row {r}: {} vs {}",
                ours[r],
                theirs[r]
            );
        }
        for r in [0, 9, 36] {
            let mut row = Vec::new();
            m.row_f32(r, &mut row);
            assert_eq!(row, deq[r * cols..(r + 1) * cols]);
        }
        Ok(())
    }

    /// A batch, any row split and either SIMD kernel give the very same bits as one token
    /// and one call: what makes threaded and batched generation equal single-threaded. The
    /// scalar path agrees to rounding.
    #[test]
    fn results_do_not_depend_on_batch_split_or_kernel() -> Result<()> {
        let (rows, cols, n) = (23, 128, 5);
        let (_, m) = matrix(rows, cols)?;
        let x = inputs(n, cols);
        let mut batch = Q8Batch::default();
        batch.quantize(&x, cols);
        let mut whole = vec![0f32; n * rows];
        m.product(&batch, 0..rows, |t, r, v| whole[t * rows + r] = v);
        let mut split = vec![0f32; n * rows];
        for range in [0..3, 3..11, 11..12, 12..23] {
            m.product(&batch, range, |t, r, v| split[t * rows + r] = v);
        }
        assert_eq!(whole, split);
        let mut one = Q8Batch::default();
        for t in 0..n {
            one.quantize(&x[t * cols..(t + 1) * cols], cols);
            let mut out = vec![0f32; rows];
            m.matvec(&one, &mut out);
            assert_eq!(out, whole[t * rows..(t + 1) * rows]);
        }
        FORCE_AVX2.store(true, Ordering::Relaxed);
        let mut avx2 = vec![0f32; n * rows];
        m.product(&batch, 0..rows, |t, r, v| avx2[t * rows + r] = v);
        FORCE_AVX2.store(false, Ordering::Relaxed);
        assert_eq!(whole, avx2);
        let nb = cols / BLOCK;
        for t in 0..n {
            let (xq, xs, _) = batch.token(t);
            for g in 0..rows.div_ceil(GROUP) {
                let s = scalar(&m.data[g * nb * GROUP_BYTES..], nb, xq, xs);
                for (k, v) in s.iter().enumerate().filter(|(k, _)| g * GROUP + k < rows) {
                    let simd = whole[t * rows + g * GROUP + k];
                    assert!((v - simd).abs() < 1e-4 * (1.0 + v.abs()), "{v} vs {simd}");
                }
            }
        }
        Ok(())
    }
}
