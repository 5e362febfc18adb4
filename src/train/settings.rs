//! Trainer settings as a person gives them (the `assay train` flags, the TUI's new-run form)
//! and the one builder that turns them into a [`TrainerSpec`], so that both front ends start
//! the same run from the same settings. The defaults are the command line's.

use super::external::{LlamaFactorySpec, TrainerSpec};
use super::{LoraConfig, TrainConfig};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The defaults every front end starts from.
pub mod defaults {
    pub const TEMPLATE: &str = "default";
    pub const PROGRAM: &str = "llamafactory-cli";
    pub const RANK: usize = 8;
    pub const ALPHA: f64 = 16.0;
    pub const DROPOUT: f32 = 0.0;
    /// Comma separated, as `--targets` takes them.
    pub const TARGETS: &str = "q_proj,v_proj";
    pub const LR: f64 = 2e-4;
    /// Share of the steps the learning rate warms up over (both trainers).
    pub const WARMUP_RATIO: f64 = 0.1;
    pub const EPOCHS: f64 = 3.0;
    pub const MAX_STEPS: usize = 0;
    pub const BATCH_SIZE: usize = 4;
    pub const GRAD_ACCUM: usize = 1;
    pub const MAX_SEQ_LEN: usize = 512;
    pub const EVAL_FRACTION: f64 = 0.1;
    pub const EVAL_EVERY: usize = 10;
    pub const LOGGING_STEPS: usize = 5;
    pub const SAVE_STEPS: usize = 500;
    pub const SEED: u64 = 42;
    pub const CHECKPOINT_EVERY: usize = 0;
    /// Seconds a stopping trainer gets after SIGINT before SIGTERM (and again before SIGKILL).
    pub const STOP_GRACE_S: f64 = 30.0;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrainerKind {
    /// The candle LoRA trainer built into assay.
    Builtin,
    /// LLaMA-Factory's `llamafactory-cli train`.
    Llamafactory,
    /// A command template (--cmd).
    Cmd,
}

/// Everything a run's trainer is configured with; [`Settings::spec`] builds the trainer's part.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub trainer: TrainerKind,
    /// Built-in trainer's base: a GGUF file or a Hugging Face folder (default: the offline model).
    pub base: Option<PathBuf>,
    /// External trainers' model: a Hugging Face id or folder.
    pub model: Option<String>,
    /// LLaMA-Factory chat template name.
    pub template: String,
    /// The LLaMA-Factory executable.
    pub program: String,
    /// The command template of the `cmd` trainer.
    pub command: Option<String>,
    /// More LLaMA-Factory YAML keys.
    pub extra: BTreeMap<String, serde_json::Value>,
    pub rank: usize,
    pub alpha: f64,
    pub dropout: f32,
    pub targets: Vec<String>,
    pub lr: f64,
    pub warmup_ratio: f64,
    pub epochs: f64,
    pub max_steps: usize,
    pub batch_size: usize,
    pub grad_accum: usize,
    pub max_seq_len: usize,
    pub eval_fraction: f64,
    pub eval_every: usize,
    pub logging_steps: usize,
    pub save_steps: usize,
    pub seed: u64,
    /// Built-in trainer: continue from the latest checkpoint.
    pub resume: bool,
    pub checkpoint_every: usize,
}

impl Default for Settings {
    fn default() -> Self {
        use defaults::*;
        Settings {
            trainer: TrainerKind::Builtin,
            base: None,
            model: None,
            template: TEMPLATE.into(),
            program: PROGRAM.into(),
            command: None,
            extra: BTreeMap::new(),
            rank: RANK,
            alpha: ALPHA,
            dropout: DROPOUT,
            targets: TARGETS.split(',').map(String::from).collect(),
            lr: LR,
            warmup_ratio: WARMUP_RATIO,
            epochs: EPOCHS,
            max_steps: MAX_STEPS,
            batch_size: BATCH_SIZE,
            grad_accum: GRAD_ACCUM,
            max_seq_len: MAX_SEQ_LEN,
            eval_fraction: EVAL_FRACTION,
            eval_every: EVAL_EVERY,
            logging_steps: LOGGING_STEPS,
            save_steps: SAVE_STEPS,
            seed: SEED,
            resume: false,
            checkpoint_every: CHECKPOINT_EVERY,
        }
    }
}

/// A setting the chosen trainer needs and did not get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// LLaMA-Factory needs a model (a Hugging Face id or a local folder).
    Model,
    /// The `cmd` trainer needs its command template.
    Command,
}

impl Settings {
    /// The trainer's specification; the values themselves are checked when the run is made.
    pub fn spec(&self) -> Result<TrainerSpec, Missing> {
        let lora = LoraConfig {
            rank: self.rank,
            alpha: self.alpha,
            dropout: self.dropout,
            targets: self.targets.clone(),
        };
        Ok(match self.trainer {
            TrainerKind::Builtin => TrainerSpec::Builtin {
                base: self
                    .base
                    .clone()
                    .unwrap_or_else(crate::llm::local::LocalModel::default_path),
                config: TrainConfig {
                    lora,
                    learning_rate: self.lr,
                    warmup_ratio: self.warmup_ratio,
                    epochs: self.epochs,
                    max_steps: self.max_steps,
                    batch_size: self.batch_size,
                    grad_accum: self.grad_accum,
                    max_seq_len: self.max_seq_len,
                    eval_fraction: self.eval_fraction,
                    eval_every: self.eval_every,
                    seed: self.seed,
                    checkpoint_every: self.checkpoint_every,
                    ..TrainConfig::default()
                },
                resume: self.resume,
            },
            TrainerKind::Llamafactory => TrainerSpec::Llamafactory(LlamaFactorySpec {
                program: self.program.clone(),
                model_name_or_path: self.model.clone().ok_or(Missing::Model)?,
                template: self.template.clone(),
                lora,
                learning_rate: self.lr,
                warmup_ratio: self.warmup_ratio,
                num_train_epochs: self.epochs,
                max_steps: self.max_steps,
                per_device_train_batch_size: self.batch_size,
                gradient_accumulation_steps: self.grad_accum,
                cutoff_len: self.max_seq_len,
                val_size: self.eval_fraction,
                eval_steps: self.eval_every,
                logging_steps: self.logging_steps,
                save_steps: self.save_steps,
                extra: self.extra.clone(),
            }),
            TrainerKind::Cmd => TrainerSpec::Cmd {
                template: self.command.clone().ok_or(Missing::Command)?,
                model: self.model.clone(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_builder_for_every_trainer() {
        let s = Settings {
            base: Some("b.gguf".into()),
            ..Settings::default()
        };
        let TrainerSpec::Builtin { base, config, .. } = s.spec().unwrap() else {
            panic!("builtin expected");
        };
        assert_eq!(base, PathBuf::from("b.gguf"));
        assert_eq!((config.eval_every, config.max_seq_len), (10, 512));
        assert_eq!(config.lora.targets, vec!["q_proj", "v_proj"]);
        let lf = Settings {
            trainer: TrainerKind::Llamafactory,
            ..Settings::default()
        };
        assert_eq!(lf.spec().unwrap_err(), Missing::Model);
        let cmd = Settings {
            trainer: TrainerKind::Cmd,
            ..Settings::default()
        };
        assert_eq!(cmd.spec().unwrap_err(), Missing::Command);
    }
}
