//! `assay export`: write samples in a format, or as a LLaMA-Factory / Hugging Face folder
//! (the capability is [`crate::export`]).
//!
//! By default only accepted samples go out (`--all` lifts that; `--status` picks others).
//! Samples the format cannot carry are skipped and counted by reason in the summary.

use super::GlobalArgs;
use crate::export::{Card, ExportTarget, policy};
use crate::formats::WriteSummary;
use crate::model::{ReviewStatus, SampleKind, VerdictSummary};
use crate::store::{Filter, Store};
use anyhow::Context;
use clap::builder::PossibleValue;
use std::path::PathBuf;
use std::process::ExitCode;

/// `--format`: every format by its name, then `llamafactory` and `hf`.
impl clap::ValueEnum for ExportTarget {
    fn value_variants<'a>() -> &'a [Self] {
        &ExportTarget::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let value = PossibleValue::new(self.as_str());
        Some(match self {
            ExportTarget::File(_) => value,
            ExportTarget::LlamaFactory => {
                value.help("A LLaMA-Factory folder: data files + dataset_info.json")
            }
            ExportTarget::HuggingFace => {
                value.help("A Hugging Face dataset folder: data/train.jsonl + README.md card")
            }
            ExportTarget::Preference(p) => value.help(p.help()),
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum)]
    pub format: ExportTarget,
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
    /// unreviewed, accepted, rejected, flagged, conflict (default: accepted; for kto,
    /// llamafactory-kto and stepwise: accepted and rejected).
    #[arg(long)]
    pub status: Vec<String>,
    /// Export whatever the review status.
    #[arg(long, conflicts_with = "status")]
    pub all: bool,
    /// Export although the audit is incomplete; the reason is recorded as a waiver with your
    /// name and stated in the dataset card.
    #[arg(long, value_name = "REASON")]
    pub force: Option<String>,
    /// The license id for the Hugging Face card's metadata (default: other).
    #[arg(long)]
    pub license: Option<String>,
}

/// The audit lines for this export's card: every dataset's audit summary, and a waiver only
/// where this export made one (the audit's waiver text lists every waiver the dataset ever
/// had; only the newest, which `--force` has just recorded, belongs to this export).
fn this_exports_audit(lines: Vec<String>, force: Option<&str>) -> Vec<String> {
    lines
        .into_iter()
        .filter_map(|line| {
            if !line.starts_with("**Audit waived.**") {
                return Some(line);
            }
            let reason = force?;
            let mut parts = line.lines();
            let head = parts.next().unwrap_or_default().to_string();
            let last = parts.rfind(|l| l.starts_with("- waived by"))?;
            last.contains(&format!(": {reason} (missing: "))
                .then(|| format!("{head}\n{last}\n"))
        })
        .collect()
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
        statuses: match args.format {
            // Preference data is made of decisions either way (KTO learns from rejections).
            ExportTarget::Preference(p) if !args.all && args.status.is_empty() => {
                p.default_statuses()
            }
            _ => policy::statuses(
                args.all,
                parse_all(&args.status, "status", ReviewStatus::parse, &statuses)?,
            ),
        },
        tags: args.tag.clone(),
        ..Filter::default()
    })
}

fn describe(args: &Args) -> String {
    let mut parts = vec![match args.format {
        ExportTarget::Preference(p) if !args.all && args.status.is_empty() => {
            let names: Vec<&str> = p.default_statuses().iter().map(|s| s.as_str()).collect();
            format!("{} samples", names.join(" or "))
        }
        _ => policy::describe(args.all, &args.status),
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

/// Exit status when nothing was written: no sample matched, or every match was skipped.
pub const NOTHING_EXPORTED: u8 = 4;

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let mut store = Store::open_existing(&global.db)?;
    let filter = filter(&store, &args)?;
    let datasets: Vec<i64> = filter.dataset_id.into_iter().collect();
    // An export of nothing records no waiver (a decision about nothing); without --force an
    // incomplete audit is still said first.
    if store.count(&filter)? == 0 {
        if args.force.is_none() {
            crate::audit::require_audits(&mut store, &datasets, None, &global.reviewer)?;
        }
        eprintln!(
            "nothing to export: no sample matched ({}); nothing written, no waiver recorded. By \
             default only accepted samples are exported; --all lifts that",
            crate::text::sanitize::sanitize_line(&describe(&args))
        );
        return Ok(ExitCode::from(NOTHING_EXPORTED));
    }
    let audit = crate::audit::require_audits(
        &mut store,
        &datasets,
        args.force.as_deref(),
        &global.reviewer,
    )?;
    let card = Card {
        dataset: args.dataset.clone(),
        filter: describe(&args),
        audit: this_exports_audit(audit.lines, args.force.as_deref()),
        license: args.license.clone(),
    };
    let summary = crate::export::export(&store, args.format, &args.out, &filter, &card)?;
    let noun = match args.format {
        ExportTarget::Preference(_) => "examples",
        _ => "samples",
    };
    print_summary(&summary, &args.out, &card.filter, noun)?;
    Ok(if summary.written == 0 {
        ExitCode::from(NOTHING_EXPORTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_summary(
    s: &WriteSummary,
    out: &std::path::Path,
    what: &str,
    noun: &str,
) -> anyhow::Result<()> {
    super::output::line(format!(
        "{} {noun} written to {} ({what}); {} skipped",
        s.written,
        out.display(),
        s.skipped_total()
    ))?;
    if s.written == 0 && s.skipped_total() == 0 {
        super::output::line(
            "  no sample matched (by default only accepted samples are exported; --all lifts that)",
        )?;
    }
    for (why, n) in &s.skipped {
        super::output::line(format!(
            "  skipped {n}: {}",
            crate::formats::fields::printable(why)
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_states_only_this_exports_waiver() {
        let waiver = "**Audit waived.** The audit of d was incomplete.\n\
                      - waived by a at t1: old reason (missing: 3 reviews)\n\
                      - waived by b at t2: now (missing: 2 reviews)\n"
            .to_string();
        let lines = vec!["Audit of d: ...".to_string(), waiver];
        let out = this_exports_audit(lines.clone(), Some("now"));
        assert_eq!(out.len(), 2);
        assert!(
            out[1].contains("now") && !out[1].contains("old reason"),
            "{out:?}"
        );
        // Not forced this time: no waiver at all.
        assert_eq!(this_exports_audit(lines, None).len(), 1);
    }
}
