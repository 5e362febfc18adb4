//! A run of the built-in candle trainer as a recorded run: the base model and its tokenizer,
//! the run's snapshot (the exact revisions) as examples, every step stored as a point, a stop
//! asked through the store obeyed at the next step, and the outcome recorded.

use super::data::{TextTokenizer, encode_chatml};
use super::trainer::{Outcome, Point, TrainConfig, Trainer};
use super::{BaseWeights, LoraLlama};
use crate::store::{RunPoint, RunStatus, Store};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Base weights and the tokenizer that goes with them: a GGUF (its own tokenizer) or a Hugging
/// Face folder (`config.json`, `*.safetensors`, `tokenizer.json`); the llama runtime's loader.
pub fn load_base(
    path: &Path,
    device: &candle_core::Device,
) -> anyhow::Result<(BaseWeights, Box<dyn TextTokenizer>)> {
    Ok(crate::llama::load_base(path, device)?)
}

pub fn run_point(p: &Point, elapsed_s: f64) -> RunPoint {
    RunPoint {
        step: p.step as u64,
        total_steps: Some(p.total_steps as u64),
        epoch: None,
        loss: Some(f64::from(p.loss)),
        eval_loss: p.eval_loss.map(f64::from),
        lr: Some(p.lr),
        tokens_per_s: Some(p.tokens_per_s),
        grad_norm: Some(p.grad_norm),
        elapsed_s,
    }
}

/// Trains run `run_id` (already marked running) and records its points and end.
#[allow(clippy::too_many_arguments)]
pub fn run_recorded(
    store: &mut Store,
    run_id: i64,
    base_path: &Path,
    config: &TrainConfig,
    resume: bool,
    out: &Path,
    stop: &Arc<AtomicBool>,
    echo: &mut dyn FnMut(&Point),
) -> anyhow::Result<RunStatus> {
    let device = super::device::from_env()?;
    let (base, tokenizer) = load_base(base_path, &device)?;
    let mut examples = Vec::new();
    // The samples behind the examples, for the held-out split `assay eval --split-of` reads.
    let mut example_ids = Vec::new();
    let mut skipped = 0;
    store.for_each_run_sample(run_id, |s| {
        match encode_chatml(tokenizer.as_ref(), &s.head.content, config.max_seq_len)? {
            Some(e) => {
                if e.ids.len() >= 2 {
                    example_ids.push(s.id);
                }
                examples.push(e);
            }
            None => skipped += 1,
        }
        Ok(())
    })?;
    anyhow::ensure!(
        !examples.is_empty(),
        "run {run_id}: none of its {skipped} samples has an assistant turn to train on"
    );
    let model = LoraLlama::new(&base, config.lora.clone(), config.seed)?;
    let mut trainer = Trainer::new(model, config.clone(), examples)?;
    let note = start_line(&trainer, skipped, base_path, &device);
    store.add_run_points(run_id, &[], Some(std::slice::from_ref(&note)))?;
    let dataset = store.run(run_id)?.dataset.unwrap_or_default();
    super::split::record_ids(&dataset, base_path, &trainer.config, out, &example_ids)?;
    let mut log = vec![note];
    if resume && let Some(dir) = Trainer::latest_checkpoint(out) {
        trainer.resume_from(&dir)?;
        let line = format!("resumed from {} at step {}", dir.display(), trainer.step);
        // On the terminal too: whoever ran `assay train --resume` wants to see where it went on.
        eprintln!("run {run_id}: {line}");
        log.push(line);
    }
    let start = Instant::now();
    let mut store_err: Option<anyhow::Error> = None;
    // The adapter names its base as PEFT resolves it: an absolute folder (or file) path, so
    // that `AutoPeftModelForCausalLM` finds it from any working directory.
    let base_name = std::fs::canonicalize(base_path)
        .unwrap_or_else(|_| base_path.to_path_buf())
        .display()
        .to_string();
    let outcome = trainer.run(out, &base_name, stop, &mut |p| {
        echo(p);
        if store_err.is_some() {
            return;
        }
        let line = format!(
            "step {}/{} loss {:.4}{} lr {:.2e} {:.0} tok/s",
            p.step,
            p.total_steps,
            p.loss,
            p.eval_loss
                .map(|e| format!(" eval {e:.4}"))
                .unwrap_or_default(),
            p.lr,
            p.tokens_per_s
        );
        push_tail(&mut log, line);
        let point = run_point(p, start.elapsed().as_secs_f64());
        let res = store
            .add_run_points(run_id, &[point], Some(&log))
            .and_then(|()| store.run_stop_requested(run_id));
        match res {
            Ok(true) => stop.store(true, Ordering::Relaxed),
            Ok(false) => {}
            Err(e) => {
                // Training without recording would leave a run that says nothing: stop.
                store_err = Some(e.into());
                stop.store(true, Ordering::Relaxed);
            }
        }
    })?;
    if let Some(e) = store_err {
        return Err(e.context(format!("run {run_id}: recording its points failed")));
    }
    let (status, end) = match outcome {
        Outcome::Finished => (
            RunStatus::Completed,
            format!(
                "finished {} steps; the adapter is in {} (adapter_model.safetensors, \
                 adapter_config.json: load it with PEFT, or `assay merge`)",
                trainer.step,
                out.display()
            ),
        ),
        Outcome::Stopped => (
            RunStatus::Stopped,
            format!(
                "stopped at step {}; a checkpoint is kept in {} (train again with --resume)",
                trainer.step,
                Trainer::latest_checkpoint(out)
                    .unwrap_or_else(|| out.to_path_buf())
                    .display()
            ),
        ),
    };
    push_tail(&mut log, end.clone());
    store.set_run_artifacts(run_id, &[out.display().to_string()])?;
    let message = (status == RunStatus::Stopped).then_some(end.as_str());
    store.finish_run(run_id, status, None, message, &log)?;
    Ok(status)
}

/// Appends to the log tail, keeping its last `TAIL_LINES` lines as the supervisor does.
fn push_tail(log: &mut Vec<String>, line: String) {
    if log.len() >= super::external::supervise::TAIL_LINES {
        log.remove(0);
    }
    log.push(line);
}

/// The first line of a run's log: what it trains on, how long, from which base.
fn start_line(
    trainer: &Trainer,
    skipped: usize,
    base: &Path,
    device: &candle_core::Device,
) -> String {
    let c = &trainer.config;
    format!(
        "training on {} samples, {} held out for the eval loss ({skipped} without an assistant \
         turn skipped); {} steps (batch {} x accumulation {}), warm-up {} steps; base {}, on {}",
        trainer.train_len(),
        trainer.eval_len(),
        trainer.total_steps,
        c.batch_size,
        c.grad_accum,
        c.warmup_for(trainer.total_steps),
        base.display(),
        super::device::label(device)
    )
}
