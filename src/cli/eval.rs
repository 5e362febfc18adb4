//! `assay eval`: a base model, alone or with a LoRA adapter, answers held-out items greedily;
//! prints accuracy with a 95% Clopper-Pearson interval per sample kind (base and base+adapter
//! side by side with `--compare-base`) and stores wrong answers as samples tagged for review.
//!
//! Items come from a dataset (with filters) or from the held-out split a training run recorded
//! (`--split-of OUT`). Ctrl-C stops between tokens and reports what was scored.

use super::GlobalArgs;
use crate::eval::failures::RunInfo;
use crate::eval::items::{EvalItem, item_from};
use crate::eval::model;
use crate::eval::report::{FailureSummary, Report};
use crate::eval::run::{Contender, Plan};
use crate::model::{ReviewStatus, SampleKind};
use crate::store::{Filter, Store, StoreError};
use crate::train::split;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The PEFT adapter folder `assay train` wrote; without it the base alone is scored.
    #[arg(long)]
    pub adapter: Option<PathBuf>,
    /// Base model: a GGUF file or a Hugging Face folder (default: the base the adapter or the
    /// split names, if it exists here, else the offline model).
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Score the samples of this dataset that have a golden answer or an option key.
    #[arg(long, required_unless_present = "split_of")]
    pub dataset: Option<String>,
    /// Score the held-out split of the training run that wrote this folder (also the default
    /// --adapter).
    #[arg(long, conflicts_with = "dataset", value_name = "TRAIN_OUT")]
    pub split_of: Option<PathBuf>,
    /// Only these kinds (qa, cot, conversation, multiple_choice); with --dataset.
    #[arg(long)]
    pub kind: Vec<String>,
    /// Only samples with one of these tags; with --dataset.
    #[arg(long)]
    pub tag: Vec<String>,
    /// Only these review statuses (unreviewed, accepted, rejected, flagged); with --dataset.
    #[arg(long)]
    pub status: Vec<String>,
    /// Only these aspects; with --dataset.
    #[arg(long)]
    pub aspect: Vec<String>,
    /// Score at most N items (the first N by sample id, or in split order).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Longest answer, in tokens.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Also score the base without the adapter, side by side.
    #[arg(long)]
    pub compare_base: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Dataset the failures go to (default: `<dataset>-eval-failures`).
    #[arg(long)]
    pub failures: Option<String>,
    /// What runs the model: `q8` is the offline model's Q8_0 engine (GGUF bases, CPU),
    /// `candle` candle-transformers' llama in f32; `auto` picks q8 where it can.
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: model::EngineKind,
    /// Do not store failures.
    #[arg(long, conflicts_with = "failures")]
    pub no_failures: bool,
}

fn parse_list<T>(
    values: &[String],
    what: &str,
    parse: fn(&str) -> Option<T>,
) -> anyhow::Result<Vec<T>> {
    values
        .iter()
        .map(|v| parse(v).with_context(|| format!("unknown {what} {v:?}")))
        .collect()
}

/// The items and where they came from; skipped samples counted by reason.
struct Selection {
    items: Vec<EvalItem>,
    skipped: BTreeMap<String, u64>,
    source: String,
    dataset: String,
    base: Option<PathBuf>,
}

fn select(store: &Store, args: &Args) -> anyhow::Result<Selection> {
    let mut items = Vec::new();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    let limit = args.limit.unwrap_or(usize::MAX);
    let take = |s: &crate::store::SampleRecord,
                items: &mut Vec<EvalItem>,
                skipped: &mut BTreeMap<String, u64>| match item_from(s) {
        Ok(it) if items.len() < limit => items.push(it),
        Ok(_) => {}
        Err(why) => *skipped.entry(why.to_string()).or_default() += 1,
    };
    if let Some(dir) = &args.split_of {
        anyhow::ensure!(
            args.kind.is_empty()
                && args.tag.is_empty()
                && args.status.is_empty()
                && args.aspect.is_empty(),
            "--kind, --tag, --status and --aspect filter a --dataset; --split-of scores the run's whole held-out split"
        );
        let m = split::read(dir)?;
        anyhow::ensure!(
            !m.eval_sample_ids.is_empty(),
            "{}: the run held out no samples (eval fraction {}); evaluate with --dataset instead",
            dir.join(split::MANIFEST).display(),
            m.eval_fraction
        );
        for id in &m.eval_sample_ids {
            match store.sample(*id) {
                Ok(s) => take(&s, &mut items, &mut skipped),
                Err(StoreError::NotFound { .. }) => {
                    *skipped
                        .entry("sample no longer in the database".into())
                        .or_default() += 1
                }
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(Selection {
            source: format!(
                "the held-out split of {} ({} of dataset {})",
                dir.display(),
                m.eval_sample_ids.len(),
                m.dataset
            ),
            items,
            skipped,
            dataset: m.dataset,
            base: Some(PathBuf::from(m.base)).filter(|p| p.exists()),
        });
    }
    let name = args.dataset.clone().unwrap_or_default();
    let filter = Filter {
        kinds: parse_list(&args.kind, "kind", SampleKind::parse)?,
        statuses: parse_list(&args.status, "status", ReviewStatus::parse)?,
        tags: args.tag.clone(),
        aspects: args.aspect.clone(),
        ..Filter::dataset(store.require_dataset(&name)?)
    };
    store.for_each_sample(&filter, |s| {
        take(&s, &mut items, &mut skipped);
        Ok(())
    })?;
    let mut source = format!("dataset {name}");
    for (what, v) in [
        ("kind", &args.kind),
        ("tag", &args.tag),
        ("status", &args.status),
        ("aspect", &args.aspect),
    ] {
        if !v.is_empty() {
            source.push_str(&format!(", {what} {}", v.join("/")));
        }
    }
    Ok(Selection {
        items,
        skipped,
        source,
        dataset: name,
        base: None,
    })
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let mut store = Store::open(&global.db)?;
    let sel = select(&store, &args)?;
    let adapter = args.adapter.clone().or_else(|| args.split_of.clone());
    anyhow::ensure!(
        !args.compare_base || adapter.is_some(),
        "--compare-base needs an adapter to compare with (--adapter DIR)"
    );
    let base_path = match (&args.base, &adapter) {
        (Some(b), _) => b.clone(),
        (None, Some(a)) => model::adapter_base(a)?
            .or(sel.base.clone())
            .unwrap_or_else(crate::llm::local::LocalModel::default_path),
        (None, None) => crate::llm::local::LocalModel::default_path(),
    };
    let failures_name = match (&args.failures, args.no_failures) {
        (_, true) => None,
        (Some(f), false) => Some(f.clone()),
        (None, false) => Some(format!("{}-eval-failures", sel.dataset)),
    };
    if let Some(f) = &failures_name {
        anyhow::ensure!(
            *f != sel.dataset,
            "failures cannot go into the dataset being evaluated ({f}); name another with --failures"
        );
    }
    if sel.items.is_empty() {
        anyhow::bail!(
            "no item to score in {}: items need a question and a golden answer or option key \
             (skipped: {:?})",
            sel.source,
            sel.skipped
        );
    }

    let device = model::device();
    let (base, tokenizer) = model::load_base(&base_path, &device)?;
    let mut contenders = Vec::new();
    if adapter.is_none() || args.compare_base {
        contenders.push(Contender {
            name: "base".into(),
            model: model::base_model(&base, args.engine)?,
        });
    }
    if let Some(a) = &adapter {
        contenders.push(Contender {
            name: "base+adapter".into(),
            model: model::adapted_model(&base, a, args.engine)?,
        });
    }
    drop(base);
    let failures_to = match &failures_name {
        Some(f) => Some(store.ensure_dataset(f)?),
        None => None,
    };
    let run_info = RunInfo {
        model: contenders
            .last()
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        base: base_path.display().to_string(),
        adapter: adapter.as_ref().map(|a| a.display().to_string()),
        source: sel.source.clone(),
    };
    let mut report = Report {
        source: sel.source.clone(),
        adapter: run_info.adapter.clone(),
        base: run_info.base.clone(),
        items: sel.items.len() as u64,
        skipped: sel.skipped.clone(),
        failures: FailureSummary {
            dataset: failures_name,
            ..FailureSummary::default()
        },
        ..Report::default()
    };
    let plan = Plan {
        tokenizer: tokenizer.as_ref(),
        contenders,
        max_tokens: args.max_tokens,
        failures_to,
        run: run_info,
    };
    let stop = Arc::new(AtomicBool::new(false));
    super::runs::ctrlc_flag(stop.clone())?;
    let bar = super::generate::progress_bar("eval");
    bar.set_length(sel.items.len() as u64);
    let result = crate::eval::run::run(
        &mut store,
        &sel.items,
        plan,
        &mut report,
        &stop,
        &mut |done| bar.set_position(done as u64),
    );
    bar.finish_and_clear();
    result?;
    if args.json {
        super::output::json(&report)?;
    } else {
        super::output::line(report.text().trim_end_matches('\n'))?;
    }
    if report.stopped {
        eprintln!(
            "stopped by Ctrl-C: {} of {} items scored; the report covers those",
            report.scored, report.items
        );
    }
    Ok(())
}
