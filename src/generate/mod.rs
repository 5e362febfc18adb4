//! Generation pipelines: questions from aspects, grounded answers, CoT with a verifier and tree
//! search, and answer/evaluate for multiple choice. Each runs as a resumable job
//! ([`job`]); model calls go through [`crate::llm`], samples into the store.

pub mod answers;
pub mod bm25;
pub mod cot;
pub mod job;
pub mod mc;
pub mod questions;
pub mod search;

use crate::llm::Llm;
use crate::llm::cache::Meter;
use crate::prompting::prompts::Lang;
use std::sync::Arc;

/// What every pipeline needs: the generator, the verifier (may be the same model), the prompt
/// language and the job's limits.
#[derive(Clone)]
pub struct Ctx {
    pub generator: Arc<dyn Llm>,
    pub verifier: Arc<dyn Llm>,
    /// Counts the requests and tokens of both.
    pub meter: Arc<Meter>,
    pub lang: Lang,
    pub concurrency: usize,
    pub cancel: job::CancelFlag,
}

/// A stable key for a job from its kind and parameters: the same command resumes the same job.
pub fn job_key(kind: &str, params: &serde_json::Value) -> String {
    let h = xxhash_rust::xxh3::xxh3_128(format!("{kind}\0{params}").as_bytes());
    format!("{kind}-{h:032x}")
}
