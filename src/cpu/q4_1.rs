//! Q4_1 weights run as stored (4-bit values with a scale and a minimum per 32), rows in
//! groups of eight as `Q8Matrix` keeps them ([`GroupQ4_1`]).
//!
//! Why: generating one token reads every weight once, and on this CPU that read is the
//! bottleneck; Q4_1 is 24 bytes per 32 weights here against Q8_0's 36, which is what let
//! llama.cpp generate faster than assay's Q8_0 copy. The product follows ggml's `vec_dot_q4_1_q8_1`:
//! `Σ (d·q + m)·dx·qx = d·dx·Σ q·qx + m·(dx·Σ qx)`.

use std::mem::size_of;
use std::ops::Range;

use candle_core::Result;

use super::isa::{Isa, Kernel};
use super::q8_batch::Q8Batch;
use super::types::{BLOCK, BlockQ4_1, GROUP, GroupQ4_1, for_groups, regroup};

/// A `rows x cols` matrix in Q4_1, grouped (see the module doc): per group and block, the eight
/// scales, the eight minimums, then the rows' nibbles, where byte `j` of a row holds value `j`
/// (low nibble) and value `j + 16` (high nibble), as in ggml. 20 bytes per 32 weights, as in
/// the file.
pub struct Q41Matrix {
    pub rows: usize,
    pub cols: usize,
    /// Per row group, its `cols / BLOCK` blocks.
    data: Vec<GroupQ4_1>,
}

impl Q41Matrix {
    /// Builds the matrix from `rows` rows of Q4_1 blocks as ggml stores them.
    pub fn from_q4_1(rows: usize, cols: usize, raw: &[u8]) -> Result<Self> {
        let nb = cols / BLOCK;
        if !cols.is_multiple_of(BLOCK) || raw.len() != rows * nb * size_of::<BlockQ4_1>() {
            candle_core::bail!(
                "Q4_1 data of {} bytes does not fit {rows}x{cols}",
                raw.len()
            );
        }
        Ok(Self {
            rows,
            cols,
            data: regroup(raw, rows, nb, BlockQ4_1::read, GroupQ4_1::from_rows),
        })
    }

    /// Appends row `r` in f32 (as candle's `dequantize`).
    pub fn row_f32(&self, r: usize, out: &mut Vec<f32>) {
        let nb = self.cols / BLOCK;
        let (g, k) = (r / GROUP, r % GROUP);
        for blk in &self.data[g * nb..(g + 1) * nb] {
            let (d, m) = blk.scale_min(k);
            let q = blk.row(k);
            out.extend(q.iter().map(|&v| f32::from(v & 0x0f) * d + m));
            out.extend(q.iter().map(|&v| f32::from(v >> 4) * d + m));
        }
    }

    /// Calls `emit(t, r, row r · x[t])` for `r` in `rows`, every token `t`, on `kernel`'s path.
    pub fn product(
        &self,
        x: &Q8Batch,
        rows: Range<usize>,
        kernel: Kernel,
        emit: &mut impl FnMut(usize, usize, f32),
    ) {
        // The kernels read one token block per weight block: checked once, for every group.
        assert_eq!(x.cols(), self.cols, "input width differs from the matrix's");
        let nb = self.cols / BLOCK;
        let group = |g: usize, t: usize| {
            let w = &self.data[g * nb..(g + 1) * nb];
            let (xq, xs, xsum) = x.token(t);
            match kernel.isa() {
                // SAFETY: a `Kernel` for this path exists only where the CPU has its features.
                #[cfg(target_arch = "x86_64")]
                Isa::Vnni => unsafe { super::arch::x86::q4_1_vnni(w, xq, xs, xsum) },
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { super::arch::x86::q4_1_avx2(w, xq, xs, xsum) },
                _ => scalar(w, xq, xs, xsum),
            }
        };
        for_groups(self.rows, x.len(), rows, group, emit);
    }
}

/// Portable fallback: the same layout, one row at a time.
fn scalar(w: &[GroupQ4_1], xq: &[i8], xs: &[f32], xsum: &[f32]) -> [f32; GROUP] {
    let mut out = [0f32; GROUP];
    for (k, o) in out.iter_mut().enumerate() {
        for (b, blk) in w.iter().enumerate() {
            let (d, m) = blk.scale_min(k);
            let q = blk.row(k);
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

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Module, Tensor};

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
        let mut raw = part(0..13)?.data()?.into_owned();
        raw.extend_from_slice(&part(13..rows)?.data()?);
        let m = Q41Matrix::from_q4_1(rows, cols, &raw)?;
        let kernel = Kernel::detect();
        let x: Vec<f32> = (0..n * cols)
            .map(|i| ((i * 31) % 17) as f32 / 8.0 - 1.0)
            .collect();
        let mut xb = Q8Batch::default();
        xb.quantize(&x, cols);
        let mut ours = vec![0f32; n * rows];
        m.product(&xb, 0..rows, kernel, &mut |t, r, v| ours[t * rows + r] = v);
        let mut split = vec![0f32; n * rows];
        for range in [0..5, 5..6, 6..21] {
            m.product(&xb, range, kernel, &mut |t, r, v| split[t * rows + r] = v);
        }
        assert_eq!(ours, split);
        // Either SIMD kernel: the same integers, so the same bits.
        // The AVX2 kernel passed explicitly: nothing global changes for other tests.
        if let Some(avx2_kernel) = Kernel::new(Isa::Avx2) {
            let mut avx2 = vec![0f32; n * rows];
            m.product(&xb, 0..rows, avx2_kernel, &mut |t, r, v| {
                avx2[t * rows + r] = v
            });
            assert_eq!(ours, avx2);
        }
        let nb = cols / BLOCK;
        for t in 0..n {
            let (xq, xs, xsum) = xb.token(t);
            for g in 0..rows.div_ceil(GROUP) {
                let s = scalar(&m.data[g * nb..(g + 1) * nb], xq, xs, xsum);
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
