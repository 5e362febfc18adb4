//! `assay export`: write samples in a format, or as a LLaMA-Factory / Hugging Face folder.
//!
//! By default only accepted samples go out (`--all` lifts that; `--status` picks others).
//! Streams through the store, so memory stays flat. Samples the format cannot carry are skipped
//! and counted by reason in the summary.

use super::GlobalArgs;
use crate::formats::folders::{HuggingFace, LlamaFactory};
use crate::formats::write::Container;
use crate::formats::{Format, SampleView, SampleWriter, Tags, WriteSummary};
use crate::model::{ReviewStatus, SampleKind, VerdictSummary};
use crate::store::{Filter, Store};
use anyhow::Context;
use std::io::BufWriter;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Alpaca,
    Sharegpt,
    Openai,
    Xtuner,
    Agent,
    CamelGolden,
    CamelExport,
    Choice,
    Pretrain,
    /// A LLaMA-Factory folder: data files + dataset_info.json.
    Llamafactory,
    /// A Hugging Face dataset folder: data/train.jsonl + README.md card.
    Hf,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum)]
    pub format: Target,
    /// A `.json` (array) or `.jsonl` file, or a folder for llamafactory / hf.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub dataset: Option<String>,
    #[arg(long)]
    pub tag: Vec<String>,
    /// qa, cot, conversation, agent_trajectory, pretrain, multiple_choice.
    #[arg(long)]
    pub kind: Vec<String>,
    /// none, pass, fail, mixed.
    #[arg(long)]
    pub verdict: Vec<String>,
    /// unreviewed, accepted, rejected, flagged (default: accepted).
    #[arg(long)]
    pub status: Vec<String>,
    /// Export whatever the review status.
    #[arg(long, conflicts_with = "status")]
    pub all: bool,
    /// Export although the audit is incomplete; the reason is recorded as a waiver with your
    /// name and stated in the dataset card.
    #[arg(long, value_name = "REASON")]
    pub force: Option<String>,
}

fn parse_all<T>(
    values: &[String],
    what: &str,
    parse: fn(&str) -> Option<T>,
    names: &[&str],
) -> anyhow::Result<Vec<T>> {
    values
        .iter()
        .map(|v| {
            parse(v)
                .with_context(|| format!("unknown {what} {v:?}; use one of {}", names.join(", ")))
        })
        .collect()
}

fn filter(store: &Store, args: &Args) -> anyhow::Result<Filter> {
    let kinds: Vec<&str> = SampleKind::ALL.iter().map(|k| k.as_str()).collect();
    let verdicts: Vec<&str> = VerdictSummary::ALL.iter().map(|k| k.as_str()).collect();
    let statuses: Vec<&str> = ReviewStatus::ALL.iter().map(|k| k.as_str()).collect();
    Ok(Filter {
        dataset_id: match &args.dataset {
            Some(d) => Some(store.require_dataset(d)?),
            None => None,
        },
        kinds: parse_all(&args.kind, "kind", SampleKind::parse, &kinds)?,
        verdicts: parse_all(&args.verdict, "verdict", VerdictSummary::parse, &verdicts)?,
        statuses: if args.all {
            Vec::new()
        } else if args.status.is_empty() {
            vec![ReviewStatus::Accepted]
        } else {
            parse_all(&args.status, "status", ReviewStatus::parse, &statuses)?
        },
        tags: args.tag.clone(),
        ..Filter::default()
    })
}

fn describe(args: &Args) -> String {
    let mut parts = vec![match (&args.all, args.status.is_empty()) {
        (true, _) => "any review status".to_string(),
        (false, true) => "accepted samples only".to_string(),
        (false, false) => format!("status {}", args.status.join("/")),
    }];
    if let Some(d) = &args.dataset {
        parts.push(format!("dataset {d}"));
    }
    for (name, v) in [
        ("tag", &args.tag),
        ("kind", &args.kind),
        ("verdict", &args.verdict),
    ] {
        if !v.is_empty() {
            parts.push(format!("{name} {}", v.join("/")));
        }
    }
    parts.join(", ")
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let mut store = Store::open(&global.db)?;
    let filter = filter(&store, &args)?;
    let datasets: Vec<i64> = filter.dataset_id.into_iter().collect();
    let audit = crate::audit::require_audits(
        &mut store,
        &datasets,
        args.force.as_deref(),
        &global.reviewer,
    )?;
    let out = &args.out;
    let summary = match args.format {
        Target::Llamafactory => {
            let mut w = LlamaFactory::create(out, args.dataset.as_deref().unwrap_or("assay"))
                .with_context(|| format!("cannot create {}", out.display()))?;
            store.for_each_export_sample(&filter, false, |s| {
                w.write(&view(&s))?;
                Ok(())
            })?;
            w.finish()?
        }
        Target::Hf => {
            let title = args
                .dataset
                .clone()
                .unwrap_or_else(|| "assay export".into());
            let mut w = HuggingFace::create(out, &title)
                .with_context(|| format!("cannot create {}", out.display()))?;
            w.facts.filter = describe(&args);
            w.facts.review = store.stats(filter.dataset_id)?;
            w.facts.audit = audit.lines.clone();
            store.for_each_export_sample(&filter, true, |s| {
                let source = s.source.as_ref().context("a sample without its source")?;
                w.write(&view(&s), source)?;
                Ok(())
            })?;
            w.finish()?
        }
        t => {
            let format = single(t);
            let container = Container::for_path(out).with_context(|| {
                format!(
                    "{}: the output must end in .json (array) or .jsonl (lines)",
                    out.display()
                )
            })?;
            let file = std::fs::File::create(out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            // 1 MiB: a write syscall per 8 KiB (the default) was a tenth of the writer's time.
            let out = BufWriter::with_capacity(1 << 20, file);
            let mut w = SampleWriter::new(out, format, container, Tags::default())?;
            store.for_each_export_sample(&filter, false, |s| {
                w.write(&view(&s))?;
                Ok(())
            })?;
            w.finish()?
        }
    };
    print_summary(&summary, out, &describe(&args));
    Ok(())
}

fn view(s: &crate::store::ExportSample) -> SampleView<'_> {
    SampleView {
        kind: s.kind,
        content: &s.content,
        meta: &s.meta,
    }
}

fn single(t: Target) -> Format {
    match t {
        Target::Alpaca => Format::Alpaca,
        Target::Sharegpt => Format::Sharegpt,
        Target::Openai => Format::Openai,
        Target::Xtuner => Format::Xtuner,
        Target::Agent => Format::Agent,
        Target::CamelGolden => Format::CamelGolden,
        Target::CamelExport => Format::CamelExport,
        Target::Choice => Format::Choice,
        Target::Pretrain | Target::Llamafactory | Target::Hf => Format::Pretrain,
    }
}

fn print_summary(s: &WriteSummary, out: &std::path::Path, what: &str) {
    println!(
        "{} samples written to {} ({what}); {} skipped",
        s.written,
        out.display(),
        s.skipped_total()
    );
    if s.written == 0 && s.skipped_total() == 0 {
        println!(
            "  no sample matched (by default only accepted samples are exported; --all lifts that)"
        );
    }
    for (why, n) in &s.skipped {
        println!("  skipped {n}: {}", crate::formats::fields::printable(why));
    }
}
