//! Q8_0 weights and the matrix products the fast llama forward is built on.
//!
//! Hand-written because candle's CPU path costs a thread barrier per tensor op (hundreds per
//! token for a 30-layer model) and its x86 repacked Q8_0 kernels need rows that are multiples
//! of 256 (SmolLM2's are 576). Weights are split into i8 values and f32 block scales; inputs are
//! quantised to Q8_0 once per product, exactly as ggml and candle do. One kernel serves a
//! single token and a batch (the prompt): it takes four rows at a time and every row's sum is
//! formed in the same order whatever the batch, row range or thread, so results do not depend
//! on how the work is split.

use std::ops::Range;

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

/// Input vectors (one per token) quantised to Q8_0, reused across products.
#[derive(Default)]
pub struct Q8Batch {
    cols: usize,
    n: usize,
    quants: Vec<i8>,
    scales: Vec<f32>,
    /// Per block: scale times the sum of its values (Q4_1 products need it, as ggml's Q8_1).
    sums: Vec<f32>,
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

    /// The matrices' rows one after another (q, k and v as one product).
    pub fn stack(parts: Vec<Q8Matrix>) -> Result<Self> {
        let cols = parts.first().map_or(0, |m| m.cols);
        if parts.iter().any(|m| m.cols != cols) {
            candle_core::bail!("cannot stack matrices of different widths");
        }
        let mut out = Self {
            rows: 0,
            cols,
            quants: Vec::new(),
            scales: Vec::new(),
        };
        for m in parts {
            out.rows += m.rows;
            out.quants.extend(m.quants);
            out.scales.extend(m.scales);
        }
        Ok(out)
    }

    /// Calls `emit(t, r, row r · x[t])` for every `r` in `rows` and every token `t` of `x`.
    pub fn product(
        &self,
        x: &Q8Batch,
        rows: Range<usize>,
        mut emit: impl FnMut(usize, usize, f32),
    ) {
        debug_assert_eq!(x.cols, self.cols);
        debug_assert!(rows.end <= self.rows);
        let kernel = Kernel::detect();
        let mut r = rows.start;
        while r < rows.end {
            let four = r + 4 <= rows.end;
            // SAFETY: the kernel's CPU features were detected; rows r..r+N exist (checked
            // above) and every row and input has cols / BLOCK whole blocks.
            unsafe {
                match (kernel, four) {
                    #[cfg(target_arch = "x86_64")]
                    (Kernel::Vnni, true) => x86::vnni::<4>(self, r, x, &mut emit),
                    #[cfg(target_arch = "x86_64")]
                    (Kernel::Vnni, false) => x86::vnni::<1>(self, r, x, &mut emit),
                    #[cfg(target_arch = "x86_64")]
                    (Kernel::Avx2, true) => x86::avx2::<4>(self, r, x, &mut emit),
                    #[cfg(target_arch = "x86_64")]
                    (Kernel::Avx2, false) => x86::avx2::<1>(self, r, x, &mut emit),
                    _ => scalar::<1>(self, r, x, &mut emit),
                }
            }
            r += if four && kernel != Kernel::Scalar {
                4
            } else {
                1
            };
        }
    }

    /// Appends row `r` as f32 (what candle's `dequantize` gives), for tied embeddings.
    pub fn row_f32(&self, r: usize, out: &mut Vec<f32>) {
        let nb = self.cols / BLOCK;
        for b in r * nb..(r + 1) * nb {
            let d = self.scales[b];
            out.extend(
                self.quants[b * BLOCK..(b + 1) * BLOCK]
                    .iter()
                    .map(|&q| f32::from(q) * d),
            );
        }
    }

    /// `out[r] = row r · x` for every row (`x` holds one vector).
    pub fn matvec(&self, x: &Q8Batch, out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.rows);
        self.product(x, 0..self.rows, |_, r, v| out[r] = v);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// AVX-512 VNNI on 256-bit vectors: one `vpdpbusd` per block instead of two multiplies.
    Vnni,
    Avx2,
    Scalar,
}

impl Kernel {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 =
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
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

/// Tests compare the two SIMD kernels on the same machine.
static FORCE_AVX2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Portable fallback (same per-row order on every call, so still split-independent).
fn scalar<const N: usize>(
    m: &Q8Matrix,
    r: usize,
    x: &Q8Batch,
    emit: &mut impl FnMut(usize, usize, f32),
) {
    let nb = m.cols / BLOCK;
    for t in 0..x.n {
        let mut sum = 0f32;
        for b in 0..nb {
            let w = &m.quants[(r * nb + b) * BLOCK..(r * nb + b + 1) * BLOCK];
            let v = &x.quants[(t * nb + b) * BLOCK..(t * nb + b + 1) * BLOCK];
            let dot: i32 = w
                .iter()
                .zip(v)
                .map(|(&a, &b)| i32::from(a) * i32::from(b))
                .sum();
            sum += dot as f32 * m.scales[r * nb + b] * x.scales[t * nb + b];
        }
        emit(t, r, sum);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{BLOCK, Q8Batch, Q8Matrix};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    fn hsum(acc: __m256) -> f32 {
        let hi = _mm256_extractf128_ps(acc, 1);
        let s = _mm_add_ps(_mm256_castps256_ps128(acc), hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// `N` rows from `r` against every token of `x`; `$dot(|w|, v·sign(w))` is the
    /// integer block product (u8 x i8 pairs summed into eight i32 lanes).
    macro_rules! kernel {
        ($name:ident, $features:literal, |$aw:ident, $sv:ident| $dot:expr) => {
            #[target_feature(enable = $features)]
            pub(super) unsafe fn $name<const N: usize>(
                m: &Q8Matrix,
                r: usize,
                x: &Q8Batch,
                emit: &mut impl FnMut(usize, usize, f32),
            ) {
                let nb = m.cols / BLOCK;
                let w0 = unsafe { m.quants.as_ptr().add(r * nb * BLOCK) };
                let ws = &m.scales[r * nb..(r + N) * nb];
                for t in 0..x.n {
                    let xq = unsafe { x.quants.as_ptr().add(t * nb * BLOCK) };
                    let xs = &x.scales[t * nb..(t + 1) * nb];
                    let mut acc = [_mm256_setzero_ps(); N];
                    for (b, &xsb) in xs.iter().enumerate() {
                        // SAFETY: block b of token t and of rows r..r+N are in bounds.
                        let v = unsafe { _mm256_loadu_si256(xq.add(b * BLOCK) as *const __m256i) };
                        for (k, a) in acc.iter_mut().enumerate() {
                            let w = unsafe {
                                _mm256_loadu_si256(w0.add((k * nb + b) * BLOCK) as *const __m256i)
                            };
                            let $aw = _mm256_sign_epi8(w, w);
                            let $sv = _mm256_sign_epi8(v, w);
                            let dot = $dot;
                            let d = _mm256_set1_ps(ws[k * nb + b] * xsb);
                            *a = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), *a);
                        }
                    }
                    for (k, a) in acc.iter().enumerate() {
                        emit(t, r + k, hsum(*a));
                    }
                }
            }
        };
    }

    kernel!(avx2, "avx2,fma", |aw, sv| _mm256_madd_epi16(
        _mm256_maddubs_epi16(aw, sv),
        _mm256_set1_epi16(1)
    ));
    kernel!(vnni, "avx2,fma,avx512vnni,avx512vl", |aw, sv| {
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), aw, sv)
    });
}

impl Q8Batch {
    /// Quantises the rows of `x` (`n x cols`, cols a multiple of 32) like ggml's
    /// `quantize_row_q8_0`.
    pub fn quantize(&mut self, x: &[f32], cols: usize) {
        self.quants.clear();
        self.scales.clear();
        self.sums.clear();
        self.cols = cols;
        self.n = x.len().checked_div(cols).unwrap_or(0);
        for block in x[..self.n * cols].chunks_exact(BLOCK) {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            // The scale is stored as f16 in ggml; round it the same way.
            let d = half::f16::from_f32(d).to_f32();
            self.scales.push(d);
            let start = self.quants.len();
            self.quants
                .extend(block.iter().map(|v| (v * id).round() as i8));
            let sum: i32 = self.quants[start..].iter().map(|&q| i32::from(q)).sum();
            self.sums.push(sum as f32 * d);
        }
    }

    /// Token `t`'s values, block scales and block sums.
    pub fn token(&self, t: usize) -> (&[i8], &[f32], &[f32]) {
        let nb = self.cols / BLOCK;
        (
            &self.quants[t * self.cols..(t + 1) * self.cols],
            &self.scales[t * nb..(t + 1) * nb],
            &self.sums[t * nb..(t + 1) * nb],
        )
    }

    /// Tokens held.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
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
    fn matvec_matches_candle() -> Result<()> {
        let (rows, cols) = (37, 96);
        let (q, m) = matrix(rows, cols)?;
        let x = inputs(1, cols);
        let mut xv = Q8Batch::default();
        xv.quantize(&x, cols);
        let mut ours = vec![0f32; rows];
        m.matvec(&xv, &mut ours);
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
        Ok(())
    }

    /// A batch, any row split and either SIMD kernel give the very same bits as one token
    /// and one call: what makes threaded and batched generation equal single-threaded.
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
        FORCE_AVX2.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut avx2 = vec![0f32; n * rows];
        m.product(&batch, 0..rows, |t, r, v| avx2[t * rows + r] = v);
        FORCE_AVX2.store(false, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(whole, avx2);
        Ok(())
    }
}
