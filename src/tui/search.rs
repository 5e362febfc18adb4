//! Search: a small query syntax of filters plus fuzzy text, matched incrementally by nucleo on
//! its own threads over the question and the start of the answer.
//!
//! `status:unreviewed kind:cot verdict:fail,mixed tag:tax aspect:vat dataset:NAME 税率` —
//! `key:value[,value]` filters (any of the values), the rest is fuzzy text (nucleo syntax:
//! `^start`, `end$`, `'exact`, `!not`).

use crate::model::{ReviewStatus, SampleKind, VerdictSummary};
use crate::store::{DatasetInfo, Filter};
use nucleo::pattern::{CaseMatching, Normalization};
use nucleo::{Config, Nucleo};
use std::sync::Arc;

/// The filter keys the query syntax knows, for errors and the help.
pub const KEYS: &str = "status, verdict, kind, aspect, tag, dataset, dup";

/// Splits a query into its filter and its fuzzy text. `default_dataset` applies unless the
/// query names one. Errors name the bad token and what would be valid.
pub fn parse_query(
    query: &str,
    datasets: &[DatasetInfo],
    default_dataset: Option<i64>,
) -> Result<(Filter, String), String> {
    let mut filter = Filter {
        dataset_id: default_dataset,
        ..Filter::default()
    };
    let mut text = Vec::new();
    for token in query.split_whitespace() {
        let Some((key, values)) = token.split_once(':') else {
            text.push(token);
            continue;
        };
        if values.is_empty() {
            // Still being typed: `status:` waits for its value.
            continue;
        }
        for v in values.split(',').filter(|v| !v.is_empty()) {
            match key {
                "status" => filter.statuses.push(ReviewStatus::parse(v).ok_or_else(|| {
                    format!("status:{v}? statuses: unreviewed, accepted, rejected, flagged")
                })?),
                "verdict" => filter
                    .verdicts
                    .push(VerdictSummary::parse(v).ok_or_else(|| {
                        format!("verdict:{v}? verdicts: none, pass, fail, mixed")
                    })?),
                "kind" => filter.kinds.push(SampleKind::parse(v).ok_or_else(|| {
                    format!(
                        "kind:{v}? kinds: {}",
                        SampleKind::ALL.map(|k| k.as_str()).join(", ")
                    )
                })?),
                "aspect" => filter.aspects.push(v.to_string()),
                "tag" => filter.tags.push(v.to_string()),
                // Near-duplicate clusters marked by `assay dedup`.
                "dup" => filter.near_duplicates = matches!(v, "yes" | "true" | "1"),
                "dataset" => {
                    let d = datasets.iter().find(|d| d.name == v).ok_or_else(|| {
                        format!(
                            "dataset:{v}? datasets: {}",
                            datasets
                                .iter()
                                .map(|d| d.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?;
                    filter.dataset_id = Some(d.id);
                }
                _ => return Err(format!("{key}:? filter keys: {KEYS}")),
            }
        }
    }
    Ok((filter, text.join(" ")))
}

/// The search screen's matcher and query.
pub struct Search {
    pub query: String,
    pub error: Option<String>,
    pub matcher: Nucleo<i64>,
    /// The filter the loaded candidates were read with.
    pub loaded_filter: Option<Filter>,
    pub text: String,
    pub cursor: usize,
    pub seq: u64,
    pub loading: bool,
    pub running: bool,
}

impl Search {
    /// A matcher that calls `notify` when it has new results (the loop then ticks it).
    pub fn new(notify: Arc<dyn Fn() + Send + Sync>) -> Search {
        Search {
            query: String::new(),
            error: None,
            matcher: Nucleo::new(Config::DEFAULT, notify, None, 1),
            loaded_filter: None,
            text: String::new(),
            cursor: 0,
            seq: 0,
            loading: false,
            running: false,
        }
    }

    /// Sets the fuzzy text; appending to the old text lets nucleo search only previous matches.
    pub fn set_text(&mut self, text: &str) {
        let append = text.starts_with(&self.text) && !self.text.is_empty();
        self.matcher
            .pattern
            .reparse(0, text, CaseMatching::Smart, Normalization::Smart, append);
        self.text = text.to_string();
        self.cursor = 0;
    }

    /// Lets the matcher publish results, waiting at most `ms`.
    pub fn tick(&mut self, ms: u64) {
        let status = self.matcher.tick(ms);
        self.running = status.running;
    }

    pub fn matched(&self) -> u32 {
        self.matcher.snapshot().matched_item_count()
    }

    /// The sample id of the n-th match.
    pub fn id_at(&self, n: usize) -> Option<i64> {
        self.matcher
            .snapshot()
            .get_matched_item(n as u32)
            .map(|i| *i.data)
    }

    /// Matches `first..first+len`: (id, text, matched char indices) for highlighting.
    pub fn visible(&self, first: usize, len: usize) -> Vec<(i64, String, Vec<u32>)> {
        let snap = self.matcher.snapshot();
        let end = (first + len).min(snap.matched_item_count() as usize) as u32;
        let start = (first as u32).min(end);
        let mut m = nucleo::Matcher::new(Config::DEFAULT);
        let mut out = Vec::new();
        for item in snap.matched_items(start..end) {
            let col = &item.matcher_columns[0];
            let mut idx = Vec::new();
            snap.pattern()
                .column_pattern(0)
                .indices(col.slice(..), &mut m, &mut idx);
            idx.sort_unstable();
            idx.dedup();
            out.push((*item.data, col.to_string(), idx));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds() -> Vec<DatasetInfo> {
        vec![DatasetInfo {
            id: 7,
            name: "tax".into(),
            samples: 1,
            created_at: String::new(),
        }]
    }

    #[test]
    fn filters_and_text() {
        let (f, t) = parse_query("status:unreviewed kind:cot 税 率", &ds(), Some(1)).unwrap();
        assert_eq!(f.statuses, vec![ReviewStatus::Unreviewed]);
        assert_eq!(f.kinds, vec![SampleKind::Cot]);
        assert_eq!(f.dataset_id, Some(1));
        assert_eq!(t, "税 率");
        let (f, _) =
            parse_query("dataset:tax verdict:fail,mixed tag:a aspect:b", &ds(), None).unwrap();
        assert_eq!(f.dataset_id, Some(7));
        assert_eq!(
            f.verdicts,
            vec![VerdictSummary::Fail, VerdictSummary::Mixed]
        );
        assert_eq!((f.tags.len(), f.aspects.len()), (1, 1));
        assert!(parse_query("status:", &ds(), None).is_ok());
    }

    #[test]
    fn bad_filters_are_errors() {
        assert!(
            parse_query("status:done", &ds(), None)
                .unwrap_err()
                .contains("unreviewed")
        );
        assert!(
            parse_query("colour:red", &ds(), None)
                .unwrap_err()
                .contains("filter keys")
        );
        assert!(
            parse_query("dataset:nope", &ds(), None)
                .unwrap_err()
                .contains("tax")
        );
    }

    #[test]
    fn matches_incrementally() {
        let mut s = Search::new(Arc::new(|| {}));
        let inj = s.matcher.injector();
        for (id, t) in [
            (1, "增值税的税率是多少"),
            (2, "企业所得税"),
            (3, "how to file taxes"),
        ] {
            inj.push(id, |_, c| c[0] = t.into());
        }
        s.set_text("税率");
        for _ in 0..100 {
            s.tick(10);
            if !s.running {
                break;
            }
        }
        assert_eq!(s.matched(), 1);
        let v = s.visible(0, 10);
        assert_eq!(v[0].0, 1);
        assert_eq!(v[0].2, vec![4, 5]);
    }
}
