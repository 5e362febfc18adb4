//! Diversity of a dataset: how samples spread over aspects, tags, kinds and labels, how long
//! questions and answers are, and how much of it is near-duplicated. Shown by `assay stats` and
//! the TUI stats screen.
//!
//! The report and its arithmetic only; [`crate::curate::diversity`] fills it from the store (one
//! streaming pass over the head revisions plus a few GROUP BYs).

use crate::model::Content;
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts per value, with how evenly they spread.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Distribution {
    pub counts: BTreeMap<String, u64>,
    /// Shannon entropy over ln(number of values): 1 when every value is equally common, near 0
    /// when one dominates. None with fewer than two values.
    pub evenness: Option<f64>,
}

impl Distribution {
    /// The distribution of these counts per value.
    pub fn new(counts: BTreeMap<String, u64>) -> Self {
        let total: u64 = counts.values().sum();
        let k = counts.len();
        let evenness = (k >= 2 && total > 0).then(|| {
            let h: f64 = counts
                .values()
                .filter(|&&c| c > 0)
                .map(|&c| {
                    let p = c as f64 / total as f64;
                    -p * p.ln()
                })
                .sum();
            h / (k as f64).ln()
        });
        Distribution { counts, evenness }
    }
}

/// One histogram bar: lengths `from..=to` (`to` None: and longer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub from: u64,
    pub to: Option<u64>,
    pub count: u64,
}

/// Lengths in characters, in power-of-two buckets (0, 1-15, 16-31, ... 8192 and longer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub count: u64,
    pub mean: f64,
    pub max: u64,
    pub buckets: Vec<Bucket>,
}

impl Default for Histogram {
    fn default() -> Self {
        let mut buckets = vec![
            Bucket {
                from: 0,
                to: Some(0),
                count: 0,
            },
            Bucket {
                from: 1,
                to: Some(15),
                count: 0,
            },
        ];
        let mut from = 16;
        while from < 8192 {
            buckets.push(Bucket {
                from,
                to: Some(from * 2 - 1),
                count: 0,
            });
            from *= 2;
        }
        buckets.push(Bucket {
            from: 8192,
            to: None,
            count: 0,
        });
        Histogram {
            count: 0,
            mean: 0.0,
            max: 0,
            buckets,
        }
    }
}

impl Histogram {
    pub fn add(&mut self, len: u64) {
        self.count += 1;
        self.mean += (len as f64 - self.mean) / self.count as f64;
        self.max = self.max.max(len);
        if let Some(b) = self
            .buckets
            .iter_mut()
            .find(|b| len >= b.from && b.to.is_none_or(|to| len <= to))
        {
            b.count += 1;
        }
    }
}

/// Near-duplicate marks as left by the last `assay dedup`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DuplicateShare {
    pub clusters: u64,
    /// Samples in a cluster.
    pub clustered: u64,
    /// `clustered / samples`.
    pub share: f64,
    /// Samples that keeping one per cluster would drop, as a share of all samples.
    pub redundant_share: f64,
}

impl DuplicateShare {
    /// The shares of `samples` that `clusters` clusters holding `clustered` samples make.
    pub fn new(samples: u64, clusters: u64, clustered: u64) -> Self {
        let share = |n: u64| {
            if samples == 0 {
                0.0
            } else {
                n as f64 / samples as f64
            }
        };
        DuplicateShare {
            clusters,
            clustered,
            share: share(clustered),
            redundant_share: share(clustered - clusters),
        }
    }
}

/// The diversity report of one dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diversity {
    pub samples: u64,
    pub aspects: Distribution,
    pub tags: Distribution,
    pub kinds: Distribution,
    /// positive / negative / boundary, and `(none)`.
    pub labels: Distribution,
    /// Characters of the first user turn, for samples that have one.
    pub question_chars: Histogram,
    /// Characters of the last assistant turn (the text of a pre-training chunk).
    pub answer_chars: Histogram,
    pub near_duplicates: DuplicateShare,
}

impl Diversity {
    /// Counts one sample's question and answer lengths.
    pub fn add_lengths(&mut self, content: &Content) {
        if let Some(q) = content.question() {
            self.question_chars.add(q.chars().count() as u64);
        }
        if let Some(a) = content.answer() {
            self.answer_chars.add(a.chars().count() as u64);
        }
    }
}
