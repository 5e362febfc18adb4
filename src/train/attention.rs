//! Causal grouped-query attention on raw slices, forward and closed-form backward, for the fused
//! training layer: one task per (sequence, head), the softmax probabilities kept for backward.
//!
//! Rows are tokens (`batch * seq`), columns heads side by side, exactly as the projections
//! produce and consume them, so no head transpose is ever materialised.

use crate::cpu::gemm::{View, gemm};
use crate::cpu::ops::softmax_in_place;
use candle_core::Result;
use rayon::prelude::*;

#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub batch: usize,
    pub seq: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
}

impl Dims {
    fn rep(&self) -> usize {
        self.heads / self.kv_heads
    }
    fn qw(&self) -> usize {
        self.heads * self.head_dim
    }
    fn kw(&self) -> usize {
        self.kv_heads * self.head_dim
    }
    fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }
    /// The query block of (sequence b, head h) and the key/value block of its group.
    fn blocks<'a>(&self, bh: usize, q: &'a [f32], kv: (&'a [f32], &'a [f32])) -> [View<'a>; 3] {
        let (b, h) = (bh / self.heads, bh % self.heads);
        let g = h / self.rep();
        let qo = b * self.seq * self.qw() + h * self.head_dim;
        let ko = b * self.seq * self.kw() + g * self.head_dim;
        [
            View::strided(&q[qo..], self.qw()),
            View::strided(&kv.0[ko..], self.kw()),
            View::strided(&kv.1[ko..], self.kw()),
        ]
    }
}

/// Query rows per block of the causal product: a block of rows `r0..r1` sees keys `0..r1`
/// only, so blocking skips most of the masked upper triangle (3/8 of it with four blocks).
const BLOCKS: usize = 4;

fn block_rows(s: usize) -> usize {
    s.div_ceil(BLOCKS).max(1)
}

/// Forward: fills `probs` (batch, heads, seq, seq) and returns the output (tokens, heads*dim).
pub fn forward(dm: Dims, q: &[f32], k: &[f32], v: &[f32], probs: &mut [f32]) -> Result<Vec<f32>> {
    let (s, d) = (dm.seq, dm.head_dim);
    let bs = block_rows(s);
    let mut per_head = vec![0f32; dm.batch * dm.heads * s * d];
    probs
        .par_chunks_mut(s * s)
        .zip(per_head.par_chunks_mut(s * d))
        .enumerate()
        .try_for_each(|(bh, (p, o))| -> Result<()> {
            let [qv, kv, vv] = dm.blocks(bh, q, (k, v));
            // Row blocks are independent: they also even out nine heads over two threads.
            p.par_chunks_mut(bs * s)
                .zip(o.par_chunks_mut(bs * d))
                .enumerate()
                .try_for_each(|(blk, (pb, ob))| -> Result<()> {
                    let (r0, rows) = (blk * bs, pb.len() / s);
                    let r1 = r0 + rows;
                    let qb = qv.skip_rows(r0);
                    gemm(pb, s, (rows, r1, d), qb, kv.t(), dm.scale(), false, false)?;
                    for (i, row) in pb.chunks_mut(s).enumerate() {
                        let i = r0 + i;
                        softmax_in_place(&mut row[..=i], 1.0);
                        row[i + 1..].fill(0.0);
                    }
                    gemm(
                        ob,
                        d,
                        (rows, d, r1),
                        View::rows(pb, s),
                        vv,
                        1.0,
                        false,
                        false,
                    )
                })
        })?;
    Ok(gather_heads(dm, &per_head, dm.heads, 1))
}

/// Backward: from the output gradient, the gradients of q, k and v (before RoPE is undone).
/// Causal blocks as in [`forward`]: `probs` and the score gradient are zero above the diagonal.
pub fn backward(
    dm: Dims,
    (q, k, v): (&[f32], &[f32], &[f32]),
    probs: &[f32],
    dout: &[f32],
) -> Result<[Vec<f32>; 3]> {
    let (s, d) = (dm.seq, dm.head_dim);
    let bs = block_rows(s);
    let n = dm.batch * dm.heads;
    let (mut dq, mut dk, mut dv) = (
        vec![0f32; n * s * d],
        vec![0f32; n * s * d],
        vec![0f32; n * s * d],
    );
    let scale = dm.scale();
    dq.par_chunks_mut(s * d)
        .zip(dk.par_chunks_mut(s * d))
        .zip(dv.par_chunks_mut(s * d))
        .enumerate()
        .try_for_each(|(bh, ((dqh, dkh), dvh))| -> Result<()> {
            let [qv, kv, vv] = dm.blocks(bh, q, (k, v));
            let [dov, _, _] = dm.blocks(bh, dout, (k, v));
            let p = &probs[bh * s * s..][..s * s];
            let mut ds = vec![0f32; s * s];
            for r0 in (0..s).step_by(bs) {
                let r1 = (r0 + bs).min(s);
                let rows = r1 - r0;
                // dV[r0..r1] = P[r0.., r0..r1]ᵀ · dO[r0..]: earlier queries never see these keys.
                let pt = View::strided(&p[r0 * s + r0..], s).t();
                let dvb = &mut dvh[r0 * d..];
                gemm(
                    dvb,
                    d,
                    (rows, d, s - r0),
                    pt,
                    dov.skip_rows(r0),
                    1.0,
                    false,
                    false,
                )?;
                let dsb = &mut ds[r0 * s..];
                gemm(
                    dsb,
                    s,
                    (rows, r1, d),
                    dov.skip_rows(r0),
                    vv.t(),
                    1.0,
                    false,
                    false,
                )?;
                for (i, (drow, prow)) in dsb.chunks_mut(s).zip(p[r0 * s..].chunks(s)).enumerate() {
                    let i = r0 + i;
                    if i >= r1 {
                        break;
                    }
                    // Above the diagonal the product left raw values where the gradient is 0.
                    drow[i + 1..].fill(0.0);
                    let (drow, prow) = (&mut drow[..=i], &prow[..=i]);
                    let dot: f32 = drow.iter().zip(prow).map(|(a, b)| a * b).sum();
                    for (x, &pv) in drow.iter_mut().zip(prow) {
                        *x = pv * (*x - dot);
                    }
                }
                let dsv = View::rows(&ds[r0 * s..], s);
                gemm(
                    &mut dqh[r0 * d..],
                    d,
                    (rows, d, r1),
                    dsv,
                    kv,
                    scale,
                    false,
                    false,
                )?;
            }
            for r0 in (0..s).step_by(bs) {
                let r1 = (r0 + bs).min(s);
                // dK[r0..r1] = dS[r0.., r0..r1]ᵀ · Q[r0..].
                let dst = View::strided(&ds[r0 * s + r0..], s).t();
                let dkb = &mut dkh[r0 * d..];
                gemm(
                    dkb,
                    d,
                    (r1 - r0, d, s - r0),
                    dst,
                    qv.skip_rows(r0),
                    scale,
                    false,
                    false,
                )?;
            }
            Ok(())
        })?;
    Ok([
        gather_heads(dm, &dq, dm.heads, 1),
        gather_heads(dm, &dk, dm.kv_heads, dm.rep()),
        gather_heads(dm, &dv, dm.kv_heads, dm.rep()),
    ])
}

/// Per-head blocks (batch, heads, seq, dim) to token rows of `out_heads` heads, summing each
/// run of `rep` consecutive heads (the query heads that share one key/value head).
fn gather_heads(dm: Dims, per_head: &[f32], out_heads: usize, rep: usize) -> Vec<f32> {
    let (s, d) = (dm.seq, dm.head_dim);
    let mut out = vec![0f32; dm.batch * s * out_heads * d];
    out.par_chunks_mut(out_heads * d)
        .enumerate()
        .for_each(|(row, o)| {
            let (b, i) = (row / s, row % s);
            for (g, og) in o.chunks_mut(d).enumerate() {
                for r in 0..rep {
                    let h = g * rep + r;
                    let src = &per_head[((b * dm.heads + h) * s + i) * d..][..d];
                    og.iter_mut().zip(src).for_each(|(a, b)| *a += b);
                }
            }
        });
    out
}
