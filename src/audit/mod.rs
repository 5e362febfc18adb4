//! The review-sample rule (at least 100 random samples per dataset) and its statistics.
//!
//! A seeded, stratified draw without replacement is stored with the dataset; its progress and the
//! exact upper bound on the defect rate tell export and training whether the data was looked at.

pub mod agreement;
mod draw;
mod gate;
mod require;
mod stats;

pub use draw::{
    DEFAULT_MAX_DEFECT_RATE, DrawOutcome, DrawPlan, MIN_AUDIT, draw, stratified_sample, walk_order,
};
pub use gate::{AuditStatus, BOUND_NAME, GateStatus, gate, status, waive, waiver_text};
pub use require::{AuditNotes, Incomplete, require_audits};
pub use stats::clopper_pearson_upper;

/// What can go wrong in the audit.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = AuditError> = std::result::Result<T, E>;
