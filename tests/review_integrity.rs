//! The property behind review integrity, over random sequences of edits, regenerations (taken
//! or declined), decisions, stale decisions, undos, reverts and exports on a real SQLite file:
//! **every exported sample's content is a revision that some reviewer accepted and still
//! stands by**, and it is the sample's head. A decision on a revision that is no longer the
//! head is refused.

use assay::export::{Card, ExportTarget, export, policy};
use assay::formats::Format;
use assay::model::{Content, Decision, NewSample, SampleKind, SampleMeta, Source, Turn};
use assay::store::{DecisionInput, ImportRecord, Store, StoreError};
use proptest::prelude::*;
use std::collections::HashMap;

const SAMPLES: usize = 4;
const REVIEWERS: [&str; 3] = ["ana", "bo", "cy"];

#[derive(Debug, Clone)]
enum Op {
    Decide(usize, usize, u8),
    /// A decision on the revision before the head (a reviewer looking at an old screen).
    Stale(usize, usize),
    Retract(usize, usize),
    Edit(usize, usize),
    Regenerate(usize, bool),
    Revert(usize, usize),
    Export,
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0..SAMPLES;
    let r = 0..REVIEWERS.len();
    prop_oneof![
        4 => (s.clone(), r.clone(), 0u8..3).prop_map(|(s, r, d)| Op::Decide(s, r, d)),
        1 => (s.clone(), r.clone()).prop_map(|(s, r)| Op::Stale(s, r)),
        1 => (s.clone(), r.clone()).prop_map(|(s, r)| Op::Retract(s, r)),
        2 => (s.clone(), r.clone()).prop_map(|(s, r)| Op::Edit(s, r)),
        2 => (s.clone(), any::<bool>()).prop_map(|(s, t)| Op::Regenerate(s, t)),
        1 => (s, 0usize..4).prop_map(|(s, k)| Op::Revert(s, k)),
        2 => Just(Op::Export),
    ]
}

fn qa(question: &str, answer: &str) -> Content {
    Content {
        turns: vec![Turn::user(question), Turn::assistant(answer)],
        ..Content::default()
    }
}

/// Reviewers' standing decisions per revision, kept by the test on its own (a stack per
/// reviewer: a retract pops it), to check the store against.
#[derive(Default)]
struct Shadow {
    standing: HashMap<(i64, &'static str), Vec<Decision>>,
}

impl Shadow {
    fn record(&mut self, rev: i64, who: &'static str, d: Decision) {
        let stack = self.standing.entry((rev, who)).or_default();
        match d {
            Decision::Retract => {
                stack.pop();
            }
            d => stack.push(d),
        }
    }

    fn someone_accepts(&self, rev: i64) -> bool {
        REVIEWERS.iter().any(|who| {
            self.standing
                .get(&(rev, *who))
                .and_then(|s| s.last())
                .is_some_and(|d| *d == Decision::Accept)
        })
    }
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("p.db")).unwrap();
    let ds = store.ensure_dataset("p").unwrap();
    let mut b = store.import_batch(ds, "import").unwrap();
    for i in 0..SAMPLES {
        let sample = NewSample {
            kind: SampleKind::Qa,
            content: qa(&format!("问题{i}"), &format!("原答{i}")),
            source: Source::File {
                path: "p.jsonl".into(),
                line: i as u64 + 1,
            },
            meta: SampleMeta::default(),
        };
        b.insert(&ImportRecord::new(sample).unwrap()).unwrap();
    }
    b.commit().unwrap();
    let ids: Vec<i64> = (1..=SAMPLES as i64).collect();
    let mut shadow = Shadow::default();
    let mut n = 0u32;
    for op in ops {
        n += 1;
        match op {
            Op::Decide(s, r, d) => {
                let d = [Decision::Accept, Decision::Reject, Decision::Flag][d as usize];
                let head = store.sample(ids[s]).unwrap().head.id;
                store
                    .decide(&DecisionInput {
                        sample_id: ids[s],
                        revision_id: head,
                        reviewer: REVIEWERS[r],
                        decision: d,
                        reason: "",
                        adjudicates: false,
                    })
                    .unwrap();
                shadow.record(head, REVIEWERS[r], d);
            }
            Op::Stale(s, r) => {
                let head = store.sample(ids[s]).unwrap().head;
                let revs = store.revisions(ids[s]).unwrap();
                if let Some(old) = revs.iter().find(|x| x.id != head.id) {
                    let e = store
                        .decide(&DecisionInput {
                            sample_id: ids[s],
                            revision_id: old.id,
                            reviewer: REVIEWERS[r],
                            decision: Decision::Accept,
                            reason: "",
                            adjudicates: false,
                        })
                        .unwrap_err();
                    assert!(matches!(e, StoreError::Stale { .. }), "{e}");
                }
            }
            Op::Retract(s, r) => {
                let head = store.sample(ids[s]).unwrap().head.id;
                store
                    .add_review(ids[s], head, REVIEWERS[r], Decision::Retract, "undo")
                    .unwrap();
                shadow.record(head, REVIEWERS[r], Decision::Retract);
            }
            Op::Edit(s, r) => {
                let cur = store.sample(ids[s]).unwrap();
                let q = cur.head.content.question().unwrap_or("").to_string();
                let c = qa(&q, &format!("{}改{n}", REVIEWERS[r]));
                store
                    .add_revision_on(ids[s], cur.head.id, &c, REVIEWERS[r], &[])
                    .unwrap();
            }
            Op::Regenerate(s, take) => {
                let cur = store.sample(ids[s]).unwrap();
                let q = cur.head.content.question().unwrap_or("").to_string();
                let c = store
                    .add_candidate(ids[s], cur.head.id, &qa(&q, &format!("新{n}")), "gen", &[])
                    .unwrap();
                if take {
                    store.take_candidate(ids[s], c.id, "ana").unwrap();
                } else {
                    store.decline_candidate(ids[s], c.id).unwrap();
                    assert_eq!(store.sample(ids[s]).unwrap().head.id, cur.head.id);
                }
            }
            Op::Revert(s, k) => {
                let revs = store.revisions(ids[s]).unwrap();
                let to = revs[k % revs.len()].id;
                // A pending candidate cannot be reverted to; none is pending here.
                store.revert_to(ids[s], to, "bo").unwrap();
            }
            Op::Export => check_export(&store, ds, &shadow, dir.path(), n),
        }
    }
    check_export(&store, ds, &shadow, dir.path(), n + 1);
}

fn check_export(store: &Store, ds: i64, shadow: &Shadow, dir: &std::path::Path, n: u32) {
    let out = dir.join(format!("out{n}.jsonl"));
    export(
        store,
        ExportTarget::File(Format::Alpaca),
        &out,
        &policy::accepted(ds),
        &Card::default(),
    )
    .unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (q, a) = (
            v["instruction"].as_str().unwrap(),
            v["output"].as_str().unwrap(),
        );
        let id: i64 = q.trim_start_matches("问题").parse::<i64>().unwrap() + 1;
        let head = store.sample(id).unwrap().head;
        assert_eq!(
            head.content.answer(),
            Some(a),
            "#{id}: exported text is not the head"
        );
        assert!(
            shadow.someone_accepts(head.id),
            "#{id}: exported revision {} ({a}) that no reviewer stands by",
            head.number
        );
    }
    // And nothing accepted on its head was left out.
    let exported = text.lines().count();
    let expected = (1..=SAMPLES as i64)
        .filter(|id| {
            let head = store.sample(*id).unwrap().head.id;
            let accepts = shadow.someone_accepts(head);
            let rejects = REVIEWERS.iter().any(|who| {
                shadow
                    .standing
                    .get(&(head, *who))
                    .and_then(|s| s.last())
                    .is_some_and(|d| *d == Decision::Reject)
            });
            let flag_pending =
                store.sample(*id).unwrap().status == assay::model::ReviewStatus::Flagged;
            accepts && !rejects && !flag_pending
        })
        .count();
    assert_eq!(exported, expected, "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn exported_content_is_what_a_reviewer_accepted(ops in prop::collection::vec(op(), 1..40)) {
        run(ops);
    }
}

#[test]
fn an_accepted_sample_that_is_edited_or_regenerated_is_not_exported() {
    run(vec![
        Op::Decide(0, 0, 0),
        Op::Decide(1, 0, 0),
        Op::Decide(2, 0, 0),
        Op::Export,
        Op::Edit(0, 1),
        Op::Regenerate(1, true),
        Op::Regenerate(2, false),
        Op::Export,
        Op::Revert(0, 0),
        Op::Export,
    ]);
}
