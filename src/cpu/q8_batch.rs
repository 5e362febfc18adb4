//! The input side of every weight product: activations (one vector per token) quantised to
//! Q8_0 once per product, exactly as ggml's `quantize_row_q8_0` (round half to even).
//!
//! Why SIMD: a token quantises ~120 vectors; the scalar loop's `round` is a libm call per
//! value on a baseline x86-64 build, a few percent of a token. The scalar path gives the same
//! bits (same maximum, same products, same rounding), so results never depend on the CPU path.

use super::types::BLOCK;

/// Input vectors (one per token) quantised to Q8_0, reused across products.
#[derive(Default)]
pub struct Q8Batch {
    cols: usize,
    n: usize,
    quants: Vec<i8>,
    scales: Vec<f32>,
    /// Per block: scale times the sum of its values (Q4_1 products need it, as ggml's Q8_1).
    sums: Vec<f32>,
    /// Per block, eight i32: -128 times the sum of each four consecutive values. A Q8_0 weight
    /// stored as `w + 128` (unsigned) times these values, plus this, is the signed product in
    /// every lane: what lets VNNI's u8 x i8 instruction run Q8_0 without sign juggling.
    bias: Vec<i32>,
}

impl Q8Batch {
    /// Quantises the rows of `x` (`n x cols`, cols a multiple of 32).
    pub fn quantize(&mut self, x: &[f32], cols: usize) {
        self.cols = cols;
        self.n = x.len().checked_div(cols).unwrap_or(0);
        let blocks = self.n * cols / BLOCK;
        self.quants.resize(blocks * BLOCK, 0);
        self.scales.resize(blocks, 0.0);
        self.sums.resize(blocks, 0.0);
        self.bias.resize(blocks * 8, 0);
        let src = &x[..blocks * BLOCK];
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 detected.
            unsafe { self.quantize_avx2(src) };
            return;
        }
        for (b, block) in src.chunks_exact(BLOCK).enumerate() {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let (d, id) = scale(amax);
            let q = &mut self.quants[b * BLOCK..(b + 1) * BLOCK];
            for (q, v) in q.iter_mut().zip(block) {
                *q = (v * id).round_ties_even() as i8;
            }
            for (lane, four) in q.chunks_exact(4).enumerate() {
                let s: i32 = four.iter().map(|&v| i32::from(v)).sum();
                self.bias[b * 8 + lane] = -128 * s;
            }
            let sum: i32 = q.iter().map(|&v| i32::from(v)).sum();
            self.scales[b] = d;
            self.sums[b] = sum as f32 * d;
        }
    }

    /// The AVX2 path of [`Self::quantize`]: the same bits as the scalar loop.
    ///
    /// # Safety
    /// The CPU has AVX2. (The buffers' lengths are checked here.)
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn quantize_avx2(&mut self, src: &[f32]) {
        use std::arch::x86_64::*;
        let blocks = src.len() / BLOCK;
        assert!(
            self.quants.len() >= blocks * BLOCK
                && self.bias.len() >= blocks * 8
                && self.scales.len() >= blocks
                && self.sums.len() >= blocks
        );
        let abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
        let perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        let ones8 = _mm256_set1_epi8(1);
        let ones16 = _mm256_set1_epi16(1);
        for (b, block) in src.chunks_exact(BLOCK).enumerate() {
            // SAFETY: `block` has 32 values; `b < blocks`, so every output has room for block b
            // (asserted above).
            unsafe {
                let p = block.as_ptr();
                let v = [0, 8, 16, 24].map(|i| _mm256_loadu_ps(p.add(i)));
                let m = v.map(|v| _mm256_and_ps(v, abs_mask));
                let m = _mm256_max_ps(_mm256_max_ps(m[0], m[1]), _mm256_max_ps(m[2], m[3]));
                let m = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
                let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
                let m = _mm_max_ss(m, _mm_movehdup_ps(m));
                let (d, id) = scale(_mm_cvtss_f32(m));
                let id = _mm256_set1_ps(id);
                let i = v.map(|v| {
                    _mm256_cvtps_epi32(_mm256_round_ps(
                        _mm256_mul_ps(v, id),
                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
                    ))
                });
                let lo = _mm256_packs_epi32(i[0], i[1]);
                let hi = _mm256_packs_epi32(i[2], i[3]);
                let q = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(lo, hi), perm);
                _mm256_storeu_si256(self.quants.as_mut_ptr().add(b * BLOCK) as *mut __m256i, q);
                let lanes = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
                _mm256_storeu_si256(
                    self.bias.as_mut_ptr().add(b * 8) as *mut __m256i,
                    _mm256_mullo_epi32(lanes, _mm256_set1_epi32(-128)),
                );
                let s = _mm_add_epi32(
                    _mm256_castsi256_si128(lanes),
                    _mm256_extracti128_si256(lanes, 1),
                );
                let s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
                let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
                *self.scales.get_unchecked_mut(b) = d;
                *self.sums.get_unchecked_mut(b) = _mm_cvtsi128_si32(s) as f32 * d;
            }
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

    /// Token `t`'s per-lane biases (eight per block, see the field).
    pub fn bias(&self, t: usize) -> &[i32] {
        let nb = self.cols / BLOCK;
        &self.bias[t * nb * 8..(t + 1) * nb * 8]
    }

    /// Values per token.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Tokens held.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

/// The block scale (rounded to f16 as ggml stores it) and the multiplier that quantises.
fn scale(amax: f32) -> (f32, f32) {
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    (half::f16::from_f32(d).to_f32(), id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SIMD path (where the CPU has it) and the scalar formula agree bit for bit.
    #[test]
    fn quantisation_matches_the_scalar_formula() {
        let cols = 96;
        let x: Vec<f32> = (0..2 * cols)
            .map(|i| ((i * 37) % 101) as f32 / 13.0 - 3.5 + if i == 7 { 0.5 } else { 0.0 })
            .collect();
        let mut b = Q8Batch::default();
        b.quantize(&x, cols);
        assert_eq!(b.len(), 2);
        for t in 0..2 {
            let (q, s, sums) = b.token(t);
            for (blk, vals) in x[t * cols..(t + 1) * cols].chunks_exact(BLOCK).enumerate() {
                let amax = vals.iter().fold(0f32, |m, v| m.max(v.abs()));
                let (d, id) = scale(amax);
                let want: Vec<i8> = vals
                    .iter()
                    .map(|v| (v * id).round_ties_even() as i8)
                    .collect();
                assert_eq!(&q[blk * BLOCK..(blk + 1) * BLOCK], &want[..]);
                assert_eq!(s[blk], d);
                let sum: i32 = want.iter().map(|&v| i32::from(v)).sum();
                assert_eq!(sums[blk], sum as f32 * d);
                for lane in 0..8 {
                    let four: i32 = want[lane * 4..lane * 4 + 4]
                        .iter()
                        .map(|&v| i32::from(v))
                        .sum();
                    assert_eq!(b.bias(t)[blk * 8 + lane], -128 * four);
                }
            }
        }
    }
}
