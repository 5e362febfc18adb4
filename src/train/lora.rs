//! LoRA settings and the projection they wrap: `y = x·Wᵀ + (alpha/r)·dropout(x)·Aᵀ·Bᵀ` with `W`
//! frozen and `A`, `B` trainable, as PEFT defines it (A kaiming-uniform, B zero at start).

use super::error::{Result, TrainError};
use super::frozen::frozen_linear;
use candle_core::{Tensor, Var};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The projections LoRA may wrap, by their Hugging Face / PEFT module names.
pub const ATTENTION_MODULES: [&str; 4] = ["q_proj", "k_proj", "v_proj", "o_proj"];
pub const MLP_MODULES: [&str; 3] = ["gate_proj", "up_proj", "down_proj"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
    pub rank: usize,
    pub alpha: f64,
    pub dropout: f32,
    /// Module names among [`ATTENTION_MODULES`] and [`MLP_MODULES`].
    pub targets: Vec<String>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        LoraConfig {
            rank: 8,
            alpha: 16.0,
            dropout: 0.05,
            targets: ATTENTION_MODULES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl LoraConfig {
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, message: String| TrainError::BadConfig {
            field: field.into(),
            message,
        };
        if self.rank == 0 {
            return Err(bad("rank", "must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(bad("dropout", format!("{} is not in [0, 1)", self.dropout)));
        }
        if self.targets.is_empty() {
            return Err(bad(
                "targets",
                "name at least one module, e.g. q_proj".into(),
            ));
        }
        for t in &self.targets {
            if !ATTENTION_MODULES.contains(&t.as_str()) && !MLP_MODULES.contains(&t.as_str()) {
                return Err(bad(
                    "targets",
                    format!(
                        "unknown module `{t}`; use q_proj k_proj v_proj o_proj gate_proj up_proj down_proj"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// One adapter pair: `a` is (rank, in), `b` is (out, rank).
pub struct LoraPair {
    pub a: Var,
    pub b: Var,
}

impl LoraPair {
    /// PEFT's initialisation: A ~ U(-1/sqrt(in), 1/sqrt(in)), B = 0, so training starts at the base.
    pub fn init(
        rank: usize,
        inp: usize,
        out: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
        w: &Tensor,
    ) -> Result<Self> {
        let bound = 1.0 / (inp as f32).sqrt();
        let data: Vec<f32> = (0..rank * inp)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        let a = Var::from_tensor(&Tensor::from_vec(data, (rank, inp), w.device())?)?;
        let b = Var::zeros((out, rank), candle_core::DType::F32, w.device())?;
        Ok(LoraPair { a, b })
    }
}

/// A frozen projection (with its frozen bias where the architecture has one, as Qwen2's q, k
/// and v), optionally with a LoRA pair beside it.
pub struct Projection {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub lora: Option<LoraPair>,
    pub scale: f64,
    pub dropout: f32,
}

impl Projection {
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let y = frozen_linear(x, &self.weight)?;
        let y = match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        };
        let Some(lora) = &self.lora else {
            return Ok(y);
        };
        let xd = if train && self.dropout > 0.0 {
            candle_nn::ops::dropout(x, self.dropout)?
        } else {
            x.clone()
        };
        let z = xd
            .broadcast_matmul(&lora.a.as_tensor().t()?)?
            .broadcast_matmul(&lora.b.as_tensor().t()?)?;
        Ok((y + (z * self.scale)?)?)
    }

    /// `W + scale·B·A`: the weight with the adapter folded in.
    pub fn merged_weight(&self) -> Result<Tensor> {
        match &self.lora {
            None => Ok(self.weight.clone()),
            Some(l) => {
                let delta = l.b.as_tensor().matmul(l.a.as_tensor())?;
                Ok((&self.weight + (delta * self.scale)?)?)
            }
        }
    }
}

pub(crate) fn seeded(seed: u64) -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::seed_from_u64(seed)
}
