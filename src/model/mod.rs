//! Plain data: samples, their revisions, verdicts and reviews.
//!
//! Nothing here does I/O, so every other module (store, formats, tui, gen) can share these types
//! and tests can build them by hand.

mod content;
mod meta;
mod records;

pub use content::{Content, Role, ToolCall, Turn};
pub use meta::{Label, SampleKind, SampleMeta, Source};
pub use records::{Decision, NewSample, Review, ReviewStatus, Revision, Verdict, VerdictSummary};
