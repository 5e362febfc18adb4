//! `assay stats`: counts by dataset, kind, review status and verdict, plus each dataset's
//! diversity report. A short block per dataset for a person (80 columns), everything as JSON
//! with `--json` for scripts.

use super::{GlobalArgs, output};
use crate::model::DatasetStats;
use crate::store::Store;
use crate::text::diversity::{Distribution, Diversity};
use std::collections::BTreeMap;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this dataset.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Everything as JSON (counts and the full diversity report).
    #[arg(long)]
    pub json: bool,
}

/// How many entries of a distribution the human view names (the rest are counted).
const TOP: usize = 5;
/// The human view's width: one SSH terminal.
const WIDTH: usize = 80;

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let store = Store::open_existing(&global.db)?;
    let id = match &args.dataset {
        Some(name) => Some(store.require_dataset(name)?),
        None => None,
    };
    print(&store, id, args.json)
}

/// Prints the stats of dataset `id` (or of all), for a person or as JSON.
pub fn print(store: &Store, id: Option<i64>, as_json: bool) -> anyhow::Result<()> {
    let mut datasets = Vec::new();
    for s in store.stats(id)? {
        let diversity = match store.dataset_id(&s.dataset)? {
            Some(ds) => Some(crate::curate::diversity::for_dataset(store, ds)?),
            None => None,
        };
        datasets.push((s, diversity));
    }
    if as_json {
        let mut out = Vec::with_capacity(datasets.len());
        for (s, diversity) in &datasets {
            let mut value = serde_json::to_value(s)?;
            if let (Some(d), Some(obj)) = (diversity, value.as_object_mut()) {
                obj.insert("diversity".into(), serde_json::to_value(d)?);
            }
            out.push(value);
        }
        return output::json(&serde_json::json!({ "datasets": out }));
    }
    if datasets.is_empty() {
        return output::line(format!(
            "no datasets in {}: import one with `assay import FILE` (or try `assay demo`)",
            store.path().display()
        ));
    }
    let blocks: Vec<String> = datasets.iter().map(|(s, d)| human(s, d.as_ref())).collect();
    output::line(blocks.join("\n"))
}

/// One dataset for a person: a heading and a line per measure, each cut to [`WIDTH`].
fn human(s: &DatasetStats, d: Option<&Diversity>) -> String {
    // A long name is cut, never the counts after it.
    let name = output::cell(&s.dataset, 36);
    let heading = format!(
        "{}: {} samples, {} revisions, {} review decisions",
        name.trim_end(),
        s.samples,
        s.revisions,
        s.reviews
    );
    let mut lines = vec![output::cell(&heading, WIDTH).trim_end().to_string()];
    let mut row = |label: &str, value: String| {
        lines.push(
            output::cell(&format!("  {label:<9}{value}"), WIDTH)
                .trim_end()
                .to_string(),
        )
    };
    row("kinds", counts(&s.by_kind));
    row("status", counts(&s.by_status));
    row("verdicts", counts(&s.by_verdict));
    let f = s.failing_verdicts;
    if f.decided > 0 {
        row(
            "checked",
            format!(
                "reviewers rejected {} of {} samples a verifier failed ({:.0}%)",
                f.confirmed,
                f.decided,
                100.0 * f.precision().unwrap_or(0.0)
            ),
        );
    }
    if let Some(d) = d {
        for (label, dist) in [
            ("aspects", &d.aspects),
            ("labels", &d.labels),
            ("tags", &d.tags),
        ] {
            // Nothing recorded ("(none)" for every sample) says nothing worth a line.
            if dist.counts.keys().any(|k| k != "(none)") {
                row(label, distribution(dist));
            }
        }
        if d.question_chars.count > 0 || d.answer_chars.count > 0 {
            row(
                "length",
                format!(
                    "question {:.0} chars on average (max {}), answer {:.0} (max {})",
                    d.question_chars.mean,
                    d.question_chars.max,
                    d.answer_chars.mean,
                    d.answer_chars.max
                ),
            );
        }
        let n = &d.near_duplicates;
        row(
            "near-dup",
            format!(
                "{:.1}% of samples in {} clusters ({:.1}% redundant)",
                100.0 * n.share,
                n.clusters,
                100.0 * n.redundant_share
            ),
        );
    }
    lines.join("\n")
}

/// The entries of `map`, largest count first (ties by name).
fn largest_first(map: &BTreeMap<String, u64>) -> Vec<(&String, &u64)> {
    let mut v: Vec<(&String, &u64)> = map.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v
}

/// `a 3 · b 2`, largest first.
fn counts(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "-".into();
    }
    largest_first(map)
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `12 distinct (evenness 0.91): a 20 · b 18 · … and 7 more`.
fn distribution(d: &Distribution) -> String {
    let v = largest_first(&d.counts);
    let shown: Vec<String> = v
        .iter()
        .take(TOP)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let more = v.len().saturating_sub(TOP);
    format!(
        "{} distinct{}: {}{}",
        v.len(),
        d.evenness
            .map_or(String::new(), |e| format!(" (evenness {e:.2})")),
        shown.join(" · "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_largest_first() {
        let map: BTreeMap<String, u64> = [("a".into(), 1), ("b".into(), 3), ("c".into(), 3)]
            .into_iter()
            .collect();
        assert_eq!(counts(&map), "b 3 · c 3 · a 1");
        assert_eq!(counts(&BTreeMap::new()), "-");
    }
}
