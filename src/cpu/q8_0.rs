//! Q8_0 weights in the layout the products read fastest.
//!
//! Hand-written because candle's CPU path costs a thread barrier per tensor op (hundreds per
//! token for a 30-layer model) and its x86 repacked Q8_0 kernels need rows that are multiples
//! of 256 (SmolLM2's are 576). Rows are stored in groups of eight, block by block
//! ([`GroupQ8_0`]: eight f16 scales, then each row's 32 values as `w + 128`): 34 bytes per 32
//! weights as in the file, read as one stream, and the kernel (`arch/x86.rs`) forms eight rows'
//! sums side by side. Every row's sum is formed in the same order whatever the batch, row range
//! or thread, so results do not depend on how the work is split.

use std::mem::size_of;
use std::ops::Range;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Result};

use super::isa::{Isa, Kernel};
use super::q8_batch::Q8Batch;
use super::types::{BLOCK, BlockQ8_0, GROUP, GroupQ8_0, for_groups, regroup};

/// A weight matrix `rows x cols` (out x in) in Q8_0, grouped (see the module doc).
pub struct Q8Matrix {
    pub rows: usize,
    pub cols: usize,
    /// Per row group, its `cols / BLOCK` blocks.
    data: Vec<GroupQ8_0>,
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
        if !cols.is_multiple_of(BLOCK) || raw.len() != rows * nb * size_of::<BlockQ8_0>() {
            candle_core::bail!(
                "Q8_0 data of {} bytes does not fit {rows}x{cols}",
                raw.len()
            );
        }
        Ok(Self {
            rows,
            cols,
            data: regroup(raw, rows, nb, BlockQ8_0::read, GroupQ8_0::from_rows),
        })
    }

    /// Calls `emit(t, r, row r · x[t])` for every `r` in `rows` and every token `t` of `x`,
    /// on `kernel`'s code path.
    pub fn product(
        &self,
        x: &Q8Batch,
        rows: Range<usize>,
        kernel: Kernel,
        mut emit: impl FnMut(usize, usize, f32),
    ) {
        // The kernels read one token block per weight block: checked once, for every group.
        assert_eq!(x.cols(), self.cols, "input width differs from the matrix's");
        let nb = self.cols / BLOCK;
        let group = |g: usize, t: usize| {
            let w = &self.data[g * nb..(g + 1) * nb];
            let (xq, xs, _) = x.token(t);
            match kernel.isa() {
                // SAFETY: a `Kernel` for this path exists only where the CPU has its features.
                #[cfg(target_arch = "x86_64")]
                Isa::Vnni => unsafe { super::arch::x86::q8_vnni(w, xq, xs, x.bias(t)) },
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { super::arch::x86::q8_avx2(w, xq, xs, x.bias(t)) },
                _ => scalar(w, xq, xs),
            }
        };
        for_groups(self.rows, x.len(), rows, group, &mut emit);
    }

    /// Appends row `r` as f32 (what candle's `dequantize` gives), for tied embeddings.
    pub fn row_f32(&self, r: usize, out: &mut Vec<f32>) {
        let nb = self.cols / BLOCK;
        let (g, k) = (r / GROUP, r % GROUP);
        for blk in &self.data[g * nb..(g + 1) * nb] {
            let d = blk.scale(k);
            out.extend((0..BLOCK).map(|j| f32::from(blk.value(k, j)) * d));
        }
    }

    /// `out[r] = row r · x` for every row (`x` holds one vector).
    pub fn matvec(&self, x: &Q8Batch, kernel: Kernel, out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.rows);
        self.product(x, 0..self.rows, kernel, |_, r, v| out[r] = v);
    }
}

/// Portable fallback: the same layout, one row at a time.
fn scalar(w: &[GroupQ8_0], xq: &[i8], xs: &[f32]) -> [f32; GROUP] {
    let mut out = [0f32; GROUP];
    for (k, o) in out.iter_mut().enumerate() {
        for (b, blk) in w.iter().enumerate() {
            let d = blk.scale(k);
            let dot: i32 = (0..BLOCK)
                .zip(&xq[b * BLOCK..(b + 1) * BLOCK])
                .map(|(j, &v)| i32::from(blk.value(k, j)) * i32::from(v))
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
        m.matvec(&xv, Kernel::detect(), &mut ours);
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

    /// A mismatched batch is refused in every build (the kernels would read past the token).
    #[test]
    #[should_panic(expected = "input width")]
    fn a_batch_of_another_width_is_refused() {
        let (_, m) = matrix(8, 64).unwrap();
        let mut x = Q8Batch::default();
        x.quantize(&inputs(1, 32), 32);
        m.product(&x, 0..8, Kernel::detect(), |_, _, _| {});
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
        m.product(&batch, 0..rows, Kernel::detect(), |t, r, v| {
            whole[t * rows + r] = v
        });
        let mut split = vec![0f32; n * rows];
        for range in [0..3, 3..11, 11..12, 12..23] {
            m.product(&batch, range, Kernel::detect(), |t, r, v| {
                split[t * rows + r] = v
            });
        }
        assert_eq!(whole, split);
        let mut one = Q8Batch::default();
        for t in 0..n {
            one.quantize(&x[t * cols..(t + 1) * cols], cols);
            let mut out = vec![0f32; rows];
            m.matvec(&one, Kernel::detect(), &mut out);
            assert_eq!(out, whole[t * rows..(t + 1) * rows]);
        }
        // The AVX2 kernel passed explicitly: nothing global changes for other tests.
        if let Some(avx2_kernel) = Kernel::new(Isa::Avx2) {
            let mut avx2 = vec![0f32; n * rows];
            m.product(&batch, 0..rows, avx2_kernel, |t, r, v| {
                avx2[t * rows + r] = v
            });
            assert_eq!(whole, avx2);
        }
        let nb = cols / BLOCK;
        for t in 0..n {
            let (xq, xs, _) = batch.token(t);
            for g in 0..rows.div_ceil(GROUP) {
                let s = scalar(&m.data[g * nb..(g + 1) * nb], xq, xs);
                for (k, v) in s.iter().enumerate().filter(|(k, _)| g * GROUP + k < rows) {
                    let simd = whole[t * rows + g * GROUP + k];
                    assert!((v - simd).abs() < 1e-4 * (1.0 + v.abs()), "{v} vs {simd}");
                }
            }
        }
        Ok(())
    }
}
