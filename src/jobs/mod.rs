//! The job machinery every long model-driven run shares: the resumable runner (pending items
//! dispatched up to a concurrency limit, each result committed as it arrives, cancel and
//! progress), the response cache and token meter a job talks to its models through, and the
//! [`Ctx`] a pipeline or verifier runs in.
//!
//! Generation pipelines and the LLM judge both run as jobs, so this sits below `generate` and
//! `verify` and above `store` and `llm`, which it joins.

mod cache;
mod runner;

pub use cache::{CachedLlm, Meter};
pub use runner::{CancelFlag, Progress, RunSummary, run_items, store_samples};

use crate::llm::Llm;
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
    pub cancel: CancelFlag,
    /// Run the job's failed items again (`--retry-failed`); done items stay done.
    pub retry_failed: bool,
}

/// A stable key for a job from its kind and parameters: the same command resumes the same job
/// (the parameters are hashed with sorted keys, so their order never changes the key).
pub fn job_key(kind: &str, params: &serde_json::Value) -> String {
    let params = crate::model::canonical::to_string(params);
    let h = xxhash_rust::xxh3::xxh3_128(format!("{kind}\0{params}").as_bytes());
    format!("{kind}-{h:032x}")
}

#[cfg(test)]
mod tests {
    use super::job_key;

    #[test]
    fn a_job_key_does_not_depend_on_the_order_of_its_parameters() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"topic":"税法","n":5,"opts":{"b":1,"a":2}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"opts":{"a":2,"b":1},"n":5,"topic":"税法"}"#).unwrap();
        assert_eq!(job_key("questions", &a), job_key("questions", &b));
        assert_ne!(job_key("questions", &a), job_key("answers", &a));
    }
}
