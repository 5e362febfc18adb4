//! `assay train`: LoRA fine-tuning of a llama-architecture model on the accepted samples of an
//! audited dataset, with the built-in candle trainer; the loss is printed as it falls.
//!
//! The base is a GGUF (the offline model by default; its own tokenizer is used) or a Hugging
//! Face folder (`config.json`, `*.safetensors`, `tokenizer.json`). The adapter is written in
//! PEFT's layout, so LLaMA-Factory, PEFT and vLLM load it.

use super::GlobalArgs;
use crate::model::ReviewStatus;
use crate::store::{Filter, Store};
use crate::train::data::{TextTokenizer, encode_chatml};
use crate::train::{LoraConfig, LoraLlama, TrainConfig, Trainer};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The dataset to train on (its accepted samples; the audit gate applies).
    #[arg(long)]
    pub dataset: String,
    /// Base model: a GGUF file or a Hugging Face folder (default: the offline model).
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Where the adapter and checkpoints go.
    #[arg(long, default_value = "lora-out")]
    pub out: PathBuf,
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
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Continue from the latest checkpoint in --out.
    #[arg(long)]
    pub resume: bool,
    /// Train although the audit is incomplete; the reason is recorded as a waiver.
    #[arg(long, value_name = "REASON")]
    pub force: Option<String>,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let mut store = Store::open(&global.db)?;
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
    let base_path = args
        .base
        .clone()
        .unwrap_or_else(crate::llm::local::LocalModel::default_path);
    let device = candle_core::Device::Cpu;
    let (base, tokenizer) = load_base(&base_path, &device)?;

    let filter = Filter {
        statuses: vec![ReviewStatus::Accepted],
        ..Filter::dataset(dataset)
    };
    let mut examples = Vec::new();
    let mut skipped = 0;
    store.for_each_sample(&filter, |s| {
        match encode_chatml(tokenizer.as_ref(), &s.head.content, args.max_seq_len)? {
            Some(e) => examples.push(e),
            None => skipped += 1,
        }
        Ok(())
    })?;
    anyhow::ensure!(
        !examples.is_empty(),
        "dataset {} has no accepted sample with an assistant turn to train on: accept some in \
         `assay` first",
        args.dataset
    );
    eprintln!(
        "training on {} samples of {} ({} without an assistant turn skipped), base {}",
        examples.len(),
        args.dataset,
        skipped,
        base_path.display()
    );

    let config = TrainConfig {
        lora: LoraConfig {
            rank: args.rank,
            alpha: args.alpha,
            dropout: args.dropout,
            targets: args.targets.clone(),
        },
        learning_rate: args.lr,
        epochs: args.epochs,
        max_steps: args.max_steps,
        batch_size: args.batch_size,
        grad_accum: args.grad_accum,
        max_seq_len: args.max_seq_len,
        eval_fraction: args.eval_fraction,
        eval_every: args.eval_every,
        seed: args.seed,
        ..TrainConfig::default()
    };
    let model = LoraLlama::new(&base, config.lora.clone(), args.seed)?;
    let mut trainer = Trainer::new(model, config, examples)?;
    // The held-out split, recorded for `assay eval --split-of OUT`.
    crate::eval::split::record(
        &store,
        &args.dataset,
        &base_path,
        tokenizer.as_ref(),
        &trainer.config,
        &args.out,
    )?;
    if args.resume
        && let Some(dir) = Trainer::latest_checkpoint(&args.out)
    {
        trainer.resume_from(&dir)?;
        eprintln!("resumed from {} at step {}", dir.display(), trainer.step);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C stops at the next step and keeps a checkpoint; `--resume` continues from it.
    let _ = ctrlc_flag(flag);
    let base_name = base_path.display().to_string();
    let outcome = trainer.run(&args.out, &base_name, &stop, &mut |p| {
        println!(
            "{}",
            serde_json::json!({
                "step": p.step, "total_steps": p.total_steps, "loss": p.loss,
                "eval_loss": p.eval_loss, "lr": p.lr, "tokens_per_s": p.tokens_per_s,
            })
        );
    })?;
    eprintln!("{outcome:?}: adapter in {}", args.out.display());
    Ok(())
}

/// Base weights and the tokenizer that goes with them.
fn load_base(
    path: &Path,
    device: &candle_core::Device,
) -> anyhow::Result<(crate::train::BaseWeights, Box<dyn TextTokenizer>)> {
    if path.is_dir() {
        let tok = tokenizers::Tokenizer::from_file(path.join("tokenizer.json"))
            .map_err(|e| anyhow::anyhow!("{}/tokenizer.json: {e}", path.display()))?;
        let base = crate::train::BaseWeights::from_hf_dir(path, device)?;
        return Ok((base, Box::new(tok)));
    }
    anyhow::ensure!(
        path.is_file(),
        "no base model at {}: pass --base PATH or run `assay model fetch`",
        path.display()
    );
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut file)
        .with_context(|| format!("{}: not a GGUF file", path.display()))?;
    let tok = crate::llm::local::tokenizer::GgufTokenizer::from_gguf(&content)
        .with_context(|| format!("{}: reading its tokenizer", path.display()))?;
    let base = crate::train::BaseWeights::from_gguf(path, device)?;
    Ok((base, Box::new(tok)))
}

/// Sets `flag` on Ctrl-C (SIGINT) from a small thread running a signal-only runtime.
fn ctrlc_flag(flag: Arc<AtomicBool>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, Ordering::Relaxed);
            }
        })
    });
    Ok(())
}
