//! The f32 operations on one row (or one vector) that inference and training share: RMSNorm,
//! softmax and log-sum-exp, the RoPE rotation, SiLU, dot products and sums. The inference
//! forward (`llm::local::fast_llama`) calls them row by row on its own pool; training calls
//! them through [`parallel`], which spreads rows over rayon and adds the backward passes.
//!
//! Each function here is the one place its arithmetic is written, so inference and training
//! compute a value in the same order (and get the same bits) wherever they both compute it.
//! Hot callers rely on them being inlined into their loops, hence `#[inline(always)]`.

pub mod parallel;

/// RMS norm of one row: `out = x * r * w` with `r = 1 / sqrt(mean(x²) + eps)`; returns `r`
/// (what the backward pass needs).
#[inline(always)]
pub fn rms_norm_row(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) -> f32 {
    let ms = x.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
    let r = 1.0 / (ms + eps).sqrt();
    for ((o, &v), &g) in out.iter_mut().zip(x).zip(w) {
        *o = v * r * g;
    }
    r
}

/// RMS norm of each `w.len()`-wide row of `x` into `out`, on the calling thread.
pub fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    for (row, o) in x.chunks_exact(w.len()).zip(out.chunks_exact_mut(w.len())) {
        rms_norm_row(row, w, eps, o);
    }
}

/// Replaces each value by `exp(x - max)`; returns `(max, Σ)`, the shared first half of a
/// softmax and of a log-sum-exp.
#[inline(always)]
fn exp_shifted(row: &mut [f32]) -> (f32, f32) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in row.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    (max, sum)
}

/// Softmax in place, each value divided by the sum (attention in the inference forward).
#[inline(always)]
pub fn softmax(row: &mut [f32]) {
    let (_, sum) = exp_shifted(row);
    for v in row.iter_mut() {
        *v /= sum;
    }
}

/// Replaces a row by `scale` times its softmax; returns the row's log-sum-exp, which is what a
/// cross-entropy needs beside the softmax (its gradient).
#[inline(always)]
pub fn softmax_in_place(row: &mut [f32], scale: f32) -> f32 {
    let (max, sum) = exp_shifted(row);
    let k = scale / sum;
    row.iter_mut().for_each(|x| *x *= k);
    max + sum.ln()
}

/// `ln Σ exp(x)` over a row, from its maximum so that nothing overflows (the row is not
/// changed).
#[inline(always)]
pub fn log_sum_exp(row: &[f32]) -> f32 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|x| (x - max).exp()).sum();
    max + sum.ln()
}

/// Rotates the pair `(a, b)` by the angle whose cosine and sine are `cos`, `sin`: the one RoPE
/// rotation, whichever pairs a layout rotates.
#[inline(always)]
pub fn rotate_pair(a: f32, b: f32, cos: f32, sin: f32) -> (f32, f32) {
    (a * cos - b * sin, a * sin + b * cos)
}

/// Interleaved RoPE on one head: rotates pairs (2i, 2i+1), as candle's `rope_i` and ggml's
/// "norm" RoPE do (GGUF stores llama's q/k for it).
#[inline(always)]
pub fn rope_interleaved(h: &mut [f32], cos: &[f32], sin: &[f32]) {
    for (i, pair) in h.chunks_exact_mut(2).enumerate() {
        (pair[0], pair[1]) = rotate_pair(pair[0], pair[1], cos[i], sin[i]);
    }
}

/// Half-split RoPE on one head: rotates pairs (i, i + d/2), as Hugging Face's llama does;
/// `sign` -1 rotates back (the backward pass of a rotation).
#[inline(always)]
pub fn rope_half_split(head: &mut [f32], cos: &[f32], sin: &[f32], sign: f32) {
    let half = head.len() / 2;
    let (a, b) = head.split_at_mut(half);
    for j in 0..half {
        (a[j], b[j]) = rotate_pair(a[j], b[j], cos[j], sign * sin[j]);
    }
}

/// The logistic function `1 / (1 + e^-v)`.
#[inline(always)]
pub fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// SiLU, `v · sigmoid(v)`, as one division (the inference forward's rounding).
#[inline(always)]
pub fn silu(v: f32) -> f32 {
    v / (1.0 + (-v).exp())
}

/// `x += y`, element by element.
#[inline(always)]
pub fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// `a · b` with eight accumulators, which lets the compiler vectorise without reassociation
/// rules (the inference forward's attention scores).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmaxes_agree_and_log_sum_exp_matches() {
        let row = [0.5f32, -1.0, 3.0, 2.0];
        let mut a = row;
        softmax(&mut a);
        let mut b = row;
        let lse = softmax_in_place(&mut b, 1.0);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-6);
        }
        assert!((lse - log_sum_exp(&row)).abs() < 1e-6);
        assert!((a.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn both_ropes_rotate_the_same_pairs_by_the_same_angles() {
        let (cos, sin) = ([0.6f32, 0.8], [0.8f32, -0.6]);
        let mut inter = [1.0f32, 2.0, 3.0, 4.0];
        rope_interleaved(&mut inter, &cos, &sin);
        // The same pairs laid out half-split: (1, 2) and (3, 4) become (1, 3 | 2, 4).
        let mut split = [1.0f32, 3.0, 2.0, 4.0];
        rope_half_split(&mut split, &cos, &sin, 1.0);
        assert_eq!([split[0], split[2], split[1], split[3]], inter);
        rope_half_split(&mut split, &cos, &sin, -1.0);
        for (x, y) in split.iter().zip([1.0, 3.0, 2.0, 4.0]) {
            assert!((x - y).abs() < 1e-6);
        }
    }
}
