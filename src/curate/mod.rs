//! Dataset-wide passes over the store that text's algorithms drive: marking exact and
//! near-duplicate clusters, and the diversity report.
//!
//! `text` holds the algorithms (MinHash, LSH clustering, distributions and histograms) and knows
//! no store; these passes feed them a dataset's head revisions and write or return the result,
//! for `assay dedup`, `assay stats` and the TUI alike.

pub mod dedup;
pub mod diversity;
pub mod rules;
