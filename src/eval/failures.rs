//! Wrong answers come back as samples for review: the question, the model's answer as the
//! assistant turn (for the reviewer to correct) and the golden answer, tagged `eval-failure`
//! with the run, adapter and both answers in the metadata, and a failing golden-match verdict.
//!
//! Each batch is one transaction. The content hash makes a rerun a no-op: greedy decoding gives
//! the same answer, so the same sample, which the store skips as a duplicate.

use super::error::Result;
use super::items::EvalItem;
use crate::model::{Content, NewSample, NewVerdict, SampleMeta, Source, Turn};
use crate::store::{ImportRecord, InsertOutcome, Store};
use serde_json::json;

/// The tag every failure sample carries.
pub const TAG: &str = "eval-failure";

/// What identifies the run in each failure's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// `base` or `base+adapter`.
    pub model: String,
    pub base: String,
    pub adapter: Option<String>,
    /// Where the items came from.
    pub source: String,
}

/// One wrong answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub item: EvalItem,
    pub response: String,
    pub answer: Option<String>,
}

/// The reply as an assistant turn, its `<think>` block (if it opens with one) as reasoning.
fn answer_turn(response: &str) -> Turn {
    let t = response.trim();
    if let Some(rest) = t.strip_prefix("<think>")
        && let Some((thought, answer)) = rest.split_once("</think>")
    {
        return Turn::assistant(answer.trim()).with_reasoning(thought.trim());
    }
    Turn::assistant(t)
}

/// The sample a failure becomes.
pub fn failure_sample(f: &Failure, run: &RunInfo) -> NewSample {
    let mut turns = f.item.turns.clone();
    turns.push(answer_turn(&f.response));
    let mut meta = SampleMeta {
        tags: vec![TAG.into()],
        ..SampleMeta::default()
    };
    meta.extra.insert(
        "eval".into(),
        json!({
            "model": run.model,
            "base": run.base,
            "adapter": run.adapter,
            "items": run.source,
            "source_sample": f.item.sample_id,
            "model_answer": f.answer,
            "golden": f.item.golden,
            "evaluated_at": crate::model::now(),
        }),
    );
    NewSample {
        kind: f.item.kind,
        content: Content {
            system: f.item.system.clone(),
            turns,
            golden: Some(f.item.golden.clone()),
            options: f.item.options.clone(),
            ..Content::default()
        },
        source: Source::Generated {
            generator: "eval".into(),
            model: run.adapter.clone().unwrap_or_else(|| run.base.clone()),
            prompt: format!("sample {}", f.item.sample_id),
        },
        meta,
    }
}

/// Stores `failures` in `dataset_id` in one transaction; returns (new, already stored).
pub fn store_failures(
    store: &mut Store,
    dataset_id: i64,
    failures: &[Failure],
    run: &RunInfo,
) -> Result<(u64, u64)> {
    if failures.is_empty() {
        return Ok((0, 0));
    }
    let mut batch = store.import_batch(dataset_id, "eval")?;
    let (mut stored, mut dup) = (0, 0);
    for f in failures {
        let rec = ImportRecord::new(failure_sample(f, run)).map_err(|e| {
            super::error::EvalError::Invalid(format!(
                "sample {}: cannot serialise the failure: {e}",
                f.item.sample_id
            ))
        })?;
        match batch.insert(&rec)? {
            InsertOutcome::Duplicate => dup += 1,
            InsertOutcome::Inserted(_) => {
                stored += 1;
                let said = f.answer.as_deref().unwrap_or("(no answer read)");
                batch.add_verdict(
                    batch.last_revision_id(),
                    &NewVerdict {
                        verifier: "golden_match".into(),
                        model: Some(run.model.clone()),
                        passed: false,
                        score: Some(0.0),
                        rationale: format!("answer {said:?} vs golden {:?}", f.item.golden),
                        first_wrong_step: None,
                    },
                )?;
            }
        }
    }
    batch.commit()?;
    Ok((stored, dup))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_is_kept_apart() {
        let t = answer_turn("<think>1+1</think>\n答案是:2");
        assert_eq!(t.content, "答案是:2");
        assert_eq!(t.reasoning.as_deref(), Some("1+1"));
        assert_eq!(answer_turn("  B ").content, "B");
    }
}
