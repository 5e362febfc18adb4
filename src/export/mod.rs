//! Exporting samples: to one file in a format, or as a LLaMA-Factory / Hugging Face folder,
//! with the accepted-only policy written once ([`policy`]); and preference data (DPO, KTO,
//! stepwise) from the review history ([`preference`]). The CLI and the training runs' data
//! writing both take their samples through it.

pub mod policy;
pub mod preference;
pub mod target;
pub mod write;

pub use target::ExportTarget;
pub use write::{Card, export};
