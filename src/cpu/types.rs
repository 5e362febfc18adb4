//! The quantised block types, as ggml defines them in the file and as assay keeps them in
//! memory: `#[repr(C)]` structs whose sizes are asserted at compile time, so that the kernels
//! address fields by type instead of by hand-computed byte offsets.
//!
//! A file block holds 32 weights of one row. The products read rows in groups of eight
//! ([`GROUP`]), block by block: a group block holds the same block of eight rows, scales first,
//! so that one vector load converts eight f16 scales and the eight rows' values stream in
//! order (see `q8_0.rs` and `q4_1.rs` for why).

use std::mem::size_of;

/// Values per quantisation block.
pub const BLOCK: usize = 32;
/// Rows stored (and computed) together.
pub const GROUP: usize = 8;

/// A Q8_0 block as ggml stores it: an f16 scale, then 32 signed values (`block_q8_0`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BlockQ8_0 {
    /// f16 scale, little-endian bytes.
    pub d: [u8; 2],
    pub qs: [i8; BLOCK],
}

/// A Q4_1 block as ggml stores it: f16 scale and minimum, then 16 bytes where byte `j` holds
/// value `j` (low nibble) and value `j + 16` (high nibble) (`block_q4_1`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BlockQ4_1 {
    /// f16 scale, little-endian bytes.
    pub d: [u8; 2],
    /// f16 minimum, little-endian bytes.
    pub m: [u8; 2],
    pub qs: [u8; BLOCK / 2],
}

/// One block of a group of eight Q8_0 rows: the eight f16 scales (as bits), then each row's
/// 32 values stored as `w + 128` (unsigned, what VNNI's u8 x i8 product takes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct GroupQ8_0 {
    pub d: [u16; GROUP],
    pub qs: [[u8; BLOCK]; GROUP],
}

/// One block of a group of eight Q4_1 rows: the eight f16 scales, the eight f16 minimums (as
/// bits), then the rows' nibbles in pairs: `qs[j]` is row `2j`'s 16 bytes, then row `2j + 1`'s
/// (one 256-bit load per pair).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct GroupQ4_1 {
    pub d: [u16; GROUP],
    pub m: [u16; GROUP],
    pub qs: [[[u8; BLOCK / 2]; 2]; GROUP / 2],
}

// The file's block sizes (ggml's static asserts) and the group blocks' (the file's, times
// eight: nothing is added, so a group streams exactly the file's bytes).
const _: () = assert!(size_of::<BlockQ8_0>() == 34);
const _: () = assert!(size_of::<BlockQ4_1>() == 20);
const _: () = assert!(size_of::<GroupQ8_0>() == GROUP * size_of::<BlockQ8_0>());
const _: () = assert!(size_of::<GroupQ4_1>() == GROUP * size_of::<BlockQ4_1>());

impl BlockQ8_0 {
    /// The block at the start of `b` (ggml's byte layout).
    pub fn read(b: &[u8; size_of::<Self>()]) -> Self {
        let mut qs = [0i8; BLOCK];
        for (q, &v) in qs.iter_mut().zip(&b[2..]) {
            *q = v as i8;
        }
        Self {
            d: [b[0], b[1]],
            qs,
        }
    }
}

impl BlockQ4_1 {
    /// The block at the start of `b` (ggml's byte layout).
    pub fn read(b: &[u8; size_of::<Self>()]) -> Self {
        let mut qs = [0u8; BLOCK / 2];
        qs.copy_from_slice(&b[4..]);
        Self {
            d: [b[0], b[1]],
            m: [b[2], b[3]],
            qs,
        }
    }
}

impl GroupQ8_0 {
    /// Eight rows' block side by side; a missing row (past the matrix) has a zero scale and
    /// values 0.
    pub fn from_rows(rows: [Option<BlockQ8_0>; GROUP]) -> Self {
        let mut g = Self {
            d: [0; GROUP],
            qs: [[0x80; BLOCK]; GROUP],
        };
        for (k, b) in rows.iter().enumerate() {
            if let Some(b) = b {
                g.d[k] = u16::from_le_bytes(b.d);
                for (q, &v) in g.qs[k].iter_mut().zip(&b.qs) {
                    *q = (v as u8) ^ 0x80;
                }
            }
        }
        g
    }

    /// Row `k`'s scale.
    #[inline(always)]
    pub fn scale(&self, k: usize) -> f32 {
        half::f16::from_bits(self.d[k]).to_f32()
    }

    /// Row `k`'s value `j`, signed.
    #[inline(always)]
    pub fn value(&self, k: usize, j: usize) -> i8 {
        (self.qs[k][j] ^ 0x80) as i8
    }
}

impl GroupQ4_1 {
    /// Eight rows' block side by side; a missing row is all zeros.
    pub fn from_rows(rows: [Option<BlockQ4_1>; GROUP]) -> Self {
        let mut g = Self {
            d: [0; GROUP],
            m: [0; GROUP],
            qs: [[[0; BLOCK / 2]; 2]; GROUP / 2],
        };
        for (k, b) in rows.iter().enumerate() {
            if let Some(b) = b {
                g.d[k] = u16::from_le_bytes(b.d);
                g.m[k] = u16::from_le_bytes(b.m);
                g.qs[k / 2][k % 2] = b.qs;
            }
        }
        g
    }

    /// Row `k`'s scale and minimum.
    #[inline(always)]
    pub fn scale_min(&self, k: usize) -> (f32, f32) {
        let f = |bits: u16| half::f16::from_bits(bits).to_f32();
        (f(self.d[k]), f(self.m[k]))
    }

    /// Row `k`'s 16 bytes of nibbles.
    #[inline(always)]
    pub fn row(&self, k: usize) -> &[u8; BLOCK / 2] {
        &self.qs[k / 2][k % 2]
    }
}

/// Rearranges `rows` file rows of `nb` blocks (ggml bytes, `B` bytes per block) into group
/// blocks: per group, its `nb` blocks in order; rows past the matrix are `None`.
pub fn regroup<F: Copy, G, const B: usize>(
    raw: &[u8],
    rows: usize,
    nb: usize,
    read: impl Fn(&[u8; B]) -> F,
    group: impl Fn([Option<F>; GROUP]) -> G,
) -> Vec<G> {
    let groups = rows.div_ceil(GROUP);
    let mut out = Vec::with_capacity(groups * nb);
    for g in 0..groups {
        for b in 0..nb {
            let blocks = std::array::from_fn(|k| {
                let r = g * GROUP + k;
                if r >= rows {
                    return None;
                }
                let at = (r * nb + b) * B;
                raw.get(at..at + B)?.try_into().ok().map(&read)
            });
            out.push(group(blocks));
        }
    }
    out
}

/// Calls `group(g, t)` for every row group that meets `rows` and each of `tokens` tokens, then
/// `emit(t, r, value)` for the rows of that group inside `rows` (and inside the `n_rows` of the
/// matrix): the walk every weight type's product shares.
pub fn for_groups(
    n_rows: usize,
    tokens: usize,
    rows: std::ops::Range<usize>,
    mut group: impl FnMut(usize, usize) -> [f32; GROUP],
    emit: &mut impl FnMut(usize, usize, f32),
) {
    let end = rows.end.min(n_rows);
    if rows.start >= end {
        return;
    }
    for g in rows.start / GROUP..end.div_ceil(GROUP) {
        let first = (g * GROUP).max(rows.start);
        let last = ((g + 1) * GROUP).min(end);
        for t in 0..tokens {
            let v = group(g, t);
            for r in first..last {
                emit(t, r, v[r - g * GROUP]);
            }
        }
    }
}
