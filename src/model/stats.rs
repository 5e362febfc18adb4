//! The counts of one dataset that `assay stats`, the TUI and the Hugging Face card show.
//!
//! Plain data here, below both the store that counts them and the formats that print them, so
//! that writing a dataset card needs no store.

use serde::Serialize;
use std::collections::BTreeMap;

/// Counts of one dataset: by kind, review status and verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatasetStats {
    pub dataset: String,
    pub samples: u64,
    pub by_kind: BTreeMap<String, u64>,
    pub by_status: BTreeMap<String, u64>,
    pub by_verdict: BTreeMap<String, u64>,
    pub revisions: u64,
    pub reviews: u64,
    /// How often people agreed with a failing verdict: of the samples whose head revision a
    /// verifier failed and a reviewer decided, how many were rejected. The verifiers' precision
    /// as measured by people.
    pub failing_verdicts: VerdictConfirmation,
}

/// Reviewers' decisions on samples that a verifier failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct VerdictConfirmation {
    /// Failing (or mixed) samples a reviewer accepted or rejected.
    pub decided: u64,
    /// Of those, rejected: the failure was confirmed.
    pub confirmed: u64,
}

impl VerdictConfirmation {
    /// confirmed / decided, None before any decision.
    pub fn precision(&self) -> Option<f64> {
        (self.decided > 0).then(|| self.confirmed as f64 / self.decided as f64)
    }
}
