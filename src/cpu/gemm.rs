//! A strided f32 matrix product on the `gemm` crate (the one candle itself uses), over raw
//! slices, for the training kernels: every call checks, without overflow, that the three
//! matrices lie inside their slices before handing pointers to `gemm`.
//!
//! Hand-written rather than candle ops because candle composes a layer from many small tensor
//! ops, and on the CPU each of those is a separate pass through its barrier thread pool, whose
//! spin-waits cost more than the arithmetic on a loaded two-core machine.

use candle_core::{Result, bail};

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
    /// Whether a `rows x cols` matrix lies inside the data; an offset that overflows does not.
    fn fits(&self, rows: usize, cols: usize) -> bool {
        if rows == 0 || cols == 0 {
            return true;
        }
        let last = (rows - 1)
            .checked_mul(self.rs)
            .zip((cols - 1).checked_mul(self.cs))
            .and_then(|(r, c)| r.checked_add(c));
        last.is_some_and(|last| last < self.data.len())
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
    let dst_fits = m == 0
        || n == 0
        || (m - 1)
            .checked_mul(dst_rs)
            .and_then(|o| o.checked_add(n))
            .is_some_and(|end| end <= dst.len());
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
    // SAFETY: the bounds of all three matrices were checked above, without overflow; strides
    // fit `isize` because each offset they reach is inside a slice; `dst` is borrowed mutably,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_whose_offsets_overflow_does_not_fit() {
        let data = [0f32; 4];
        let v = View {
            data: &data,
            rs: usize::MAX / 2,
            cs: 1,
        };
        assert!(!v.fits(3, 1));
        assert!(View::rows(&data, 2).fits(2, 2));
        assert!(!View::rows(&data, 2).fits(3, 2));
        let mut dst = [0f32; 4];
        let r = gemm(
            &mut dst,
            usize::MAX / 2,
            (3, 1, 1),
            View::rows(&data, 1),
            View::rows(&data, 1),
            1.0,
            false,
            false,
        );
        assert!(r.is_err());
    }
}
