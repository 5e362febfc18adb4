//! `assay demo --no-tui` on the real binary: every bundled file loads with nothing rejected and
//! every bundled verdict finds its sample.

use assay::model::{SampleKind, VerdictSummary};
use assay::store::{Filter, Store};
use std::process::Command;

#[test]
fn demo_loads_every_bundled_file_and_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "demo",
            "--no-tui",
            "--no-model",
        ])
        .env("ASSAY_HOME", dir.path())
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in stdout.lines().filter(|l| l.contains("imported into")) {
        assert!(line.ends_with(" 0 rejected"), "{line}");
    }

    let store = Store::open(&db).unwrap();
    let count = |name: &str| {
        store
            .count(&Filter::dataset(store.require_dataset(name).unwrap()))
            .unwrap()
    };
    assert!(count("cot-math") >= 30);
    assert!(count("logic-mc") >= 20);
    assert!(count("alpaca-qa") >= 30);
    assert!(count("xtuner-dialogues") >= 10);
    assert!(count("agent-trajectories") >= 10);
    let docs = store.require_dataset("docs").unwrap();
    let chunks = Filter {
        kinds: vec![SampleKind::Pretrain],
        ..Filter::dataset(docs)
    };
    assert!(
        store.count(&chunks).unwrap() >= 20,
        "the 20,000-character document is chunked"
    );

    // The deliberately wrong CoT solutions carry failing verdicts, so the review screen has
    // something to catch.
    let cot = store.require_dataset("cot-math").unwrap();
    let failing = Filter {
        verdicts: vec![VerdictSummary::Fail, VerdictSummary::Mixed],
        ..Filter::dataset(cot)
    };
    assert!(store.count(&failing).unwrap() >= 5);
    let n: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM verdicts", [], |r| r.get(0))
        .unwrap();
    let lines = assay::sample_data::VERDICTS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(n as usize, lines, "every bundled verdict is attached");
}

#[test]
fn a_second_demo_keeps_the_reviewers_work_unless_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_assay"))
            .arg("--db")
            .arg(&db)
            .args(args)
            .env("ASSAY_HOME", dir.path())
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let first = run(&["demo", "--no-tui", "--no-model"]);
    assert!(first.status.success(), "{first:?}");
    let stdout = String::from_utf8_lossy(&first.stdout);
    // A person's view (not JSON), and how to point other commands at the demo's file.
    assert!(stdout.contains("cot-math: "), "{stdout}");
    assert!(stdout.contains("pass --db"), "{stdout}");
    let decided = run(&["review", "accept", "1"]);
    assert!(decided.status.success(), "{decided:?}");

    let again = run(&["demo", "--no-tui", "--no-model"]);
    assert!(again.status.success(), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("holds your earlier demo work (1 review"),
        "{again:?}"
    );
    let reviews = |db: &std::path::Path| -> i64 {
        Store::open(db)
            .unwrap()
            .conn()
            .query_row("SELECT count(*) FROM reviews", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(reviews(&db), 1, "the decision survived the second demo");

    let fresh = run(&["demo", "--no-tui", "--no-model", "--fresh"]);
    assert!(fresh.status.success(), "{fresh:?}");
    assert_eq!(reviews(&db), 0, "--fresh starts over");
}
