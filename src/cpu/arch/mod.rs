//! The instruction-set-specific kernels of the quantised products, one file per architecture
//! (ggml-cpu's `arch/`). Which one runs is chosen by a [`super::Kernel`] value.

#[cfg(target_arch = "x86_64")]
pub mod x86;
