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
use crate::text::sanitize::sanitize_line;
use crate::train::external::bundle;
use crate::train::external::{
    BundleSpec, DeepSpeed, TrainerSpec, launch::execute, spawn_supervisor,
};
use crate::train::runs::{self, StartRequest};
use crate::train::settings::{Missing, Settings, TrainerKind, defaults};
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

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
    #[arg(long, default_value = defaults::TEMPLATE)]
    pub template: String,
    /// The LLaMA-Factory executable.
    #[arg(long, default_value = defaults::PROGRAM)]
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
    #[arg(long, default_value_t = defaults::RANK)]
    pub rank: usize,
    #[arg(long, default_value_t = defaults::ALPHA)]
    pub alpha: f64,
    #[arg(long, default_value_t = defaults::DROPOUT)]
    pub dropout: f32,
    /// Projections to adapt, comma separated (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj).
    #[arg(long, value_delimiter = ',', default_value = defaults::TARGETS)]
    pub targets: Vec<String>,
    #[arg(long, default_value_t = defaults::LR)]
    pub lr: f64,
    /// Share of the steps the learning rate warms up over, then cosine decay.
    #[arg(long, default_value_t = defaults::WARMUP_RATIO)]
    pub warmup_ratio: f64,
    #[arg(long, default_value_t = defaults::EPOCHS)]
    pub epochs: f64,
    /// Optimiser steps (0: use --epochs).
    #[arg(long, default_value_t = defaults::MAX_STEPS)]
    pub max_steps: usize,
    #[arg(long, default_value_t = defaults::BATCH_SIZE)]
    pub batch_size: usize,
    #[arg(long, default_value_t = defaults::GRAD_ACCUM)]
    pub grad_accum: usize,
    #[arg(long, default_value_t = defaults::MAX_SEQ_LEN)]
    pub max_seq_len: usize,
    #[arg(long, default_value_t = defaults::EVAL_FRACTION)]
    pub eval_fraction: f64,
    #[arg(long, default_value_t = defaults::EVAL_EVERY)]
    pub eval_every: usize,
    /// External trainers: log every N steps.
    #[arg(long, default_value_t = defaults::LOGGING_STEPS)]
    pub logging_steps: usize,
    /// External trainers: checkpoint every N steps.
    #[arg(long, default_value_t = defaults::SAVE_STEPS)]
    pub save_steps: usize,
    #[arg(long, default_value_t = defaults::SEED)]
    pub seed: u64,
    /// Built-in trainer: continue from the latest checkpoint in --out.
    #[arg(long)]
    pub resume: bool,
    /// Built-in trainer: write a checkpoint every N optimiser steps (0: only when stopped), so
    /// that a killed run can `--resume` from it.
    #[arg(long, default_value_t = defaults::CHECKPOINT_EVERY)]
    pub checkpoint_every: usize,
    /// Start the run in the background, print its id and return.
    #[arg(long)]
    pub detach: bool,
    /// Seconds a stopping trainer gets after SIGINT before SIGTERM (and again before SIGKILL).
    #[arg(long, default_value_t = defaults::STOP_GRACE_S)]
    pub stop_grace: f64,
    /// Train although the audit is incomplete; the reason is recorded as a waiver.
    #[arg(long, value_name = "REASON")]
    pub force: Option<String>,
    /// Write a self-contained bundle into DIR (a new or empty folder) to launch on other
    /// machines (torchrun, Slurm, SkyPilot) instead of training here; LLaMA-Factory only. The
    /// run is recorded as external; `assay runs attach` follows it.
    #[arg(
        long,
        value_name = "DIR",
        help_heading = "Bundle",
        conflicts_with_all = ["out", "detach", "resume"]
    )]
    pub bundle: Option<PathBuf>,
    /// Nodes the bundle is made for (Slurm --nodes, SkyPilot num_nodes, launch.sh's NNODES).
    #[arg(
        long,
        default_value_t = 1,
        help_heading = "Bundle",
        requires = "bundle"
    )]
    pub nodes: usize,
    /// GPUs per node (one trainer process each).
    #[arg(
        long,
        default_value_t = 1,
        help_heading = "Bundle",
        requires = "bundle"
    )]
    pub gpus_per_node: usize,
    /// SkyPilot's accelerator name (A100, H100, L4...).
    #[arg(
        long,
        default_value = "A100",
        help_heading = "Bundle",
        requires = "bundle"
    )]
    pub accelerator: String,
    /// The DeepSpeed configuration train.yaml names (both are in every bundle). Default none:
    /// plain data-parallel torchrun, which needs no DeepSpeed on the nodes; zero3 shards the
    /// base weights too, for a model that does not fit one GPU.
    #[arg(
        long,
        value_enum,
        default_value = "none",
        help_heading = "Bundle",
        requires = "bundle"
    )]
    pub deepspeed: DeepSpeed,
    /// The Slurm / SkyPilot job name (default: assay-run-ID).
    #[arg(long, help_heading = "Bundle", requires = "bundle")]
    pub job_name: Option<String>,
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

/// The settings the flags give, but for `--set` (parsed by [`spec`]).
impl From<&Args> for Settings {
    fn from(a: &Args) -> Settings {
        Settings {
            trainer: a.trainer,
            base: a.base.clone(),
            model: a.model.clone(),
            template: a.template.clone(),
            program: a.program.clone(),
            command: a.command.clone(),
            extra: BTreeMap::new(),
            rank: a.rank,
            alpha: a.alpha,
            dropout: a.dropout,
            targets: a.targets.clone(),
            lr: a.lr,
            warmup_ratio: a.warmup_ratio,
            epochs: a.epochs,
            max_steps: a.max_steps,
            batch_size: a.batch_size,
            grad_accum: a.grad_accum,
            max_seq_len: a.max_seq_len,
            eval_fraction: a.eval_fraction,
            eval_every: a.eval_every,
            logging_steps: a.logging_steps,
            save_steps: a.save_steps,
            seed: a.seed,
            resume: a.resume,
            checkpoint_every: a.checkpoint_every,
        }
    }
}

/// Says what a bundle holds and how to launch it; its run id goes to stdout.
fn bundled(store: &Store, id: i64) -> anyhow::Result<()> {
    let run = store.run(id)?;
    let dir = sanitize_line(&run.out_dir).into_owned();
    eprintln!(
        "run {id}: {} samples, written as a bundle in {dir} (status external: nothing runs \
         here)",
        run.samples
    );
    eprintln!("  {}", bundle::FILES.join(", "));
    eprintln!(
        "  launch it there: `bash launch.sh` (one node), `sbatch train.sbatch` (Slurm), `sky \
         launch sky.yaml` (SkyPilot); {dir}/README.md says more"
    );
    eprintln!("  follow it from here: `assay runs attach {id} ssh://HOST{dir}/`");
    if let Some(model) = run.config["spec"]["model_name_or_path"].as_str()
        && std::path::Path::new(model).exists()
    {
        eprintln!(
            "  note: the model {} is a local path; it must exist at that path on every node",
            sanitize_line(model)
        );
    }
    super::output::line(format!("{id}"))?;
    Ok(())
}

fn spec(args: &Args) -> anyhow::Result<TrainerSpec> {
    let mut settings = Settings::from(args);
    // `--set` means something to LLaMA-Factory only, and a missing --model is reported first.
    if args.trainer == TrainerKind::Llamafactory && args.model.is_some() {
        settings.extra = extra_keys(&args.set)?;
    }
    settings.spec().map_err(|m| match m {
        Missing::Model => anyhow::anyhow!(
            "--trainer llamafactory needs --model (a Hugging Face id or a local folder)"
        ),
        Missing::Command => anyhow::anyhow!(
            "--trainer cmd needs --cmd 'python train.py --data {{data}} --out {{output_dir}}'"
        ),
    })
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    if args.bundle.is_some() && args.trainer != TrainerKind::Llamafactory {
        anyhow::bail!(
            "--bundle writes a LLaMA-Factory run: add --trainer llamafactory --model HF-ID"
        );
    }
    let spec = spec(&args)?;
    let db = std::path::absolute(&global.db)
        .with_context(|| format!("{}: cannot make the path absolute", global.db.display()))?;
    let mut store = Store::open(&db)?;
    let req = StartRequest {
        dataset: args.dataset.clone(),
        spec,
        out: args.out.clone(),
        stop_grace_s: args.stop_grace,
        force: args.force.clone(),
        reviewer: global.reviewer.clone(),
    };
    let builtin = matches!(req.spec, TrainerSpec::Builtin { .. });
    let admitted = runs::admit(&mut store, &req)?;
    for line in &admitted.audit {
        eprintln!("{line}");
    }
    if let Some(dir) = &args.bundle {
        let bundle = BundleSpec {
            dir: dir.clone(),
            nodes: args.nodes,
            gpus_per_node: args.gpus_per_node,
            accelerator: args.accelerator.clone(),
            deepspeed: args.deepspeed,
            job_name: args.job_name.clone().unwrap_or_default(),
        };
        let id = runs::create_bundle(&mut store, req, admitted, bundle)?;
        return bundled(&store, id);
    }
    let id = runs::create(&mut store, req, admitted)?;
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
            // A closed stdout does not stop the run: every point is also in the database.
            let _ = super::output::line(format!(
                "{}",
                serde_json::json!({
                    "step": p.step, "total_steps": p.total_steps, "loss": p.loss,
                    "eval_loss": p.eval_loss, "lr": p.lr, "tokens_per_s": p.tokens_per_s,
                })
            ));
        })?;
        eprintln!("run {id} {status}: adapter in {out_dir}");
        return Ok(());
    }
    let exe = std::env::current_exe().context("cannot find the assay executable")?;
    let mut child = spawn_supervisor(&exe, &db, id)?;
    if args.detach {
        super::output::line(format!("{id}"))?;
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
