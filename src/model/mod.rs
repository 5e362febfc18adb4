//! Plain data: samples, their revisions, verdicts and reviews, a dataset's counts, and the clock
//! every record is stamped with.
//!
//! Nothing here does I/O (reading the clock aside), so every other module (store, formats, tui,
//! gen) can share these types and tests can build them by hand.

pub mod canonical;
mod clock;
mod content;
mod meta;
mod records;
mod stats;

pub use clock::now;
pub use content::{Content, Role, ToolCall, Turn};
pub use meta::{Label, SampleKind, SampleMeta, Source};
pub use records::{
    Decision, NewSample, NewVerdict, Review, ReviewStatus, Revision, Verdict, VerdictSummary,
};
pub use stats::{DatasetStats, VerdictConfirmation};
