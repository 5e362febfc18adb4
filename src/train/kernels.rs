//! Raw-slice CPU kernels behind the fused training layer: a strided matrix product on the `gemm`
//! crate (the one candle itself uses), RMSNorm, half-split RoPE and the SiLU gate, each with its
//! closed-form backward.
//!
//! Hand-written because candle composes these from many small tensor ops, and on the CPU each of
//! those is a separate pass through its barrier thread pool, whose spin-waits cost more than the
//! arithmetic on a loaded two-core machine. Row loops run on rayon, the pool gemm already uses.

use candle_core::{CpuStorage, Layout, Result, bail};
use rayon::prelude::*;

/// A custom op's input as a contiguous f32 slice; `what` names it in the error.
pub fn f32_input<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => bail!("{what} must be a contiguous f32 CPU tensor"),
    }
}

/// A custom op's input as a contiguous u32 slice (token ids); `what` names it in the error.
pub fn u32_input<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [u32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::U32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => bail!("{what} must be a contiguous u32 CPU tensor"),
    }
}

/// `ln Σ exp(x)` over a row, from its maximum so that nothing overflows.
pub fn log_sum_exp(row: &[f32]) -> f32 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|x| (x - max).exp()).sum();
    max + sum.ln()
}

/// Replaces a row by `scale` times its softmax; returns the row's log-sum-exp, which is what a
/// cross-entropy needs beside the softmax (its gradient).
pub fn softmax_in_place(row: &mut [f32], scale: f32) -> f32 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in row.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    let k = scale / sum;
    row.iter_mut().for_each(|x| *x *= k);
    max + sum.ln()
}

/// A read-only matrix view: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        View {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// A row-major block whose rows are `stride` apart.
    pub fn strided(data: &'a [f32], stride: usize) -> Self {
        View {
            data,
            rs: stride,
            cs: 1,
        }
    }
    /// The same matrix without its first `r` rows (of a view not transposed).
    pub fn skip_rows(self, r: usize) -> Self {
        View {
            data: &self.data[(r * self.rs).min(self.data.len())..],
            ..self
        }
    }
    pub fn t(self) -> Self {
        View {
            data: self.data,
            rs: self.cs,
            cs: self.rs,
        }
    }
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// The threads gemm may use: candle's own setting (RAYON_NUM_THREADS or the core count).
pub fn threads() -> usize {
    candle_core::utils::get_num_threads()
}

/// `dst (m x n, rows dst_rs apart) = [dst +] alpha * a (m x k) * b (k x n)`.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    dst: &mut [f32],
    dst_rs: usize,
    (m, n, k): (usize, usize, usize),
    a: View,
    b: View,
    alpha: f32,
    accumulate: bool,
    parallel: bool,
) -> Result<()> {
    let dst_fits = m == 0 || n == 0 || (m - 1) * dst_rs + n <= dst.len();
    if !dst_fits || !a.fits(m, k) || !b.fits(k, n) || dst_rs < n {
        bail!("fused kernel: matrix product {m}x{k} * {k}x{n} does not fit its buffers")
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            for row in dst.chunks_mut(dst_rs).take(m) {
                row[..n].fill(0.0);
            }
        }
        return Ok(());
    }
    let t = threads();
    let par = if parallel && t > 1 {
        gemm::Parallelism::Rayon(t)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the bounds of all three matrices were checked above; `dst` is borrowed mutably,
    // so it cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            alpha,
            false,
            false,
            false,
            par,
        );
    }
    Ok(())
}

/// `y = x * r * w` per row with `r = 1 / sqrt(mean(x²) + eps)`; returns the `r` of each row.
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32, y: &mut [f32]) -> Vec<f32> {
    let h = w.len();
    let mut r = vec![0f32; x.len() / h];
    y.par_chunks_mut(h)
        .zip(x.par_chunks(h))
        .zip(r.par_iter_mut())
        .for_each(|((yr, xr), ri)| {
            let ms = xr.iter().map(|v| v * v).sum::<f32>() / h as f32;
            *ri = 1.0 / (ms + eps).sqrt();
            for ((o, &v), &wv) in yr.iter_mut().zip(xr).zip(w) {
                *o = v * *ri * wv;
            }
        });
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
                let (a, b) = head.split_at_mut(half);
                for j in 0..half {
                    let (x1, x2, sj) = (a[j], b[j], sign * s[j]);
                    a[j] = x1 * c[j] - x2 * sj;
                    b[j] = x2 * c[j] + x1 * sj;
                }
            }
        });
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
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
        .for_each(|(d, s)| d.iter_mut().zip(s).for_each(|(d, s)| *d += s));
}

/// Keeps freed memory in the process instead of returning it to the kernel at every `free`.
///
/// A step allocates and frees some hundreds of activation buffers of 0.5-3 MB; under glibc's
/// defaults the larger ones are fresh `mmap`s, so every step page-faults them in again (each
/// fault zeroes a page and, on a write after a read, flushes TLBs across cores): about a tenth
/// of the step's CPU time on SmolLM2-135M. Buffers up to 32 MB now come from the heap, and the
/// heap's top is not trimmed, and threads share one arena: a buffer freed on another thread
/// than it was allocated on is otherwise stranded in its arena and the next step faults in fresh
/// pages. Process-wide, which suits a process that trains; threads that allocated before the
/// first call keep their own arenas, so it is called as the base weights load.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::sync::Once;
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes allocator thresholds; both values are within the
            // ranges glibc documents (the mmap threshold at most 32 MB on 64-bit systems).
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
                libc::mallopt(libc::M_ARENA_MAX, 1);
            }
        });
    }
}
