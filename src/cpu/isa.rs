//! Which instruction set the quantised products run on, detected once where a model loads and
//! passed to every product as a value (ggml-cpu picks its kernels the same way). Nothing is
//! global: a test runs the AVX2 kernel by passing `Kernel::new(Isa::Avx2)`, never by flipping
//! a switch that other tests running at the same time would see.
//!
//! A [`Kernel`] can only be made for an instruction set this CPU has, which is what lets the
//! safe products call the `#[target_feature]` kernels it selects.

/// The products' code path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512 VNNI on 256-bit vectors: one `vpdpbusd` per block and row.
    Vnni,
    Avx2,
    Scalar,
}

impl Isa {
    /// The fastest path this CPU runs.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if Self::Vnni.is_supported() {
                return Self::Vnni;
            }
            if Self::Avx2.is_supported() {
                return Self::Avx2;
            }
        }
        Self::Scalar
    }

    /// Whether this CPU has every feature the path uses.
    pub fn is_supported(self) -> bool {
        match self {
            Self::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => {
                std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("fma")
                    && std::is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            Self::Vnni => {
                Self::Avx2.is_supported()
                    && std::is_x86_feature_detected!("avx512vnni")
                    && std::is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// An instruction set this CPU was checked to support: the products' kernel choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernel {
    isa: Isa,
}

impl Kernel {
    /// The portable path (every CPU).
    pub const SCALAR: Self = Self { isa: Isa::Scalar };

    /// The fastest path this CPU runs.
    pub fn detect() -> Self {
        Self { isa: Isa::detect() }
    }

    /// `isa`'s kernel, if this CPU has its features.
    pub fn new(isa: Isa) -> Option<Self> {
        isa.is_supported().then_some(Self { isa })
    }

    pub fn isa(self) -> Isa {
        self.isa
    }
}
