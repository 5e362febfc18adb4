//! What a run is asked to do, as stored in `runs.config`: the trainer and its settings, and for
//! external trainers the exact argument vector the supervisor executes.

use crate::train::{LoraConfig, TrainConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The stored configuration of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub spec: TrainerSpec,
    /// The dataset's name when the run was made.
    pub dataset: String,
    /// What the audit said (or the waiver) when the run was made.
    #[serde(default)]
    pub audit: Vec<String>,
    /// Filled in once the data is written; absent for the built-in trainer.
    #[serde(default)]
    pub launch: Option<Launch>,
    /// For a run written as a bundle to launch elsewhere (`assay train --bundle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<BundleSpec>,
}

/// A self-contained bundle of a LLaMA-Factory run, for machines assay does not run on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleSpec {
    /// The bundle's folder (absolute).
    pub dir: PathBuf,
    pub nodes: usize,
    pub gpus_per_node: usize,
    /// SkyPilot's accelerator name (`A100`, `H100`, `L4`...).
    pub accelerator: String,
    pub deepspeed: DeepSpeed,
    /// The Slurm / SkyPilot job name (letters, digits, `.`, `_`, `-`); empty when asked for
    /// means `assay-run-ID`.
    pub job_name: String,
}

/// Which DeepSpeed configuration `train.yaml` names (both are written into every bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum DeepSpeed {
    /// Plain data-parallel torchrun: no DeepSpeed needed on the nodes.
    None,
    /// ZeRO-2: optimizer state and gradients sharded.
    Zero2,
    /// ZeRO-3: the frozen base weights sharded too, for a model that does not fit one GPU.
    Zero3,
}

impl DeepSpeed {
    /// The config file in the bundle that `train.yaml` names.
    pub fn file(self) -> Option<&'static str> {
        match self {
            DeepSpeed::None => None,
            DeepSpeed::Zero2 => Some("ds_z2.json"),
            DeepSpeed::Zero3 => Some("ds_z3.json"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "trainer", rename_all = "snake_case")]
pub enum TrainerSpec {
    /// The candle LoRA trainer, run inside the supervising process.
    Builtin {
        base: PathBuf,
        config: TrainConfig,
        /// Continue from the newest checkpoint in the output folder.
        #[serde(default)]
        resume: bool,
    },
    Llamafactory(LlamaFactorySpec),
    /// A command template (`python train.py --data {data} --out {output_dir}`).
    Cmd {
        template: String,
        model: Option<String>,
    },
}

impl TrainerSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            TrainerSpec::Builtin { .. } => "builtin",
            TrainerSpec::Llamafactory(_) => "llamafactory",
            TrainerSpec::Cmd { .. } => "cmd",
        }
    }
}

/// Runs recorded before the setting existed were launched with this ratio.
fn default_warmup_ratio() -> f64 {
    crate::train::settings::defaults::WARMUP_RATIO
}

/// LLaMA-Factory SFT with LoRA; field names follow its YAML keys where they exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaFactorySpec {
    /// The executable (`llamafactory-cli`, or a path to it).
    pub program: String,
    pub model_name_or_path: String,
    /// Its chat template name (`qwen`, `llama3`, `default`, ...).
    pub template: String,
    pub lora: LoraConfig,
    pub learning_rate: f64,
    /// Share of the steps the learning rate warms up over.
    #[serde(default = "default_warmup_ratio")]
    pub warmup_ratio: f64,
    pub num_train_epochs: f64,
    /// 0: train for `num_train_epochs`.
    pub max_steps: usize,
    pub per_device_train_batch_size: usize,
    pub gradient_accumulation_steps: usize,
    pub cutoff_len: usize,
    /// Share held out for eval loss (0: none).
    pub val_size: f64,
    pub eval_steps: usize,
    pub logging_steps: usize,
    pub save_steps: usize,
    /// More YAML keys, written as given (`bf16: true`, `deepspeed: ...`).
    #[serde(default)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// How the supervisor starts and follows an external trainer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// A `trainer_log.jsonl` to follow; without one, Hugging Face Trainer lines are read from
    /// the trainer's output.
    pub jsonl_log: Option<PathBuf>,
    /// Where the trainer's stdout and stderr are kept.
    pub log_file: PathBuf,
    pub output_dir: PathBuf,
    /// Seconds between SIGINT and SIGTERM (and between SIGTERM and SIGKILL) when stopping.
    pub stop_grace_s: f64,
}
