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

use super::q8::{BLOCK, Q8Batch, Q8Matrix};

/// Bytes per Q4_1 block on disk: f16 scale, f16 minimum, 16 bytes of nibbles.
const BLOCK_BYTES: usize = 20;

/// A `rows x cols` matrix in Q4_1: byte `j` of a block holds value `j` (low nibble) and
/// value `j + 16` (high nibble), as in ggml.
pub struct Q41Matrix {
    pub rows: usize,
    pub cols: usize,
    nibbles: Vec<u8>,
    d: Vec<f32>,
    m: Vec<f32>,
}

impl Q41Matrix {
    fn from_qtensor(t: &QTensor) -> Result<Self> {
        let (rows, cols) = t.shape().dims2()?;
        let data = t.data()?;
        let blocks = rows * cols / BLOCK;
        if cols % BLOCK != 0 || data.len() != blocks * BLOCK_BYTES {
            candle_core::bail!(
                "Q4_1 data of {} bytes does not fit {rows}x{cols}",
                data.len()
            );
        }
        let mut me = Self {
            rows,
            cols,
            nibbles: Vec::with_capacity(blocks * 16),
            d: Vec::with_capacity(blocks),
            m: Vec::with_capacity(blocks),
        };
        for b in data.chunks_exact(BLOCK_BYTES) {
            me.d.push(half::f16::from_le_bytes([b[0], b[1]]).to_f32());
            me.m.push(half::f16::from_le_bytes([b[2], b[3]]).to_f32());
            me.nibbles.extend_from_slice(&b[4..]);
        }
        Ok(me)
    }

    fn row_f32(&self, r: usize, out: &mut Vec<f32>) {
        let nb = self.cols / BLOCK;
        for b in r * nb..(r + 1) * nb {
            let q = &self.nibbles[b * 16..(b + 1) * 16];
            let (d, m) = (self.d[b], self.m[b]);
            out.extend(q.iter().map(|&v| f32::from(v & 0x0f) * d + m));
            out.extend(q.iter().map(|&v| f32::from(v >> 4) * d + m));
        }
    }

    fn product(&self, x: &Q8Batch, rows: Range<usize>, emit: &mut impl FnMut(usize, usize, f32)) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            let mut r = rows.start;
            while r < rows.end {
                // SAFETY: AVX2 and FMA detected; rows r..r+N exist and have whole blocks.
                unsafe {
                    if r + 4 <= rows.end {
                        x86::q4_1::<4>(self, r, x, emit);
                        r += 4;
                    } else {
                        x86::q4_1::<1>(self, r, x, emit);
                        r += 1;
                    }
                }
            }
            return;
        }
        let nb = self.cols / BLOCK;
        for r in rows {
            for t in 0..x.len() {
                let (xq, xs, xsum) = x.token(t);
                let mut sum = 0f32;
                for b in 0..nb {
                    let q = &self.nibbles[(r * nb + b) * 16..(r * nb + b + 1) * 16];
                    let v = &xq[b * BLOCK..(b + 1) * BLOCK];
                    let dot: i32 = (0..16)
                        .map(|j| {
                            i32::from(q[j] & 0x0f) * i32::from(v[j])
                                + i32::from(q[j] >> 4) * i32::from(v[j + 16])
                        })
                        .sum();
                    sum += self.d[r * nb + b] * xs[b] * dot as f32 + self.m[r * nb + b] * xsum[b];
                }
                emit(t, r, sum);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{BLOCK, Q8Batch, Q41Matrix};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn q4_1<const N: usize>(
        w: &Q41Matrix,
        r: usize,
        x: &Q8Batch,
        emit: &mut impl FnMut(usize, usize, f32),
    ) {
        let nb = w.cols / BLOCK;
        let low = _mm256_set1_epi8(0x0f);
        let ones = _mm256_set1_epi16(1);
        let wq = unsafe { w.nibbles.as_ptr().add(r * nb * 16) };
        let (d, m) = (&w.d[r * nb..(r + N) * nb], &w.m[r * nb..(r + N) * nb]);
        for t in 0..x.len() {
            let (xq, xs, xsum) = x.token(t);
            let mut acc = [_mm256_setzero_ps(); N];
            let mut offset = [0f32; N];
            for b in 0..nb {
                // SAFETY: block b of token t and of rows r..r+N are in bounds.
                let v = unsafe { _mm256_loadu_si256(xq.as_ptr().add(b * BLOCK) as *const __m256i) };
                for k in 0..N {
                    let packed =
                        unsafe { _mm_loadu_si128(wq.add((k * nb + b) * 16) as *const __m128i) };
                    let q =
                        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), low);
                    // Unsigned 0..15 times signed: one maddubs, no sign juggling.
                    let dot = _mm256_madd_epi16(_mm256_maddubs_epi16(q, v), ones);
                    let scale = _mm256_set1_ps(d[k * nb + b] * xs[b]);
                    acc[k] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(dot), acc[k]);
                    offset[k] += m[k * nb + b] * xsum[b];
                }
            }
            for k in 0..N {
                let hi = _mm256_extractf128_ps(acc[k], 1);
                let s = _mm_add_ps(_mm256_castps256_ps128(acc[k]), hi);
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
                emit(t, r + k, _mm_cvtss_f32(s) + offset[k]);
            }
        }
    }
}

/// A weight matrix as the forward pass holds it.
pub enum QMatrix {
    Q8(Q8Matrix),
    Q41(Q41Matrix),
}

impl QMatrix {
    /// Q4_1 stays Q4_1; any other type becomes Q8_0.
    pub fn from_qtensor(t: &QTensor) -> Result<Self> {
        if t.dtype() == GgmlDType::Q4_1 {
            Ok(Self::Q41(Q41Matrix::from_qtensor(t)?))
        } else {
            Ok(Self::Q8(Q8Matrix::from_qtensor(t)?))
        }
    }

    /// Several tensors' rows as one matrix (q, k and v): Q4_1 if all are, else all Q8_0.
    pub fn stack(parts: &[QTensor]) -> Result<Self> {
        if parts.iter().all(|t| t.dtype() == GgmlDType::Q4_1) {
            let mut ms = parts
                .iter()
                .map(Q41Matrix::from_qtensor)
                .collect::<Result<Vec<_>>>()?;
            let mut out = ms.remove(0);
            for m in ms {
                if m.cols != out.cols {
                    candle_core::bail!("cannot stack matrices of different widths");
                }
                out.rows += m.rows;
                out.nibbles.extend(m.nibbles);
                out.d.extend(m.d);
                out.m.extend(m.m);
            }
            return Ok(Self::Q41(out));
        }
        let ms = parts
            .iter()
            .map(Q8Matrix::from_qtensor)
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::Q8(Q8Matrix::stack(ms)?))
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

    #[test]
    fn q4_1_product_matches_candle_and_splits_equal() -> Result<()> {
        let (rows, cols, n) = (21, 128, 3);
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919) % 251) as f32 / 125.0 - 1.0)
            .collect();
        let q = QTensor::quantize(
            &Tensor::from_vec(w, (rows, cols), &Device::Cpu)?,
            GgmlDType::Q4_1,
        )?;
        let m = QMatrix::from_qtensor(&q)?;
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
        let mut row = Vec::new();
        m.row_f32(3, &mut row);
        let deq: Vec<f32> = q.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1()?;
        assert_eq!(row, deq[3 * cols..4 * cols]);
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
