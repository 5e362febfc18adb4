//! Counting what was scored: accuracy with its exact 95% Clopper-Pearson interval, overall and
//! per sample kind, for each model, and the side-by-side text table.

use crate::audit::clopper_pearson_upper;
use serde::Serialize;
use std::collections::BTreeMap;

/// Correct answers out of scored items, with the two-sided 95% Clopper-Pearson interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Tally {
    pub scored: u64,
    pub correct: u64,
    /// No answer could be read from the reply (counted wrong).
    pub no_answer: u64,
    pub accuracy: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

impl Tally {
    pub fn add(&mut self, correct: bool, answered: bool) {
        self.scored += 1;
        self.correct += u64::from(correct);
        self.no_answer += u64::from(!answered);
        let (n, k) = (self.scored, self.correct);
        self.accuracy = k as f64 / n as f64;
        (self.ci_low, self.ci_high) = interval(k, n);
    }
}

/// The exact 95% interval for `k` successes in `n`: the audit's upper bound on a defect rate
/// gives the upper end, and by symmetry (failures are defects) the lower end.
pub fn interval(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let k = k.min(n);
    let high = clopper_pearson_upper(k, n);
    let low = if k == 0 {
        0.0
    } else {
        1.0 - clopper_pearson_upper(n - k, n)
    };
    (low, high)
}

/// One model's scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelReport {
    /// `base` or `base+adapter`.
    pub name: String,
    pub overall: Tally,
    pub by_kind: BTreeMap<String, Tally>,
    pub tokens_generated: u64,
    pub seconds: f64,
    pub tokens_per_s: f64,
}

impl ModelReport {
    pub fn new(name: &str) -> Self {
        ModelReport {
            name: name.into(),
            ..ModelReport::default()
        }
    }

    pub fn add(&mut self, kind: &str, correct: bool, answered: bool) {
        self.overall.add(correct, answered);
        self.by_kind
            .entry(kind.to_string())
            .or_default()
            .add(correct, answered);
    }

    pub fn add_time(&mut self, tokens: usize, seconds: f64) {
        self.tokens_generated += tokens as u64;
        self.seconds += seconds;
        self.tokens_per_s = self.tokens_generated as f64 / self.seconds.max(1e-9);
    }
}

/// Where failures went.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FailureSummary {
    pub dataset: Option<String>,
    /// New samples stored for review.
    pub stored: u64,
    /// Failures already stored by an earlier run (same content).
    pub already_stored: u64,
}

/// Everything `assay eval` prints.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Where the items came from (a dataset and its filters, or a training run's split).
    pub source: String,
    pub adapter: Option<String>,
    pub base: String,
    /// Items selected for scoring (after `--limit`).
    pub items: u64,
    /// Items every model answered and was scored on.
    pub scored: u64,
    /// Ctrl-C stopped the run before every item was scored.
    pub stopped: bool,
    /// Samples that are not items, by reason.
    pub skipped: BTreeMap<String, u64>,
    pub models: Vec<ModelReport>,
    pub failures: FailureSummary,
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

fn cell(t: &Tally) -> String {
    format!(
        "{}/{} {}% [{}, {}]",
        t.correct,
        t.scored,
        pct(t.accuracy),
        pct(t.ci_low),
        pct(t.ci_high)
    )
}

impl Report {
    /// The human-readable summary: one column per model, one row per kind.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "items: {} from {}", self.items, self.source);
        if self.stopped {
            let _ = writeln!(
                out,
                "stopped: {} of {} items scored before Ctrl-C",
                self.scored, self.items
            );
        }
        for (why, n) in &self.skipped {
            let _ = writeln!(out, "skipped {n}: {why}");
        }
        let mut kinds: Vec<&String> = self.models.iter().flat_map(|m| m.by_kind.keys()).collect();
        kinds.sort();
        kinds.dedup();
        let mut rows: Vec<(String, Vec<String>)> = vec![(
            "accuracy (95% CI)".into(),
            self.models.iter().map(|m| m.name.clone()).collect(),
        )];
        rows.push((
            "overall".into(),
            self.models.iter().map(|m| cell(&m.overall)).collect(),
        ));
        for k in kinds {
            rows.push((
                format!("  {k}"),
                self.models
                    .iter()
                    .map(|m| m.by_kind.get(k).map(cell).unwrap_or_default())
                    .collect(),
            ));
        }
        rows.push((
            "no answer read".into(),
            self.models
                .iter()
                .map(|m| m.overall.no_answer.to_string())
                .collect(),
        ));
        rows.push((
            "tokens/s".into(),
            self.models
                .iter()
                .map(|m| format!("{:.1}", m.tokens_per_s))
                .collect(),
        ));
        let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let widths: Vec<usize> = (0..self.models.len())
            .map(|i| {
                rows.iter()
                    .map(|r| r.1.get(i).map_or(0, |c| c.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for (label, cells) in rows {
            let _ = write!(out, "{label:<w0$}");
            for (c, w) in cells.iter().zip(&widths) {
                let _ = write!(out, "  {c:<w$}");
            }
            out.push('\n');
        }
        if let Some(d) = &self.failures.dataset {
            let _ = writeln!(
                out,
                "failures: {} new samples tagged eval-failure in {d} ({} stored before)",
                self.failures.stored, self.failures.already_stored
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    #[test]
    fn interval_matches_r_binom_test() {
        // R: binom.test(7, 10)$conf.int = 0.3475471 0.9332605
        let (lo, hi) = interval(7, 10);
        assert!(close(lo, 0.3475471) && close(hi, 0.9332605), "{lo} {hi}");
        // binom.test(50, 100): 0.3983211 0.6016789
        let (lo, hi) = interval(50, 100);
        assert!(close(lo, 0.3983211) && close(hi, 0.6016789), "{lo} {hi}");
        assert_eq!(interval(0, 5).0, 0.0);
        assert_eq!(interval(5, 5).1, 1.0);
        assert_eq!(interval(0, 0), (0.0, 1.0));
    }

    #[test]
    fn tallies_add_up_and_bound_the_rate() {
        let mut m = ModelReport::new("base");
        for i in 0..30 {
            let kind = if i % 3 == 0 { "qa" } else { "multiple_choice" };
            m.add(kind, i % 4 == 0, i % 5 != 0);
        }
        assert_eq!(m.overall.scored, 30);
        assert_eq!(m.overall.correct, 8);
        let per_kind: u64 = m.by_kind.values().map(|t| t.scored).sum();
        assert_eq!(per_kind, 30);
        for t in std::iter::once(&m.overall).chain(m.by_kind.values()) {
            assert!(t.ci_low <= t.accuracy && t.accuracy <= t.ci_high, "{t:?}");
        }
        let r = Report {
            source: "dataset d".into(),
            items: 30,
            scored: 30,
            models: vec![m],
            ..Report::default()
        };
        let text = r.text();
        assert!(text.contains("overall"), "{text}");
        assert!(text.contains("8/30 26.7%"), "{text}");
    }
}
