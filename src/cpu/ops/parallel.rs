//! The row operations of [`super`] over many rows at once, on rayon (the pool `gemm` already
//! uses), with the closed-form backward passes training needs: RMSNorm, half-split RoPE, the
//! SiLU gate and sums.
//!
//! Hand-written because candle composes these from many small tensor ops, and on the CPU each
//! of those is a separate pass through its barrier thread pool, whose spin-waits cost more than
//! the arithmetic on a loaded two-core machine.

use rayon::prelude::*;

use super::{add, rms_norm_row, rope_half_split, sigmoid};

/// `y = x * r * w` per row with `r = 1 / sqrt(mean(x²) + eps)`; returns the `r` of each row.
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32, y: &mut [f32]) -> Vec<f32> {
    let h = w.len();
    let mut r = vec![0f32; x.len() / h];
    y.par_chunks_mut(h)
        .zip(x.par_chunks(h))
        .zip(r.par_iter_mut())
        .for_each(|((yr, xr), ri)| *ri = rms_norm_row(xr, w, eps, yr));
    r
}

/// Adds the input gradient of [`rms_norm`] to `dx`:
/// `dx += r·w·dy − x·r³·mean(w·dy·x)` (the weight is frozen: no gradient for it).
pub fn rms_norm_bwd(x: &[f32], r: &[f32], w: &[f32], dy: &[f32], dx: &mut [f32]) {
    let h = w.len();
    dx.par_chunks_mut(h)
        .zip(x.par_chunks(h).zip(dy.par_chunks(h)))
        .zip(r.par_iter())
        .for_each(|((dxr, (xr, dyr)), &ri)| {
            let dot: f32 = xr.iter().zip(dyr).zip(w).map(|((a, b), c)| a * b * c).sum();
            let c = ri * ri * ri * dot / h as f32;
            for (((o, &xv), &g), &wv) in dxr.iter_mut().zip(xr).zip(dyr).zip(w) {
                *o += ri * wv * g - xv * c;
            }
        });
}

/// Half-split RoPE in place on rows of `heads` heads of `d` values; row `i` is at position
/// `i % seq`. `sign` is 1 to rotate, -1 to rotate back (the backward pass of a rotation).
pub fn rope(
    x: &mut [f32],
    heads: usize,
    d: usize,
    seq: usize,
    cos: &[f32],
    sin: &[f32],
    sign: f32,
) {
    let half = d / 2;
    x.par_chunks_mut(heads * d)
        .enumerate()
        .for_each(|(i, row)| {
            let p = i % seq;
            let (c, s) = (&cos[p * half..][..half], &sin[p * half..][..half]);
            for head in row.chunks_mut(d) {
                rope_half_split(head, c, s, sign);
            }
        });
}

/// `act = silu(gate) * up`.
pub fn silu_gate(gate: &[f32], up: &[f32], act: &mut [f32]) {
    act.par_chunks_mut(4096)
        .zip(gate.par_chunks(4096).zip(up.par_chunks(4096)))
        .for_each(|(o, (g, u))| {
            for ((o, &g), &u) in o.iter_mut().zip(g).zip(u) {
                *o = g * sigmoid(g) * u;
            }
        });
}

/// From `dact`, the gradients of the gate (into `dgate`) and up (into `dup`) inputs.
pub fn silu_gate_bwd(gate: &[f32], up: &[f32], dact: &[f32], dgate: &mut [f32], dup: &mut [f32]) {
    dgate
        .par_chunks_mut(4096)
        .zip(dup.par_chunks_mut(4096))
        .zip(gate.par_chunks(4096).zip(up.par_chunks(4096)))
        .zip(dact.par_chunks(4096))
        .for_each(|(((dg, du), (g, u)), da)| {
            for i in 0..dg.len() {
                let s = sigmoid(g[i]);
                du[i] = da[i] * g[i] * s;
                dg[i] = da[i] * u[i] * s * (1.0 + g[i] * (1.0 - s));
            }
        });
}

/// `dst += src`, in parallel.
pub fn add_into(dst: &mut [f32], src: &[f32]) {
    dst.par_chunks_mut(4096)
        .zip(src.par_chunks(4096))
        .for_each(|(d, s)| add(d, s));
}
