//! Generation pipelines: questions from aspects, grounded answers, CoT with a verifier and tree
//! search, and answer/evaluate for multiple choice. Each runs as a resumable job
//! ([`crate::jobs`]); prompts and answer parsing come from [`crate::prompting`], model calls go
//! through [`crate::llm`], samples into the store.

pub mod answers;
pub mod bm25;
pub mod cot;
pub mod mc;
pub mod questions;
pub mod search;
