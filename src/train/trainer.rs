//! The training loop: micro-batches with gradient accumulation, clipping, AdamW under a warm-up
//! + cosine schedule, eval loss every N steps, checkpoints, resume, and stop on a flag.
//!
//! Progress goes out as [`Point`]s through a callback so a TUI chart or the run store can follow
//! a run live; the loop itself knows nothing of either.

use super::adapter::{load_adapter_weights, save_adapter};
use super::data::Example;
use super::error::{Result, TrainError, io_err};
use super::llama::LoraLlama;
use super::lora::LoraConfig;
use super::optim::{AdamW, clip_global_norm, lr_at};
use candle_core::{DType, Tensor, Var};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub lora: LoraConfig,
    pub learning_rate: f64,
    /// Share of the run's steps over which the learning rate warms up linearly (as
    /// `warmup_ratio` in transformers and LLaMA-Factory).
    #[serde(default = "default_warmup_ratio")]
    pub warmup_ratio: f64,
    /// Warm-up steps that override the ratio when set (0: use the ratio), as transformers'
    /// `warmup_steps` does.
    #[serde(default)]
    pub warmup_steps: usize,
    /// Optimiser steps; 0 means `epochs` passes over the training split.
    pub max_steps: usize,
    pub epochs: f64,
    pub batch_size: usize,
    pub grad_accum: usize,
    /// Global gradient-norm limit; 0 disables clipping.
    pub max_grad_norm: f64,
    pub weight_decay: f64,
    pub max_seq_len: usize,
    /// Share of examples held out for the eval loss (at least one when > 0 and there are two).
    pub eval_fraction: f64,
    pub eval_every: usize,
    /// Checkpoint every N steps (0: only at the end or on stop).
    pub checkpoint_every: usize,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            lora: LoraConfig::default(),
            learning_rate: 2e-4,
            warmup_ratio: default_warmup_ratio(),
            warmup_steps: 0,
            max_steps: 0,
            epochs: 3.0,
            batch_size: 4,
            grad_accum: 1,
            max_grad_norm: 1.0,
            weight_decay: 0.0,
            max_seq_len: 1024,
            eval_fraction: 0.1,
            eval_every: 50,
            checkpoint_every: 0,
            seed: 42,
        }
    }
}

/// The warm-up share LLaMA-Factory runs are launched with too (`train/external/llamafactory.rs`).
fn default_warmup_ratio() -> f64 {
    0.1
}

impl TrainConfig {
    /// Warm-up steps for a run of `total_steps`: `warmup_steps` when set, else the ratio's
    /// share rounded up (a run of any length warms up for at least one step when the ratio is
    /// positive), never the whole run.
    pub fn warmup_for(&self, total_steps: usize) -> usize {
        let steps = if self.warmup_steps > 0 {
            self.warmup_steps
        } else {
            (self.warmup_ratio * total_steps as f64).ceil() as usize
        };
        steps.min(total_steps.saturating_sub(1))
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, message: &str| {
            Err(TrainError::BadConfig {
                field: field.into(),
                message: message.into(),
            })
        };
        self.lora.validate()?;
        if self.batch_size == 0 || self.grad_accum == 0 {
            return bad(
                "batch_size",
                "batch size and gradient accumulation must be at least 1",
            );
        }
        if self.learning_rate.is_nan() || self.learning_rate <= 0.0 {
            return bad("learning_rate", "must be positive");
        }
        if !(0.0..1.0).contains(&self.eval_fraction) {
            return bad("eval_fraction", "must be in [0, 1)");
        }
        if !(0.0..1.0).contains(&self.warmup_ratio) {
            return bad("warmup_ratio", "must be in [0, 1)");
        }
        if self.max_steps == 0 && (self.epochs.is_nan() || self.epochs <= 0.0) {
            return bad("epochs", "set epochs > 0 or max_steps");
        }
        if self.max_seq_len < 2 {
            return bad("max_seq_len", "must be at least 2");
        }
        Ok(())
    }
}

/// One logged step, for charts and the run store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub step: usize,
    pub total_steps: usize,
    pub loss: f32,
    pub eval_loss: Option<f32>,
    pub lr: f64,
    pub tokens_per_s: f64,
    pub grad_norm: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Finished,
    Stopped,
}

#[derive(Serialize, Deserialize)]
struct TrainerState {
    step: usize,
    config: TrainConfig,
}

pub struct Trainer {
    pub model: LoraLlama,
    pub config: TrainConfig,
    train: Vec<Example>,
    eval: Vec<Example>,
    vars: Vec<Var>,
    names: Vec<String>,
    opt: AdamW,
    pub step: usize,
    pub total_steps: usize,
}

impl Trainer {
    /// Splits `examples` into train and eval ([`super::split::split`]) and prepares the optimiser.
    pub fn new(model: LoraLlama, config: TrainConfig, mut examples: Vec<Example>) -> Result<Self> {
        config.validate()?;
        examples.retain(|e| e.ids.len() >= 2);
        if examples.is_empty() {
            return Err(TrainError::NoExamples);
        }
        // The held-out split `assay eval --split-of` reads is this one (`split.rs`).
        let split = super::split::split(examples.len(), config.seed, config.eval_fraction);
        let mut slots: Vec<Option<Example>> = examples.into_iter().map(Some).collect();
        let mut eval: Vec<Example> = split
            .order
            .iter()
            .filter_map(|&i| slots[i].take())
            .collect();
        let train = eval.split_off(split.held_out);
        let per_step = config.batch_size * config.grad_accum;
        let total_steps = if config.max_steps > 0 {
            config.max_steps
        } else {
            ((train.len() as f64 * config.epochs) / per_step as f64)
                .ceil()
                .max(1.0) as usize
        };
        let vars = model.vars();
        let names = model
            .lora_pairs()
            .into_iter()
            .flat_map(|(m, _)| [format!("{m}.lora_A"), format!("{m}.lora_B")])
            .collect();
        let opt = AdamW::new(&vars, config.weight_decay)?;
        Ok(Trainer {
            model,
            config,
            train,
            eval,
            vars,
            names,
            opt,
            step: 0,
            total_steps,
        })
    }

    pub fn train_len(&self) -> usize {
        self.train.len()
    }
    pub fn eval_len(&self) -> usize {
        self.eval.len()
    }

    /// The training example at position `i` of the endless stream of seeded epoch shuffles; a
    /// pure function of `i`, so a resumed run sees the same data as an uninterrupted one.
    fn example_at(&self, i: usize) -> &Example {
        let n = self.train.len();
        let epoch = i / n;
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut super::lora::seeded(
            self.config.seed ^ (epoch as u64 + 1),
        ));
        &self.train[order[i % n]]
    }

    /// Pads a batch into (inputs, targets, mask) tensors; returns them and the real token count.
    fn batch(&self, items: &[&Example]) -> Result<(Tensor, Tensor, Tensor, usize)> {
        let len = items
            .iter()
            .map(|e| e.ids.len().min(self.config.max_seq_len) - 1)
            .max()
            .unwrap_or(1);
        let (mut inp, mut tgt, mut mask) = (Vec::new(), Vec::new(), Vec::new());
        let mut tokens = 0;
        for e in items {
            let n = e.ids.len().min(self.config.max_seq_len) - 1;
            tokens += n;
            for j in 0..len {
                let real = j < n;
                inp.push(if real { e.ids[j] } else { 0 });
                tgt.push(if real { e.ids[j + 1] } else { 0 });
                mask.push(if real && e.trained[j + 1] { 1f32 } else { 0.0 });
            }
        }
        let dev = self.model.device();
        let shape = (items.len(), len);
        Ok((
            Tensor::from_vec(inp, shape, dev)?,
            Tensor::from_vec(tgt, shape, dev)?,
            Tensor::from_vec(mask, shape, dev)?,
            tokens,
        ))
    }

    /// Mean loss over the eval split (no dropout); `None` without an eval split.
    pub fn eval_loss(&self) -> Result<Option<f32>> {
        if self.eval.is_empty() {
            return Ok(None);
        }
        let mut total = 0.0;
        let mut batches = 0;
        for chunk in self.eval.chunks(self.config.batch_size) {
            let items: Vec<&Example> = chunk.iter().collect();
            let (inp, tgt, mask, _) = self.batch(&items)?;
            let loss = self.model.masked_loss(&inp, &tgt, &mask, false)?.detach();
            total += loss.to_scalar::<f32>()?;
            batches += 1;
        }
        Ok(Some(total / batches as f32))
    }

    /// One optimiser step over `grad_accum` micro-batches.
    pub fn train_step(&mut self) -> Result<Point> {
        let t0 = Instant::now();
        let accum = self.config.grad_accum;
        let bs = self.config.batch_size;
        let mut sums: Vec<Option<Tensor>> = vec![None; self.vars.len()];
        let mut loss_sum = 0.0f32;
        let mut tokens = 0;
        for micro in 0..accum {
            let first = (self.step * accum + micro) * bs;
            let items: Vec<&Example> = (first..first + bs).map(|i| self.example_at(i)).collect();
            let (inp, tgt, mask, n) = self.batch(&items)?;
            tokens += n;
            let loss = self.model.masked_loss(&inp, &tgt, &mask, true)?;
            loss_sum += loss.to_scalar::<f32>()?;
            let grads = (loss / accum as f64)?.backward()?;
            for (sum, var) in sums.iter_mut().zip(&self.vars) {
                if let Some(g) = grads.get(var.as_tensor()) {
                    *sum = Some(match sum.take() {
                        Some(s) => (s + g)?,
                        None => g.clone(),
                    });
                }
            }
        }
        let mut grads = sums
            .into_iter()
            .zip(&self.vars)
            .map(|(g, v)| g.map_or_else(|| Ok(v.zeros_like()?), Ok))
            .collect::<Result<Vec<Tensor>>>()?;
        let grad_norm = clip_global_norm(&mut grads, self.config.max_grad_norm)?;
        self.step += 1;
        let lr = lr_at(
            self.step,
            self.config.learning_rate,
            self.config.warmup_for(self.total_steps),
            self.total_steps,
        );
        self.opt.step(&self.vars, &grads, lr)?;
        Ok(Point {
            step: self.step,
            total_steps: self.total_steps,
            loss: loss_sum / accum as f32,
            eval_loss: None,
            lr,
            tokens_per_s: tokens as f64 / t0.elapsed().as_secs_f64().max(1e-9),
            grad_norm,
        })
    }

    /// Trains until `total_steps` or until `stop` is set, sending a point per step. Checkpoints
    /// go to `out/checkpoint-{step}` (every `checkpoint_every` steps and when stopping); the
    /// final adapter goes to `out`.
    pub fn run(
        &mut self,
        out: &Path,
        base_name: &str,
        stop: &Arc<AtomicBool>,
        on_point: &mut dyn FnMut(&Point),
    ) -> Result<Outcome> {
        while self.step < self.total_steps {
            if stop.load(Ordering::Relaxed) {
                self.save_checkpoint(out, base_name)?;
                return Ok(Outcome::Stopped);
            }
            let mut point = self.train_step()?;
            let every = self.config.eval_every;
            if (every > 0 && self.step.is_multiple_of(every)) || self.step == self.total_steps {
                point.eval_loss = self.eval_loss()?;
            }
            on_point(&point);
            let ck = self.config.checkpoint_every;
            if ck > 0 && self.step.is_multiple_of(ck) && self.step < self.total_steps {
                self.save_checkpoint(out, base_name)?;
            }
        }
        save_adapter(&self.model, out, base_name)?;
        Ok(Outcome::Finished)
    }

    /// Writes the adapter, optimiser moments and step to `out/checkpoint-{step}`. Everything is
    /// written to a temporary folder first and renamed into place, so a run killed while saving
    /// leaves either the whole checkpoint or none.
    pub fn save_checkpoint(&self, out: &Path, base_name: &str) -> Result<PathBuf> {
        let dir = out.join(format!("checkpoint-{}", self.step));
        let tmp = out.join(format!(".checkpoint-{}.partial", self.step));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
        }
        save_adapter(&self.model, &tmp, base_name)?;
        let mut state = self.opt.state(&self.names);
        state.insert(
            "t".into(),
            Tensor::new(&[self.opt.t as u32], self.model.device())?,
        );
        candle_core::safetensors::save(&state, tmp.join("optimizer.safetensors"))?;
        let path = tmp.join("trainer_state.json");
        let json = serde_json::to_string_pretty(&TrainerState {
            step: self.step,
            config: self.config.clone(),
        })
        .map_err(|source| TrainError::Json {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, json).map_err(io_err(&path))?;
        if dir.exists() {
            // The same step saved again (a resumed run stopped at once): the new one wins.
            std::fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
        }
        std::fs::rename(&tmp, &dir).map_err(io_err(&dir))?;
        Ok(dir)
    }

    /// Restores adapter, optimiser and step from a checkpoint folder written by
    /// [`Trainer::save_checkpoint`]; training then continues where it stopped.
    pub fn resume_from(&mut self, dir: &Path) -> Result<()> {
        let path = dir.join("trainer_state.json");
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        let state: TrainerState =
            serde_json::from_str(&text).map_err(|source| TrainError::Json {
                path: path.clone(),
                source,
            })?;
        if state.config.lora != self.config.lora {
            return Err(TrainError::Adapter {
                path,
                message: "the checkpoint's LoRA settings differ from this run's".into(),
            });
        }
        load_adapter_weights(&self.model, dir)?;
        let opt_path = dir.join("optimizer.safetensors");
        let tensors = candle_core::safetensors::load(&opt_path, self.model.device())?;
        for (name, (m, v)) in self.names.iter().zip(self.opt.moments.iter_mut()) {
            let get = |k: String| {
                tensors.get(&k).cloned().ok_or_else(|| TrainError::Adapter {
                    path: opt_path.clone(),
                    message: format!("tensor `{k}` is missing"),
                })
            };
            *m = get(format!("{name}.m"))?;
            *v = get(format!("{name}.v"))?;
        }
        let t = tensors
            .get("t")
            .ok_or_else(|| TrainError::Adapter {
                path: opt_path.clone(),
                message: "tensor `t` is missing".into(),
            })?
            .to_dtype(DType::U32)?
            .to_vec1::<u32>()?;
        self.opt.t = t.first().copied().unwrap_or(0) as usize;
        self.step = state.step;
        Ok(())
    }

    /// The newest `checkpoint-N` folder under `out`, if any.
    pub fn latest_checkpoint(out: &Path) -> Option<PathBuf> {
        std::fs::read_dir(out)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let n: usize = name.strip_prefix("checkpoint-")?.parse().ok()?;
                // Checkpoints are renamed into place whole; one from an older assay, killed
                // while it was written, lacks a readable state and is passed over.
                let state = std::fs::read_to_string(e.path().join("trainer_state.json")).ok()?;
                serde_json::from_str::<serde_json::Value>(&state).ok()?;
                Some((n, e.path()))
            })
            .max_by_key(|(n, _)| *n)
            .map(|(_, p)| p)
    }
}

#[cfg(test)]
mod tests {
    use super::TrainConfig;

    #[test]
    fn warm_up_is_a_share_of_the_run() {
        let c = TrainConfig::default();
        // 10% of the run, rounded up, never the whole run.
        assert_eq!(c.warmup_for(200), 20);
        assert_eq!(c.warmup_for(5), 1);
        assert_eq!(c.warmup_for(1), 0);
        let fixed = TrainConfig {
            warmup_steps: 7,
            ..TrainConfig::default()
        };
        assert_eq!(fixed.warmup_for(200), 7);
        assert_eq!(fixed.warmup_for(4), 3);
        let bad = TrainConfig {
            warmup_ratio: 1.5,
            ..TrainConfig::default()
        };
        assert!(bad.validate().is_err());
        // A config stored before the ratio existed reads with the default ratio.
        let mut old = serde_json::to_value(TrainConfig::default()).unwrap();
        old.as_object_mut().unwrap().remove("warmup_ratio");
        old["warmup_steps"] = 10.into();
        let old: TrainConfig = serde_json::from_value(old).unwrap();
        assert_eq!((old.warmup_ratio, old.warmup_for(100)), (0.1, 10));
    }
}
