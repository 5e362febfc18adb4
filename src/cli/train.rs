//! `assay train`: LoRA fine-tuning on the accepted samples of an audited dataset, recorded as a
//! run (`assay runs`). Trainers: the built-in candle one (runs in the foreground unless
//! `--detach`), LLaMA-Factory (`llamafactory-cli train <yaml>`), or any command template for
//! TRL / Unsloth / xtuner scripts. External trainers run under a detached supervisor, so the run
//! goes on if this command (or the terminal) goes away; this command follows it meanwhile.
//!
//! The built-in trainer's base is a GGUF (the offline model by default) or a Hugging Face
//! folder; its adapter is written in PEFT's layout.

use super::GlobalArgs;
use crate::store::{RunStatus, Store};
use crate::train::external::{
    LlamaFactorySpec, NewRunRequest, TrainerSpec, create_run, launch::execute, spawn_supervisor,
};
use crate::train::{LoraConfig, TrainConfig};
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrainerKind {
    /// The candle LoRA trainer built into assay.
    Builtin,
    /// LLaMA-Factory's `llamafactory-cli train`.
    Llamafactory,
    /// A command template (--cmd).
    Cmd,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The dataset to train on (its accepted samples; the audit gate applies).
    #[arg(long)]
    pub dataset: String,
    #[arg(long, value_enum, default_value = "builtin")]
    pub trainer: TrainerKind,
    /// Built-in trainer's base: a GGUF file or a Hugging Face folder (default: the offline model).
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// External trainers' model: a Hugging Face id or folder (LLaMA-Factory's
    /// model_name_or_path; {model} in --cmd).
    #[arg(long)]
    pub model: Option<String>,
    /// LLaMA-Factory chat template name (qwen, llama3, ...).
    #[arg(long, default_value = "default")]
    pub template: String,
    /// The LLaMA-Factory executable.
    #[arg(long, default_value = "llamafactory-cli")]
    pub program: String,
    /// Command template for --trainer cmd, split like a shell would but run without one:
    /// 'python train.py --data {data} --out {output_dir}'. Placeholders: {data} (a Hugging Face
    /// dataset folder), {data_file}, {output_dir}, {model}, {run_id}.
    #[arg(long = "cmd", value_name = "TEMPLATE")]
    pub command: Option<String>,
    /// More LLaMA-Factory YAML keys, KEY=VALUE (VALUE read as JSON, else as text); repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Where data, logs, checkpoints and the adapter go (default: runs/run-ID beside the database).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value_t = 8)]
    pub rank: usize,
    #[arg(long, default_value_t = 16.0)]
    pub alpha: f64,
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f32,
    /// Projections to adapt, comma separated (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj).
    #[arg(long, value_delimiter = ',', default_value = "q_proj,v_proj")]
    pub targets: Vec<String>,
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f64,
    #[arg(long, default_value_t = 3.0)]
    pub epochs: f64,
    /// Optimiser steps (0: use --epochs).
    #[arg(long, default_value_t = 0)]
    pub max_steps: usize,
    #[arg(long, default_value_t = 4)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 1)]
    pub grad_accum: usize,
    #[arg(long, default_value_t = 512)]
    pub max_seq_len: usize,
    #[arg(long, default_value_t = 0.1)]
    pub eval_fraction: f64,
    #[arg(long, default_value_t = 10)]
    pub eval_every: usize,
    /// External trainers: log every N steps.
    #[arg(long, default_value_t = 5)]
    pub logging_steps: usize,
    /// External trainers: checkpoint every N steps.
    #[arg(long, default_value_t = 500)]
    pub save_steps: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Built-in trainer: continue from the latest checkpoint in --out.
    #[arg(long)]
    pub resume: bool,
    /// Built-in trainer: write a checkpoint every N optimiser steps (0: only when stopped), so
    /// that a killed run can `--resume` from it.
    #[arg(long, default_value_t = 0)]
    pub checkpoint_every: usize,
    /// Start the run in the background, print its id and return.
    #[arg(long)]
    pub detach: bool,
    /// Seconds a stopping trainer gets after SIGINT before SIGTERM (and again before SIGKILL).
    #[arg(long, default_value_t = 30.0)]
    pub stop_grace: f64,
    /// Train although the audit is incomplete; the reason is recorded as a waiver.
    #[arg(long, value_name = "REASON")]
    pub force: Option<String>,
}

fn extra_keys(set: &[String]) -> anyhow::Result<BTreeMap<String, serde_json::Value>> {
    set.iter()
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .with_context(|| format!("--set {kv:?}: write KEY=VALUE"))?;
            let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::json!(v));
            Ok((k.trim().to_string(), value))
        })
        .collect()
}

fn spec(args: &Args) -> anyhow::Result<TrainerSpec> {
    let lora = LoraConfig {
        rank: args.rank,
        alpha: args.alpha,
        dropout: args.dropout,
        targets: args.targets.clone(),
    };
    Ok(match args.trainer {
        TrainerKind::Builtin => TrainerSpec::Builtin {
            base: args
                .base
                .clone()
                .unwrap_or_else(crate::llm::local::LocalModel::default_path),
            config: TrainConfig {
                lora,
                learning_rate: args.lr,
                epochs: args.epochs,
                max_steps: args.max_steps,
                batch_size: args.batch_size,
                grad_accum: args.grad_accum,
                max_seq_len: args.max_seq_len,
                eval_fraction: args.eval_fraction,
                eval_every: args.eval_every,
                seed: args.seed,
                checkpoint_every: args.checkpoint_every,
                ..TrainConfig::default()
            },
            resume: args.resume,
        },
        TrainerKind::Llamafactory => TrainerSpec::Llamafactory(LlamaFactorySpec {
            program: args.program.clone(),
            model_name_or_path: args.model.clone().context(
                "--trainer llamafactory needs --model (a Hugging Face id or a local folder)",
            )?,
            template: args.template.clone(),
            lora,
            learning_rate: args.lr,
            num_train_epochs: args.epochs,
            max_steps: args.max_steps,
            per_device_train_batch_size: args.batch_size,
            gradient_accumulation_steps: args.grad_accum,
            cutoff_len: args.max_seq_len,
            val_size: args.eval_fraction,
            eval_steps: args.eval_every,
            logging_steps: args.logging_steps,
            save_steps: args.save_steps,
            extra: extra_keys(&args.set)?,
        }),
        TrainerKind::Cmd => TrainerSpec::Cmd {
            template: args.command.clone().context(
                "--trainer cmd needs --cmd 'python train.py --data {data} --out {output_dir}'",
            )?,
            model: args.model.clone(),
        },
    })
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let spec = spec(&args)?;
    let db = std::path::absolute(&global.db)
        .with_context(|| format!("{}: cannot make the path absolute", global.db.display()))?;
    let mut store = Store::open(&db)?;
    let dataset = store.require_dataset(&args.dataset)?;
    let audit = crate::audit::require_audits(
        &mut store,
        &[dataset],
        args.force.as_deref(),
        &global.reviewer,
    )?;
    for line in &audit.lines {
        eprintln!("{line}");
    }
    let builtin = matches!(spec, TrainerSpec::Builtin { .. });
    let id = create_run(
        &mut store,
        NewRunRequest {
            dataset_id: dataset,
            dataset: args.dataset.clone(),
            spec,
            out: args.out.clone(),
            audit: audit.lines,
            stop_grace_s: args.stop_grace,
        },
    )?;
    let out_dir = store.run(id)?.out_dir;
    eprintln!(
        "run {id}: {} samples, output in {out_dir}",
        store.run(id)?.samples
    );

    let stop = Arc::new(AtomicBool::new(false));
    // Ctrl-C stops the run (at the next step for the built-in trainer, which keeps a
    // checkpoint; `--resume` continues from it).
    super::runs::ctrlc_flag(stop.clone())?;
    if builtin && !args.detach {
        let status = execute(&mut store, id, &stop, &mut |p| {
            println!(
                "{}",
                serde_json::json!({
                    "step": p.step, "total_steps": p.total_steps, "loss": p.loss,
                    "eval_loss": p.eval_loss, "lr": p.lr, "tokens_per_s": p.tokens_per_s,
                })
            );
        })?;
        eprintln!("run {id} {status}: adapter in {out_dir}");
        return Ok(());
    }
    let exe = std::env::current_exe().context("cannot find the assay executable")?;
    let mut child = spawn_supervisor(&exe, &db, id)?;
    if args.detach {
        println!("{id}");
        eprintln!(
            "run {id} goes on in the background: `assay runs show {id}`, `assay runs stop {id}`"
        );
        return Ok(());
    }
    let status = super::runs::follow(&mut store, id, &stop)?;
    // The supervisor has recorded the end; reap it so it does not linger as a zombie.
    let _ = child.wait();
    match status {
        RunStatus::Completed | RunStatus::Stopped => {
            eprintln!("run {id} {status}: output in {out_dir}");
            Ok(())
        }
        other => {
            let run = store.run(id)?;
            anyhow::bail!(
                "run {id} {other}: {}\n{}",
                run.message.as_deref().unwrap_or(""),
                super::runs::safe_lines(&run.log_tail)
            )
        }
    }
}
