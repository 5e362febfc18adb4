//! The audit on a real SQLite file: draw, progress, top-up, gate messages, waivers, CLI JSON.

use assay::audit::{self, DrawOutcome, DrawPlan};
use assay::model::{Content, Decision, NewSample, SampleKind, SampleMeta, Source, Turn};
use assay::store::{DecisionInput, Filter, ImportRecord, Store};

fn add(store: &mut Store, ds: i64, from: usize, n: usize) {
    let mut b = store.import_batch(ds, "import").unwrap();
    for i in from..from + n {
        let content = Content {
            turns: vec![
                Turn::user(format!("问题 {i}")),
                Turn::assistant(format!("答 {i}")),
            ],
            ..Content::default()
        };
        let sample = NewSample {
            kind: SampleKind::Qa,
            content,
            source: Source::File {
                path: if i % 4 == 0 { "b.jsonl" } else { "a.jsonl" }.into(),
                line: i as u64,
            },
            meta: SampleMeta {
                aspect: Some(if i % 2 == 0 { "tax" } else { "law" }.into()),
                ..SampleMeta::default()
            },
        };
        b.insert(&ImportRecord::new(sample).unwrap()).unwrap();
    }
    b.commit().unwrap();
}

fn review_all(store: &mut Store, ids: &[i64], reject_every: usize) {
    for (i, id) in ids.iter().enumerate() {
        let rev = store.sample(*id).unwrap().head.id;
        let d = if reject_every > 0 && i % reject_every == 0 {
            Decision::Reject
        } else {
            Decision::Accept
        };
        store.add_review(*id, rev, "ana", d, "").unwrap();
    }
}

#[test]
fn draw_review_gate_top_up_and_waive() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let ds = store.ensure_dataset("tax").unwrap();
    add(&mut store, ds, 0, 1000);

    let g = audit::gate(&store, ds).unwrap();
    assert!(!g.is_open());
    assert!(g.missing().unwrap().contains("has no audit"), "{g:?}");

    let plan = DrawPlan {
        size: Some(50),
        ..DrawPlan::seeded(42)
    };
    let out = audit::draw(&mut store, ds, &plan).unwrap();
    let DrawOutcome::Drawn {
        audit_id,
        drawn,
        population,
        note,
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!((drawn, population), (100, 1000));
    // Asked for 50, drew 100: the outcome says why.
    assert!(note.unwrap().contains("at least 100"));
    let ids = store.audit_sample_ids(audit_id).unwrap();
    assert_eq!(ids.len(), 100);

    // Review 63 of them: the gate names the 37 left.
    review_all(&mut store, &ids[..63], 0);
    let g = audit::gate(&store, ds).unwrap();
    assert_eq!(
        g.missing().unwrap(),
        "audit of tax: 37 of 100 drawn samples not reviewed yet; run `assay` and press `A` for \
         the audit screen, then review each one (`a` accept, `x` reject)"
    );

    review_all(&mut store, &ids[63..], 0);
    let g = audit::gate(&store, ds).unwrap();
    assert!(g.is_open(), "{g:?}");
    assert_eq!(g.status().defects, 0);
    assert!((g.status().defect_rate_upper_95 - 0.0362).abs() < 1e-4);

    // Samples added later are not covered until a top-up at the same 10% rate.
    add(&mut store, ds, 1000, 200);
    let g = audit::gate(&store, ds).unwrap();
    assert!(
        g.missing().unwrap().contains("200 samples were added"),
        "{g:?}"
    );
    let out = audit::draw(&mut store, ds, &DrawPlan::seeded(42)).unwrap();
    assert!(
        matches!(
            out,
            DrawOutcome::ToppedUp {
                added: 200,
                drawn: 20,
                round: 1,
                ..
            }
        ),
        "{out:?}"
    );
    let ids = store.audit_sample_ids(audit_id).unwrap();
    assert_eq!(ids.len(), 120);
    assert!(ids[100..].iter().all(|id| *id > 1000));
    review_all(&mut store, &ids[100..], 4);
    let g = audit::gate(&store, ds).unwrap();
    assert!(g.is_open());
    assert_eq!(g.status().defects, 5);
    assert!(matches!(
        audit::draw(&mut store, ds, &DrawPlan::seeded(1)).unwrap(),
        DrawOutcome::UpToDate { .. }
    ));

    // A waiver is recorded with what was missing and shows in the card text.
    add(&mut store, ds, 2000, 3);
    assert!(audit::waiver_text(&store, ds).unwrap().is_none());
    let w = audit::waive(&mut store, ds, "deadline", "bo").unwrap();
    assert!(w.missing.contains("3 samples were added"));
    let text = audit::waiver_text(&store, ds).unwrap().unwrap();
    assert!(
        text.contains("waived by bo") && text.contains("deadline"),
        "{text}"
    );
    assert_eq!(store.count(&Filter::dataset(ds)).unwrap(), 1203);
}

#[test]
fn stratified_by_source_and_aspect_on_a_real_db() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let ds = store.ensure_dataset("d").unwrap();
    add(&mut store, ds, 0, 400);
    let pop = store.audit_population(ds, 0).unwrap();
    let strata: std::collections::BTreeSet<&str> = pop.iter().map(|p| p.1.as_str()).collect();
    assert_eq!(strata.len(), 3, "{strata:?}"); // a/tax, a/law, b/tax
    audit::draw(&mut store, ds, &DrawPlan::seeded(9)).unwrap();
    let a = store.latest_audit(ds).unwrap().unwrap();
    let drawn = store.audit_sample_ids(a.id).unwrap();
    let b_count = drawn
        .iter()
        .filter(|id| {
            pop.iter()
                .any(|p| p.0 == **id && p.1.starts_with("b.jsonl"))
        })
        .count();
    assert_eq!(b_count, 25);
}

#[test]
fn small_dataset_is_audited_whole_and_cli_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    {
        let mut store = Store::open(&db).unwrap();
        let ds = store.ensure_dataset("tiny").unwrap();
        add(&mut store, ds, 0, 12);
    }
    // ASSAY_BIN overrides the binary (a shared target directory may be rebuilt meanwhile).
    let bin = std::env::var("ASSAY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_assay").into());
    let out = std::process::Command::new(&bin)
        .args([
            "--db",
            db.to_str().unwrap(),
            "audit",
            "draw",
            "--dataset",
            "tiny",
            "--seed",
            "3",
        ])
        .env("ASSAY_HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(&bin)
        .args([
            "--db",
            db.to_str().unwrap(),
            "audit",
            "status",
            "--json",
            "--dataset",
            "tiny",
        ])
        .env("ASSAY_HOME", dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["audits"][0]["status"];
    assert_eq!(s["drawn"], 12);
    assert_eq!(s["reviewed"], 0);
    assert_eq!(v["audits"][0]["gate"], "blocked");
    assert!(
        v["audits"][0]["missing"]
            .as_str()
            .unwrap()
            .contains("12 of 12 drawn samples not reviewed")
    );
}

fn decide(store: &mut Store, id: i64, who: &str, d: Decision, adjudicates: bool) {
    let rev = store.sample(id).unwrap().head.id;
    store
        .decide(&DecisionInput {
            sample_id: id,
            revision_id: rev,
            reviewer: who,
            decision: d,
            reason: "",
            adjudicates,
        })
        .unwrap();
}

#[test]
fn the_threshold_decides_and_says_which_way() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let ds = store.ensure_dataset("big").unwrap();
    add(&mut store, ds, 0, 300);
    let out = audit::draw(&mut store, ds, &DrawPlan::seeded(1)).unwrap();
    assert!(
        matches!(
            out,
            DrawOutcome::Drawn {
                drawn: 100,
                note: None,
                ..
            }
        ),
        "{out:?}"
    );
    let ids = store
        .audit_sample_ids(store.latest_audit(ds).unwrap().unwrap().id)
        .unwrap();
    // 7 defects of 100: every item reviewed, but the bound (~13.9%) is above 10%.
    for (i, id) in ids.iter().enumerate() {
        let d = if i < 7 {
            Decision::Reject
        } else {
            Decision::Accept
        };
        decide(&mut store, *id, "ana", d, false);
    }
    let g = audit::gate(&store, ds).unwrap();
    assert!(g.status().complete && !g.status().passed, "{g:?}");
    let missing = g.missing().unwrap();
    assert!(
        missing.contains("audit of big failed: 7 defects in 100 reviewed"),
        "{missing}"
    );
    assert!(
        missing.contains("two-sided 95% Clopper-Pearson interval on the defect rate is 13.9%"),
        "{missing}"
    );
    assert!(missing.contains("threshold 10.0%"), "{missing}");

    // A fresh audit with a threshold chosen up front can pass on the same data.
    let plan = DrawPlan {
        max_defect_rate: 0.5,
        fresh: true,
        ..DrawPlan::seeded(2)
    };
    audit::draw(&mut store, ds, &plan).unwrap();
    let a = store.latest_audit(ds).unwrap().unwrap();
    for id in store.audit_sample_ids(a.id).unwrap() {
        if store.sample(id).unwrap().status == assay::model::ReviewStatus::Unreviewed {
            decide(&mut store, id, "ana", Decision::Accept, false);
        }
    }
    let g = audit::gate(&store, ds).unwrap();
    assert!(g.is_open(), "{g:?}");
    assert!(
        g.message().starts_with("audit of big passed"),
        "{}",
        g.message()
    );
}

#[test]
fn a_small_dataset_reviewed_whole_is_a_census() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let ds = store.ensure_dataset("small").unwrap();
    add(&mut store, ds, 0, 32);
    let out = audit::draw(&mut store, ds, &DrawPlan::seeded(1)).unwrap();
    let DrawOutcome::Drawn { drawn, note, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(drawn, 32);
    assert!(note.unwrap().contains("drew all 32"));
    let ids = store
        .audit_sample_ids(store.latest_audit(ds).unwrap().unwrap().id)
        .unwrap();
    for (i, id) in ids.iter().enumerate() {
        let d = if i < 7 {
            Decision::Reject
        } else {
            Decision::Accept
        };
        decide(&mut store, *id, "ana", d, false);
    }
    // Nothing is estimated: 7 of 32 is exactly 21.9%, above 10%.
    let g = audit::gate(&store, ds).unwrap();
    assert!(g.status().census && !g.status().passed);
    assert!(
        g.missing()
            .unwrap()
            .contains("the defect rate is exactly 21.9%"),
        "{g:?}"
    );
    // One defect in 32 (3.1%) passes: a small dataset reviewed whole can be used.
    for id in &ids[1..7] {
        decide(&mut store, *id, "ana", Decision::Accept, false);
    }
    assert!(audit::gate(&store, ds).unwrap().is_open());
}

#[test]
fn flags_stay_pending_and_conflicts_wait_for_an_adjudication() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("c.db")).unwrap();
    let ds = store.ensure_dataset("d").unwrap();
    add(&mut store, ds, 0, 100);
    audit::draw(&mut store, ds, &DrawPlan::seeded(3)).unwrap();
    let ids = store
        .audit_sample_ids(store.latest_audit(ds).unwrap().unwrap().id)
        .unwrap();
    for id in &ids[2..] {
        decide(&mut store, *id, "ana", Decision::Accept, false);
    }
    // A flag is neither reviewed nor a defect.
    decide(&mut store, ids[0], "ana", Decision::Flag, false);
    // Two reviewers disagree: neither wins silently.
    decide(&mut store, ids[1], "ana", Decision::Accept, false);
    decide(&mut store, ids[1], "bo", Decision::Reject, false);
    let s = audit::status(&store, ds).unwrap();
    assert_eq!((s.reviewed, s.defects, s.pending), (98, 0, 2));
    let g = audit::gate(&store, ds).unwrap();
    assert!(
        g.missing()
            .unwrap()
            .contains("2 drawn samples are flagged or in conflict"),
        "{g:?}"
    );
    let conflicts = store.conflicts(ds).unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].sample_id, ids[1]);
    assert_eq!(conflicts[0].decisions.len(), 2);

    // The second look decides the flag; one adjudication settles the conflict.
    decide(&mut store, ids[0], "bo", Decision::Accept, false);
    decide(&mut store, ids[1], "cy", Decision::Reject, true);
    assert!(store.conflicts(ds).unwrap().is_empty());
    let s = audit::status(&store, ds).unwrap();
    assert_eq!((s.reviewed, s.defects, s.pending), (100, 1, 0));
    assert!(audit::gate(&store, ds).unwrap().is_open());
}

#[test]
fn cli_lists_conflicts_and_adjudicates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    {
        let mut store = Store::open(&db).unwrap();
        let ds = store.ensure_dataset("two").unwrap();
        add(&mut store, ds, 0, 3);
        decide(&mut store, 2, "ana", Decision::Accept, false);
        decide(&mut store, 2, "bo", Decision::Reject, false);
    }
    let bin = std::env::var("ASSAY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_assay").into());
    let run = |args: &[&str]| -> serde_json::Value {
        let out = std::process::Command::new(&bin)
            .args(["--db", db.to_str().unwrap(), "--reviewer", "cy", "audit"])
            .args(args)
            .env("ASSAY_HOME", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = run(&["conflicts", "--dataset", "two"]);
    assert_eq!(v["conflicts"].as_array().unwrap().len(), 1);
    assert_eq!(v["conflicts"][0]["sample_id"], 2);
    let v = run(&["adjudicate", "2", "reject", "--reason", "金额算错"]);
    assert_eq!(v["status"], "rejected");
    let v = run(&["conflicts", "--dataset", "two"]);
    assert!(v["conflicts"].as_array().unwrap().is_empty());
    let store = Store::open(&db).unwrap();
    let r = store.reviews(2).unwrap();
    assert!(r.last().unwrap().adjudicates && r.last().unwrap().reviewer == "cy");
}
