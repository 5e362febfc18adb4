//! AdamW with decoupled weight decay, global-norm gradient clipping and a warm-up + cosine
//! learning-rate schedule.
//!
//! Written here rather than using `candle_nn::AdamW` because checkpoints must save and restore
//! the moment estimates to resume a run exactly, and candle's optimiser keeps them private.

use super::error::Result;
use candle_core::{Tensor, Var};
use std::collections::HashMap;

pub struct AdamW {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// Optimiser steps taken so far (bias correction).
    pub t: usize,
    /// First and second moments, one pair per variable, in the variables' order.
    pub moments: Vec<(Tensor, Tensor)>,
}

impl AdamW {
    pub fn new(vars: &[Var], weight_decay: f64) -> Result<Self> {
        let moments = vars
            .iter()
            .map(|v| Ok((v.zeros_like()?, v.zeros_like()?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            t: 0,
            moments,
        })
    }

    /// One update of every variable with its gradient (`grads[i]` for `vars[i]`).
    pub fn step(&mut self, vars: &[Var], grads: &[Tensor], lr: f64) -> Result<()> {
        self.t += 1;
        let c1 = 1.0 - self.beta1.powi(self.t as i32);
        let c2 = 1.0 - self.beta2.powi(self.t as i32);
        for ((var, g), (m, v)) in vars.iter().zip(grads).zip(self.moments.iter_mut()) {
            *m = ((&*m * self.beta1)? + (g * (1.0 - self.beta1))?)?;
            *v = ((&*v * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
            let update = ((&*m / c1)? / ((&*v / c2)?.sqrt()? + self.eps)?)?;
            let decayed = (var.as_tensor() * (1.0 - lr * self.weight_decay))?;
            var.set(&(decayed - (update * lr)?)?)?;
        }
        Ok(())
    }

    /// Moments keyed `{name}.m` / `{name}.v`, for a checkpoint.
    pub fn state(&self, names: &[String]) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for (name, (m, v)) in names.iter().zip(&self.moments) {
            out.insert(format!("{name}.m"), m.clone());
            out.insert(format!("{name}.v"), v.clone());
        }
        out
    }
}

/// Scales gradients so that their global L2 norm is at most `max_norm` (0 disables).
/// Returns the norm before clipping.
pub fn clip_global_norm(grads: &mut [Tensor], max_norm: f64) -> Result<f64> {
    let mut sq = 0.0f64;
    for g in grads.iter() {
        sq += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
    }
    let norm = sq.sqrt();
    if max_norm > 0.0 && norm > max_norm {
        let f = max_norm / (norm + 1e-6);
        for g in grads.iter_mut() {
            *g = (&*g * f)?;
        }
    }
    Ok(norm)
}

/// Linear warm-up from 0 to `peak` over `warmup` steps, then cosine decay to 0 at `total`.
/// `step` counts from 1.
pub fn lr_at(step: usize, peak: f64, warmup: usize, total: usize) -> f64 {
    if warmup > 0 && step <= warmup {
        return peak * step as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).clamp(0.0, 1.0);
    peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}
