//! The store on a real SQLite file: import batches, duplicates, revisions, reviews, verdicts,
//! paging and two connections writing at once.

use assay::model::{
    Content, Decision, NewSample, NewVerdict, ReviewStatus, SampleKind, SampleMeta, Source, Turn,
    VerdictSummary,
};
use assay::store::{Filter, ImportRecord, InsertOutcome, Store};

fn qa(q: &str, a: &str, line: u64) -> NewSample {
    NewSample {
        kind: SampleKind::Qa,
        content: Content {
            turns: vec![Turn::user(q), Turn::assistant(a)],
            ..Content::default()
        },
        source: Source::File {
            path: "in.jsonl".into(),
            line,
        },
        meta: SampleMeta {
            aspect: Some("数学".into()),
            tags: vec!["t1".into()],
            ..SampleMeta::default()
        },
    }
}

fn fill(store: &mut Store, dataset: &str, n: u64) -> (i64, Vec<InsertOutcome>) {
    let id = store.ensure_dataset(dataset).unwrap();
    let mut batch = store.import_batch(id, "import").unwrap();
    let out = (0..n)
        .map(|i| {
            let rec =
                ImportRecord::new(qa(&format!("问题 {i}?"), &format!("答案 {i}"), i + 1)).unwrap();
            batch.insert(&rec).unwrap()
        })
        .collect();
    batch.commit().unwrap();
    (id, out)
}

#[test]
fn reimport_is_a_noop_and_content_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut store = Store::open(&path).unwrap();
    let (ds, first) = fill(&mut store, "d", 50);
    assert!(
        first
            .iter()
            .all(|o| matches!(o, InsertOutcome::Inserted(_)))
    );
    let (_, second) = fill(&mut store, "d", 50);
    assert!(second.iter().all(|o| *o == InsertOutcome::Duplicate));
    assert_eq!(store.count(&Filter::dataset(ds)).unwrap(), 50);
    // The same content in another dataset is a new sample.
    let (other, third) = fill(&mut store, "e", 5);
    assert!(
        third
            .iter()
            .all(|o| matches!(o, InsertOutcome::Inserted(_)))
    );
    assert_eq!(store.count(&Filter::dataset(other)).unwrap(), 5);

    drop(store);
    let store = Store::open(&path).unwrap();
    let rows = store.list_page(&Filter::dataset(ds), None, 3).unwrap();
    let s = store.sample(rows[1].id).unwrap();
    assert_eq!(s.head.content.question(), Some("问题 1?"));
    assert_eq!(s.head.number, 1);
    assert_eq!(s.meta.aspect.as_deref(), Some("数学"));
    assert_eq!(s.meta.tags, vec!["t1".to_string()]);
    assert_eq!(
        s.source,
        Source::File {
            path: "in.jsonl".into(),
            line: 2
        }
    );
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn edits_add_revisions_and_reset_the_verdict() {
    let mut store = Store::open_in_memory().unwrap();
    let (_, out) = fill(&mut store, "d", 1);
    let InsertOutcome::Inserted(id) = out[0] else {
        panic!()
    };
    let s = store.sample(id).unwrap();
    store
        .add_verdict(
            s.head.id,
            &NewVerdict {
                verifier: "golden_match".into(),
                model: None,
                passed: false,
                score: Some(0.0),
                rationale: "错".into(),
                first_wrong_step: Some(2),
            },
        )
        .unwrap();
    assert_eq!(store.sample(id).unwrap().verdict, VerdictSummary::Fail);
    let mut edited = s.head.content.clone();
    edited.turns[1].content = "改过的答案".into();
    let rev = store.add_revision(id, &edited, "alice").unwrap();
    assert_eq!(rev.number, 2);
    let now = store.sample(id).unwrap();
    assert_eq!(now.head.content.answer(), Some("改过的答案"));
    assert_eq!(now.verdict, VerdictSummary::None);
    let revs = store.revisions(id).unwrap();
    assert_eq!(revs.len(), 2);
    assert_eq!(
        revs[0].content.answer(),
        Some("答案 0"),
        "the old revision stays"
    );
    assert_eq!(store.verdicts(revs[0].id).unwrap().len(), 1);
}

#[test]
fn reviews_set_status_and_retract_undoes() {
    let mut store = Store::open_in_memory().unwrap();
    let (ds, out) = fill(&mut store, "d", 3);
    let InsertOutcome::Inserted(id) = out[0] else {
        panic!()
    };
    let rev = store.sample(id).unwrap().head.id;
    store
        .add_review(id, rev, "alice", Decision::Reject, "wrong")
        .unwrap();
    store
        .add_review(id, rev, "alice", Decision::Accept, "")
        .unwrap();
    assert_eq!(store.sample(id).unwrap().status, ReviewStatus::Accepted);
    store
        .add_review(id, rev, "alice", Decision::Retract, "undo")
        .unwrap();
    assert_eq!(store.sample(id).unwrap().status, ReviewStatus::Rejected);
    store
        .add_review(id, rev, "alice", Decision::Retract, "undo")
        .unwrap();
    assert_eq!(store.sample(id).unwrap().status, ReviewStatus::Unreviewed);
    assert_eq!(store.reviews(id).unwrap().len(), 4, "history is kept");
    let f = Filter {
        statuses: vec![ReviewStatus::Unreviewed],
        ..Filter::dataset(ds)
    };
    assert_eq!(store.count(&f).unwrap(), 3);
}

#[test]
fn pages_are_keyed_and_filters_combine() {
    let mut store = Store::open_in_memory().unwrap();
    let (ds, _) = fill(&mut store, "d", 25);
    let f = Filter::dataset(ds);
    let p1 = store.list_page(&f, None, 10).unwrap();
    let p2 = store.list_page(&f, Some(p1[9].id), 10).unwrap();
    let p3 = store.list_page(&f, Some(p2[9].id), 10).unwrap();
    assert_eq!((p1.len(), p2.len(), p3.len()), (10, 10, 5));
    let back = store.list_page_before(&f, Some(p2[0].id), 10).unwrap();
    assert_eq!(back, p1);
    let tagged = Filter {
        tags: vec!["t1".into()],
        kinds: vec![SampleKind::Qa],
        ..f.clone()
    };
    assert_eq!(store.count(&tagged).unwrap(), 25);
    let none = Filter {
        kinds: vec![SampleKind::Cot],
        ..f
    };
    assert_eq!(store.count(&none).unwrap(), 0);
}

#[test]
fn two_connections_write_at_once_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let (ds, out) = fill(&mut Store::open(&path).unwrap(), "d", 200);
    let ids: Vec<i64> = out
        .iter()
        .map(|o| match o {
            InsertOutcome::Inserted(id) => *id,
            InsertOutcome::Duplicate => unreachable!(),
        })
        .collect();
    let handles: Vec<_> = ["alice", "bob"]
        .into_iter()
        .map(|who| {
            let path = path.clone();
            let ids = ids.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).unwrap();
                for id in ids {
                    let rev = store.sample(id).unwrap().head.id;
                    store
                        .add_review(id, rev, who, Decision::Accept, "")
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let n: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM reviews", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 400);
    let f = Filter {
        statuses: vec![ReviewStatus::Accepted],
        ..Filter::dataset(ds)
    };
    assert_eq!(store.count(&f).unwrap(), 200);
}

#[test]
fn a_batch_commits_sample_verdicts_and_revisions_together_or_not_at_all() {
    let mut store = Store::open_in_memory().unwrap();
    let ds = store.ensure_dataset("cot").unwrap();
    let verdict = |passed| NewVerdict {
        verifier: "golden_match".into(),
        model: None,
        passed,
        score: None,
        rationale: String::new(),
        first_wrong_step: None,
    };
    let mut repaired = qa("1+1?", "2", 1).content;
    repaired.turns[1].content = "二".into();
    let write = |store: &mut Store, commit: bool| {
        let mut batch = store.import_batch(ds, "gen:cot").unwrap();
        let InsertOutcome::Inserted(id) = batch
            .insert(&ImportRecord::new(qa("1+1?", "3", 1)).unwrap())
            .unwrap()
        else {
            panic!("duplicate")
        };
        let rev1 = batch.last_revision_id();
        batch.add_verdict(rev1, &verdict(false)).unwrap();
        let rev2 = batch.add_revision(id, &repaired, "gen:cot-search").unwrap();
        batch.add_verdict(rev2, &verdict(true)).unwrap();
        // A later sample in the same batch still gets fresh ids.
        batch
            .insert(&ImportRecord::new(qa("2+2?", "4", 2)).unwrap())
            .unwrap();
        if commit {
            batch.commit().unwrap();
        }
        id
    };
    write(&mut store, false); // dropped: as if killed before the commit
    assert_eq!(store.count(&Filter::dataset(ds)).unwrap(), 0);
    let id = write(&mut store, true);
    let s = store.sample(id).unwrap();
    assert_eq!((s.head.number, s.verdict), (2, VerdictSummary::Pass));
    let revs = store.revisions(id).unwrap();
    assert_eq!(store.verdicts(revs[0].id).unwrap().len(), 1);
    assert_eq!(store.count(&Filter::dataset(ds)).unwrap(), 2);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

/// `insert_many` goes in multi-row statements; a chunk mixing new records, records already
/// stored and a repeat within the chunk must link every new sample to its own revision.
#[test]
fn insert_many_mixes_new_and_duplicate_records_and_links_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut store = Store::open(&path).unwrap();
    // Every third of 0..40 is stored first.
    let ds = store.ensure_dataset("d").unwrap();
    let rec =
        |i: u64| ImportRecord::new(qa(&format!("问题 {i}?"), &format!("答案 {i}"), i + 1)).unwrap();
    let mut batch = store.import_batch(ds, "import").unwrap();
    for i in (0..100).step_by(3) {
        batch.insert(&rec(i)).unwrap();
    }
    batch.commit().unwrap();

    // 100 records plus a repeat of record 7: several full 32-row statements and a tail.
    let mut recs: Vec<ImportRecord> = (0..100).map(rec).collect();
    recs.insert(10, rec(7));
    let mut batch = store.import_batch(ds, "import").unwrap();
    let mut out = Vec::new();
    batch.insert_many(&recs, &mut out).unwrap();
    batch.commit().unwrap();
    assert_eq!(out.len(), recs.len());
    let inserted: Vec<i64> = out
        .iter()
        .filter_map(|o| match o {
            InsertOutcome::Inserted(id) => Some(*id),
            InsertOutcome::Duplicate => None,
        })
        .collect();
    // 34 were there before, and the repeat of 7 is a duplicate of the first 7 of this chunk.
    assert_eq!(inserted.len(), 100 - 34);
    assert_eq!(store.count(&Filter::dataset(ds)).unwrap(), 100);
    for (rec, o) in recs.iter().zip(&out) {
        if let InsertOutcome::Inserted(id) = o {
            let s = store.sample(*id).unwrap();
            assert_eq!(s.head.content, rec.sample.content, "sample {id}");
            assert_eq!(s.head.number, 1);
            assert_eq!(s.meta.tags, vec!["t1".to_string()]);
        }
    }
    // Foreign keys are enforced again once the batch is over, and the file is sound.
    let fk: i64 = store
        .conn()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let dangling: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

/// The export scan sees the same samples, in the same order and with the same content, metadata
/// and source, as the one-thread scan; without `with_source` it leaves the source out; and an
/// error from the consumer stops it and comes back.
#[test]
fn export_scan_matches_the_plain_scan_and_stops_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let (ds, _) = fill(&mut store, "d", 1000);
    let filter = Filter::dataset(ds);
    let mut plain = Vec::new();
    store
        .for_each_sample(&filter, |s| {
            plain.push(s);
            Ok(())
        })
        .unwrap();
    for with_source in [true, false] {
        let mut piped = Vec::new();
        let n = store
            .for_each_export_sample(&filter, with_source, |s| {
                piped.push(s);
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 1000);
        let expected: Vec<_> = plain
            .iter()
            .map(|s| assay::store::ExportSample {
                id: s.id,
                kind: s.kind,
                content: s.head.content.clone(),
                meta: s.meta.clone(),
                source: with_source.then(|| s.source.clone()),
            })
            .collect();
        assert_eq!(expected, piped);
    }

    let mut seen = 0;
    let err = store
        .for_each_export_sample(&filter, false, |_| {
            seen += 1;
            if seen == 300 {
                anyhow::bail!("disk full at sample 300");
            }
            Ok(())
        })
        .unwrap_err();
    assert_eq!(seen, 300);
    assert!(err.to_string().contains("disk full"), "{err}");
}
