//! Q8_0 weights and the matrix-vector product the fast llama forward is built on.
//!
//! Hand-written because candle's CPU path costs a thread barrier per tensor op (hundreds per
//! token for a 30-layer model) and its x86 repacked Q8_0 kernels need rows that are multiples
//! of 256 (SmolLM2's are 576). Weights are split into i8 values and f32 block scales; the input
//! vector is quantised to Q8_0 once per product, exactly as ggml and candle do, so the results
//! agree with candle's to float rounding.

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Result};

/// Values per quantisation block.
pub const BLOCK: usize = 32;
/// Bytes per Q8_0 block on disk: an f16 scale and 32 i8 values.
const BLOCK_BYTES: usize = 34;

/// A weight matrix `rows x cols` (out x in) in Q8_0.
pub struct Q8Matrix {
    pub rows: usize,
    pub cols: usize,
    quants: Vec<i8>,
    scales: Vec<f32>,
}

/// A vector quantised to Q8_0, reused across products to avoid allocation.
#[derive(Default)]
pub struct Q8Vector {
    quants: Vec<i8>,
    scales: Vec<f32>,
}

impl Q8Matrix {
    /// Converts any 2-D quantised tensor (re-quantising to Q8_0 where it is another type).
    pub fn from_qtensor(t: &QTensor) -> Result<Self> {
        let (rows, cols) = t.shape().dims2()?;
        if cols % BLOCK != 0 {
            candle_core::bail!("a weight row of {cols} values is not a multiple of {BLOCK}");
        }
        let q8;
        let t = if t.dtype() == GgmlDType::Q8_0 {
            t
        } else {
            q8 = QTensor::quantize(&t.dequantize(&Device::Cpu)?, GgmlDType::Q8_0)?;
            &q8
        };
        let data = t.data()?;
        let blocks = rows * cols / BLOCK;
        if data.len() != blocks * BLOCK_BYTES {
            candle_core::bail!(
                "Q8_0 data has {} bytes, expected {}",
                data.len(),
                blocks * BLOCK_BYTES
            );
        }
        let mut quants = Vec::with_capacity(rows * cols);
        let mut scales = Vec::with_capacity(blocks);
        for b in data.chunks_exact(BLOCK_BYTES) {
            scales.push(half::f16::from_le_bytes([b[0], b[1]]).to_f32());
            quants.extend(b[2..].iter().map(|&v| v as i8));
        }
        Ok(Self {
            rows,
            cols,
            quants,
            scales,
        })
    }

    /// `out[r] = row r · x` for every row.
    pub fn matvec(&self, x: &Q8Vector, out: &mut [f32]) {
        let nb = self.cols / BLOCK;
        debug_assert_eq!(x.scales.len(), nb);
        debug_assert_eq!(out.len(), self.rows);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked above); slices are sized by `nb` blocks.
            unsafe { avx2::matvec(&self.quants, &self.scales, nb, x, out) };
            return;
        }
        for (r, o) in out.iter_mut().enumerate() {
            *o = dot_scalar(
                &self.quants[r * self.cols..(r + 1) * self.cols],
                &self.scales[r * nb..(r + 1) * nb],
                x,
            );
        }
    }
}

fn dot_scalar(wq: &[i8], ws: &[f32], x: &Q8Vector) -> f32 {
    let mut sum = 0f32;
    for (b, (w, xq)) in wq
        .chunks_exact(BLOCK)
        .zip(x.quants.chunks_exact(BLOCK))
        .enumerate()
    {
        let dot: i32 = w
            .iter()
            .zip(xq)
            .map(|(&a, &b)| i32::from(a) * i32::from(b))
            .sum();
        sum += dot as f32 * ws[b] * x.scales[b];
    }
    sum
}

impl Q8Vector {
    /// Quantises `x` (length a multiple of 32) like ggml's `quantize_row_q8_0`.
    pub fn quantize(&mut self, x: &[f32]) {
        self.quants.clear();
        self.scales.clear();
        for block in x.chunks_exact(BLOCK) {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            // The scale is stored as f16 in ggml; round it the same way.
            self.scales.push(half::f16::from_f32(d).to_f32());
            self.quants
                .extend(block.iter().map(|v| (v * id).round() as i8));
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{BLOCK, Q8Vector};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn matvec(
        quants: &[i8],
        scales: &[f32],
        nb: usize,
        x: &Q8Vector,
        out: &mut [f32],
    ) {
        let ones = _mm256_set1_epi16(1);
        let xq = x.quants.as_ptr();
        for (r, o) in out.iter_mut().enumerate() {
            let wq = unsafe { quants.as_ptr().add(r * nb * BLOCK) };
            let ws = &scales[r * nb..(r + 1) * nb];
            let mut acc = _mm256_setzero_ps();
            for (b, &wsb) in ws.iter().enumerate() {
                // SAFETY: row r has nb blocks of 32 values; x has nb blocks.
                let (w, v) = unsafe {
                    (
                        _mm256_loadu_si256(wq.add(b * BLOCK) as *const __m256i),
                        _mm256_loadu_si256(xq.add(b * BLOCK) as *const __m256i),
                    )
                };
                // |w| * (v * sign(w)): maddubs needs an unsigned operand.
                let aw = _mm256_sign_epi8(w, w);
                let sv = _mm256_sign_epi8(v, w);
                let dot = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sv), ones);
                let d = _mm256_set1_ps(wsb * x.scales[b]);
                acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), acc);
            }
            let hi = _mm256_extractf128_ps(acc, 1);
            let s = _mm_add_ps(_mm256_castps256_ps128(acc), hi);
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
            *o = _mm_cvtss_f32(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Module, Tensor};

    #[test]
    fn matvec_matches_candle_and_scalar() -> Result<()> {
        let (rows, cols) = (37, 96);
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919) % 251) as f32 / 125.0 - 1.0)
            .collect();
        let x: Vec<f32> = (0..cols)
            .map(|i| ((i * 31) % 17) as f32 / 8.0 - 1.0)
            .collect();
        let wt = Tensor::from_vec(w, (rows, cols), &Device::Cpu)?;
        let q = QTensor::quantize(&wt, GgmlDType::Q8_0)?;
        let m = Q8Matrix::from_qtensor(&q)?;
        let mut xv = Q8Vector::default();
        xv.quantize(&x);
        let mut ours = vec![0f32; rows];
        m.matvec(&xv, &mut ours);
        let xt = Tensor::from_vec(x, (1, cols), &Device::Cpu)?;
        let theirs: Vec<f32> = candle_core::quantized::QMatMul::from_qtensor(q)?
            .forward(&xt)?
            .flatten_all()?
            .to_vec1()?;
        for r in 0..rows {
            let scalar = dot_scalar(
                &m.quants[r * cols..(r + 1) * cols],
                &m.scales[r * 3..(r + 1) * 3],
                &xv,
            );
            assert!(
                (ours[r] - theirs[r]).abs() < 1e-3 * (1.0 + theirs[r].abs()),
                "row {r}: {} vs {}",
                ours[r],
                theirs[r]
            );
            assert!((ours[r] - scalar).abs() < 1e-4 * (1.0 + scalar.abs()));
        }
        Ok(())
    }
}
