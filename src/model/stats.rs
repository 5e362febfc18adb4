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
}
