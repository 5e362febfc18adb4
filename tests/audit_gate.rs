//! The audit on a real SQLite file: draw, progress, top-up, gate messages, waivers, CLI JSON.

use assay::audit::{self, DrawOutcome};
use assay::model::{Content, Decision, NewSample, SampleKind, SampleMeta, Source, Turn};
use assay::store::{Filter, ImportRecord, Store};

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

    let out = audit::draw(&mut store, ds, Some(50), 42).unwrap();
    let DrawOutcome::Drawn {
        audit_id,
        drawn,
        population,
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!((drawn, population), (100, 1000));
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
    let out = audit::draw(&mut store, ds, None, 42).unwrap();
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
        audit::draw(&mut store, ds, None, 1).unwrap(),
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
    audit::draw(&mut store, ds, None, 9).unwrap();
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
