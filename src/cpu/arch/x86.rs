//! x86 kernels for one row group (eight rows, see `q8_0.rs`) against one token: Q4_1 and Q8_0,
//! each with AVX-512 VNNI (`vpdpbusd` on 256-bit vectors: u8 x i8 summed into i32 in one
//! instruction) and a plain AVX2 variant that yields the same integers, hence the same bits.
//!
//! Why this shape: generation reads every weight once per token, so the kernels stream the
//! group's blocks in file size (20 or 34 bytes per 32 weights), convert eight f16 scales at a
//! time, keep one accumulator per row (Q4_1: per pair of rows, one per 128-bit half) and reduce
//! across lanes once per group, not per row. Each row's sum is always formed in the same order.
//! Software prefetch was tried and did not pay (the stream is sequential).

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use crate::cpu::types::{BLOCK, GROUP, GroupQ4_1, GroupQ8_0};

/// Sums of `GROUP` accumulators, lane `k` from `acc[k]`.
#[target_feature(enable = "avx2")]
fn reduce8(a: [__m256; GROUP]) -> __m256 {
    {
        let h01 = _mm256_hadd_ps(a[0], a[1]);
        let h23 = _mm256_hadd_ps(a[2], a[3]);
        let h45 = _mm256_hadd_ps(a[4], a[5]);
        let h67 = _mm256_hadd_ps(a[6], a[7]);
        // [a0 a1 a2 a3 | a0 a1 a2 a3] of the low and high halves.
        let l = _mm256_hadd_ps(h01, h23);
        let h = _mm256_hadd_ps(h45, h67);
        _mm256_add_ps(
            _mm256_permute2f128_ps(l, h, 0x20),
            _mm256_permute2f128_ps(l, h, 0x31),
        )
    }
}

macro_rules! q4_1_kernel {
    (
        $name:ident,
        $features:literal,
        |$qlo:ident, $vlo:ident, $qhi:ident, $vhi:ident| $dot:expr
    ) => {
        /// Rows `g*8..g*8+8` (the group's blocks `w`) times one token: `xq` its values, `xs`
        /// and `xsum` its block scales and sums (at least one block per group block; checked).
        ///
        /// # Safety
        /// The CPU has `$features` (a [`crate::cpu::Kernel`] for this path proves it).
        #[target_feature(enable = $features)]
        pub unsafe fn $name(w: &[GroupQ4_1], xq: &[i8], xs: &[f32], xsum: &[f32]) -> [f32; GROUP] {
            let nb = w.len();
            assert!(xq.len() >= nb * BLOCK && xs.len() >= nb && xsum.len() >= nb);
            let low = _mm256_set1_epi8(0x0f);
            // Pair j holds rows 2j (low half) and 2j+1 (high half).
            let pick = [0, 1, 2, 3].map(|j| {
                _mm256_setr_epi32(
                    2 * j,
                    2 * j,
                    2 * j,
                    2 * j,
                    2 * j + 1,
                    2 * j + 1,
                    2 * j + 1,
                    2 * j + 1,
                )
            });
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut off = _mm256_setzero_ps();
            for b in 0..nb {
                // SAFETY: `b < nb = w.len()`, and the token has `nb` blocks of values, scales
                // and sums (asserted above); each load reads one whole field of the block.
                unsafe {
                    let blk = w.get_unchecked(b);
                    let d = _mm256_cvtph_ps(_mm_loadu_si128(blk.d.as_ptr() as *const __m128i));
                    let m = _mm256_cvtph_ps(_mm_loadu_si128(blk.m.as_ptr() as *const __m128i));
                    let s = _mm256_mul_ps(d, _mm256_set1_ps(*xs.get_unchecked(b)));
                    off = _mm256_fmadd_ps(m, _mm256_set1_ps(*xsum.get_unchecked(b)), off);
                    let x = xq.as_ptr().add(b * BLOCK);
                    let $vlo = _mm256_broadcastsi128_si256(_mm_loadu_si128(x as *const __m128i));
                    let $vhi =
                        _mm256_broadcastsi128_si256(_mm_loadu_si128(x.add(16) as *const __m128i));
                    for j in 0..4 {
                        let raw = _mm256_loadu_si256(blk.qs[j].as_ptr() as *const __m256i);
                        let $qlo = _mm256_and_si256(raw, low);
                        let $qhi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low);
                        let dot = $dot;
                        let sc = _mm256_permutevar8x32_ps(s, pick[j]);
                        acc[j] = _mm256_fmadd_ps(sc, _mm256_cvtepi32_ps(dot), acc[j]);
                    }
                }
            }
            // [r0 r2 r4 r6 | r1 r3 r5 r7], then in row order.
            let h = _mm256_hadd_ps(
                _mm256_hadd_ps(acc[0], acc[1]),
                _mm256_hadd_ps(acc[2], acc[3]),
            );
            let h = _mm256_permutevar8x32_ps(h, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            let mut out = [0f32; GROUP];
            // SAFETY: `out` has eight f32.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), _mm256_add_ps(h, off)) };
            out
        }
    };
}

q4_1_kernel!(
    q4_1_vnni,
    "avx2,fma,f16c,avx512vnni,avx512vl",
    |qlo, vlo, qhi, vhi| {
        _mm256_dpbusd_epi32(
            _mm256_dpbusd_epi32(_mm256_setzero_si256(), qlo, vlo),
            qhi,
            vhi,
        )
    }
);
// 0..15 times -127..127, two pairs per i16 lane: at most 7620, no saturation.
q4_1_kernel!(q4_1_avx2, "avx2,fma,f16c", |qlo, vlo, qhi, vhi| {
    _mm256_madd_epi16(
        _mm256_add_epi16(
            _mm256_maddubs_epi16(qlo, vlo),
            _mm256_maddubs_epi16(qhi, vhi),
        ),
        _mm256_set1_epi16(1),
    )
});

macro_rules! q8_0_kernel {
    ($name:ident, $features:literal, |$w:ident, $v:ident, $bias:ident| $dot:expr) => {
        /// Rows `g*8..g*8+8` (the group's blocks `w`, values stored as `w + 128`) times one
        /// token: `xq` its values, `xs` its block scales, `bias` its lane biases (eight per
        /// block; at least one block per group block, checked).
        ///
        /// # Safety
        /// The CPU has `$features` (a [`crate::cpu::Kernel`] for this path proves it).
        #[target_feature(enable = $features)]
        pub unsafe fn $name(w: &[GroupQ8_0], xq: &[i8], xs: &[f32], bias: &[i32]) -> [f32; GROUP] {
            let nb = w.len();
            assert!(xq.len() >= nb * BLOCK && xs.len() >= nb && bias.len() >= nb * 8);
            let mut acc = [_mm256_setzero_ps(); GROUP];
            for b in 0..nb {
                // SAFETY: `b < nb = w.len()`, and the token has `nb` blocks of values, scales
                // and biases (asserted above); `k < GROUP`, the group's row count; each load
                // reads one whole field or row block.
                unsafe {
                    let blk = w.get_unchecked(b);
                    let s = _mm256_mul_ps(
                        _mm256_cvtph_ps(_mm_loadu_si128(blk.d.as_ptr() as *const __m128i)),
                        _mm256_set1_ps(*xs.get_unchecked(b)),
                    );
                    let $v = _mm256_loadu_si256(xq.as_ptr().add(b * BLOCK) as *const __m256i);
                    let $bias = _mm256_loadu_si256(bias.as_ptr().add(b * 8) as *const __m256i);
                    for (k, a) in acc.iter_mut().enumerate() {
                        let $w =
                            _mm256_loadu_si256(blk.qs.get_unchecked(k).as_ptr() as *const __m256i);
                        let dot = $dot;
                        let sc = _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(k as i32));
                        *a = _mm256_fmadd_ps(sc, _mm256_cvtepi32_ps(dot), *a);
                    }
                }
            }
            let mut out = [0f32; GROUP];
            // SAFETY: `out` has eight f32.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), reduce8(acc)) };
            out
        }
    };
}

// (w + 128)·v − 128·Σv per four values: each lane's signed product exactly.
q8_0_kernel!(
    q8_vnni,
    "avx2,fma,f16c,avx512vnni,avx512vl",
    |w, v, bias| { _mm256_dpbusd_epi32(bias, w, v) }
);
// The same lanes the classic way: |w| times v with w's sign.
q8_0_kernel!(q8_avx2, "avx2,fma,f16c", |w, v, bias| {
    let _ = bias;
    let s = _mm256_xor_si256(w, _mm256_set1_epi8(-128));
    _mm256_madd_epi16(
        _mm256_maddubs_epi16(_mm256_sign_epi8(s, s), _mm256_sign_epi8(v, s)),
        _mm256_set1_epi16(1),
    )
});
