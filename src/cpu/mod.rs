//! The CPU numerics layer that inference, training and evaluation share, laid out like ggml's
//! CPU backend: types (quantised blocks, `types`) x arch (SIMD kernels, `arch`, chosen by a
//! [`Kernel`] value detected once at load) x ops (the f32 row operations, `ops`; the quantised
//! products, `q8_0` / `q4_1` / `qmatrix`; the strided f32 product, `gemm`).
//!
//! Two thread pools, on purpose: the inference forward's spin pool (`pool`) runs ~150
//! parallel regions of a few microseconds each per token, where the caller must not sleep on a
//! condition variable between regions (see its module doc); training's regions are whole
//! matrix products and row loops of milliseconds, run on rayon because the `gemm` crate
//! parallelises on rayon and nesting a second pool under it would oversubscribe the cores.
//! Not re-measured in the move that made this layer: the pools are the ones each side used.

pub mod arch;
pub mod gemm;
pub mod isa;
pub mod memory;
pub mod ops;
pub mod pool;
pub mod q4_1;
pub mod q8_0;
pub mod q8_batch;
pub mod qmatrix;
pub mod types;

pub use isa::{Isa, Kernel};
