//! Decisions by rule: accept (or reject) every sample a filter matches, for the review sessions
//! where a person has already judged the rule ("every sample whose verifiers all pass"). The
//! command line (`assay review accept --filter`) and the TUI's bulk action both come here.
//!
//! A rule is not a person's look, so it is fenced in three ways: it decides only samples
//! nobody has decided (it never overrides a person or a flag); it leaves the samples drawn for
//! the dataset's audit to a person; and each decision is stored with its rule, which the audit
//! does not count as reviewed. Decisions are committed a thousand at a time, each bound to the
//! head as read and refused if the head moved meanwhile (counted, not fatal).

use crate::model::{Decision, ReviewStatus};
use crate::store::{DecisionInput, Filter, Result, Store, StoreError};
use std::collections::HashSet;

/// Decisions per commit: one fsync per thousand samples, and a write lock held briefly enough
/// that reviewers in the TUI barely notice.
const BATCH: usize = 1000;

/// What a rule would decide, read before anything is written (the count a person confirms).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// (sample, head revision as read) for every sample the rule will decide.
    pub heads: Vec<(i64, i64)>,
    /// Matching samples drawn for the audit: left for a person.
    pub left_for_audit: u64,
    /// Matching samples someone already decided: left as they are.
    pub already: u64,
}

/// What a rule did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    pub decided: usize,
    /// Samples whose head moved between the plan and the commit: left as they are.
    pub stale: usize,
    pub left_for_audit: u64,
    pub already: u64,
}

/// Refuses what a rule may not do: a flag asks a person for a second look, a retract undoes a
/// person's own decision; a rule without a dataset would cross datasets and their audits.
pub fn check(decision: Decision, filter: &Filter) -> Result<()> {
    if !matches!(decision, Decision::Accept | Decision::Reject) {
        return Err(StoreError::Invalid(format!(
            "a rule only accepts or rejects; {} samples by id",
            decision.as_str()
        )));
    }
    if filter.dataset_id.is_none() {
        return Err(StoreError::Invalid(
            "name the dataset: --dataset NAME, or dataset:NAME in the query".to_string(),
        ));
    }
    Ok(())
}

/// The samples `filter` matches that a rule would decide, and those it leaves.
pub fn plan(store: &Store, filter: &Filter) -> Result<Plan> {
    let drawn: HashSet<i64> = match filter.dataset_id {
        Some(ds) => match store.latest_audit(ds)? {
            Some(a) => store.audit_sample_ids(a.id)?.into_iter().collect(),
            None => HashSet::new(),
        },
        None => HashSet::new(),
    };
    let mut plan = Plan::default();
    store
        .for_each_sample(filter, |s| {
            if drawn.contains(&s.id) {
                plan.left_for_audit += 1;
            } else if s.status != ReviewStatus::Unreviewed {
                plan.already += 1;
            } else {
                plan.heads.push((s.id, s.head.id));
            }
            Ok(())
        })
        .map_err(|e| StoreError::Invalid(format!("reading the matching samples: {e:#}")))?;
    Ok(plan)
}

/// Records `decision` by `reviewer` on every sample of `plan`, as the rule `rule` (its query).
pub fn apply(
    store: &mut Store,
    plan: &Plan,
    decision: Decision,
    reviewer: &str,
    reason: &str,
    rule: &str,
) -> Result<Outcome> {
    let mut out = Outcome {
        left_for_audit: plan.left_for_audit,
        already: plan.already,
        ..Outcome::default()
    };
    for chunk in plan.heads.chunks(BATCH) {
        let inputs: Vec<DecisionInput> = chunk
            .iter()
            .map(|&(sample_id, revision_id)| DecisionInput {
                sample_id,
                revision_id,
                reviewer,
                decision,
                reason,
                adjudicates: false,
            })
            .collect();
        let (done, stale) = store.decide_by_rule(&inputs, rule)?;
        out.decided += done;
        out.stale += stale;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Content, NewSample, SampleKind, SampleMeta, Source, Turn};
    use crate::store::ImportRecord;

    fn store(n: usize) -> (Store, i64) {
        let mut store = Store::open_in_memory().unwrap();
        let ds = store.ensure_dataset("d").unwrap();
        let batch = store.import_batch(ds, "import").unwrap();
        let recs: Vec<ImportRecord> = (0..n)
            .map(|i| {
                ImportRecord::new(NewSample {
                    kind: SampleKind::Qa,
                    source: Source::File {
                        path: "t.jsonl".into(),
                        line: i as u64 + 1,
                    },
                    meta: SampleMeta::default(),
                    content: Content {
                        system: None,
                        turns: vec![Turn::user(format!("q{i}")), Turn::assistant("a")],
                        ..Content::default()
                    },
                })
                .unwrap()
            })
            .collect();
        let mut outcomes = Vec::new();
        let mut batch = batch;
        batch.insert_many(&recs, &mut outcomes).unwrap();
        batch.commit().unwrap();
        (store, ds)
    }

    #[test]
    fn a_plan_is_what_apply_decides_and_a_moved_head_is_left() {
        let (mut store, ds) = store(2500);
        let filter = Filter::dataset(ds);
        let plan = plan(&store, &filter).unwrap();
        assert_eq!(plan.heads.len(), 2500);
        // An edit lands between the count and the commit: that sample is left as it is.
        let (moved, _) = plan.heads[1200];
        let edited = Content {
            turns: vec![Turn::user("q1200"), Turn::assistant("edited")],
            ..Content::default()
        };
        store
            .add_revision_with_verdicts(moved, &edited, "editor", &[])
            .unwrap();
        let out = apply(
            &mut store,
            &plan,
            Decision::Accept,
            "r",
            "",
            "filter: dataset:d",
        )
        .unwrap();
        assert_eq!((out.decided, out.stale), (2499, 1));
        // Planned again: only the edited sample is left to decide.
        let again = super::plan(&store, &filter).unwrap();
        assert_eq!((again.already, again.heads.len()), (2499, 1));
        assert!(check(Decision::Flag, &filter).is_err());
        assert!(check(Decision::Accept, &Filter::default()).is_err());
    }
}
