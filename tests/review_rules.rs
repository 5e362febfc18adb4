//! `assay review accept|reject --filter QUERY` on the real binary: decisions by rule land only
//! on unreviewed samples outside the audit's draw, carry their query, and are never counted by
//! the audit as a person's review.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn assay(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("ASSAY_LOG", "off")
        .env("ASSAY_HOME", db.parent().unwrap().join("home"))
        .output()
        .unwrap()
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Six samples in dataset `d`, three with aspect 算术.
fn seeded() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let input = dir.path().join("d.jsonl");
    let mut text = String::new();
    for i in 0..6 {
        let aspect = if i % 2 == 0 { "算术" } else { "常识" };
        text.push_str(&format!(
            "{{\"instruction\": \"问题{i}\", \"output\": \"答案{i}\", \"aspect\": \"{aspect}\"}}\n"
        ));
    }
    std::fs::write(&input, text).unwrap();
    ok(assay(&db, &["import", input.to_str().unwrap()]));
    (dir, db)
}

fn count(db: &Path, sql: &str) -> i64 {
    assay::store::Store::open(db)
        .unwrap()
        .conn()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn audit_reviewed(db: &Path) -> u64 {
    let v: serde_json::Value = serde_json::from_str(&ok(assay(
        db,
        &["audit", "status", "--json", "--dataset", "d"],
    )))
    .unwrap();
    v["audits"][0]["status"]["reviewed"].as_u64().unwrap()
}

#[test]
fn a_rule_decides_unreviewed_samples_and_records_its_query() {
    let (_dir, db) = seeded();
    let dry = ok(assay(
        &db,
        &[
            "review",
            "accept",
            "--filter",
            "aspect:算术",
            "--dataset",
            "d",
            "--dry-run",
        ],
    ));
    assert!(dry.contains("would accept 3 samples"), "{dry}");
    assert_eq!(count(&db, "SELECT count(*) FROM reviews"), 0);

    let out = ok(assay(
        &db,
        &[
            "review",
            "accept",
            "--filter",
            "aspect:算术",
            "--dataset",
            "d",
        ],
    ));
    assert!(out.contains("accept: 3 samples"), "{out}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM samples WHERE status = 'accepted'"
        ),
        3
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM reviews WHERE rule = 'filter: aspect:算术'"
        ),
        3
    );
    // A person's decision is never overridden by a rule.
    ok(assay(&db, &["review", "reject", "2"]));
    let out = ok(assay(&db, &["review", "accept", "--filter", "dataset:d"]));
    assert!(
        out.contains("accept: 2 samples") && out.contains("4 already decided"),
        "{out}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM samples WHERE status = 'rejected'"
        ),
        1
    );
}

#[test]
fn the_audit_never_counts_a_rule_and_its_draw_is_left_for_a_person() {
    let (_dir, db) = seeded();
    // Decided by rule first, then drawn: the audit sees six samples nobody looked at.
    ok(assay(
        &db,
        &[
            "review",
            "accept",
            "--filter",
            "aspect:算术",
            "--dataset",
            "d",
        ],
    ));
    ok(assay(&db, &["audit", "draw", "--dataset", "d"]));
    assert_eq!(audit_reviewed(&db), 0, "a rule's accept is not a review");
    // A person's look counts, on top of the rule's decision.
    ok(assay(&db, &["review", "accept", "1"]));
    assert_eq!(audit_reviewed(&db), 1);
    // With the draw in place, a rule leaves every drawn sample for a person.
    let out = ok(assay(
        &db,
        &[
            "review",
            "reject",
            "--filter",
            "aspect:常识",
            "--dataset",
            "d",
        ],
    ));
    assert!(
        out.contains("reject: 0 samples") && out.contains("3 drawn for the audit"),
        "{out}"
    );
}

#[test]
fn a_rule_takes_filter_keys_only_and_never_flags() {
    let (_dir, db) = seeded();
    let fuzzy = assay(
        &db,
        &[
            "review",
            "accept",
            "--filter",
            "问题 aspect:算术",
            "--dataset",
            "d",
        ],
    );
    assert_eq!(fuzzy.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&fuzzy.stderr).contains("fuzzy text"),
        "{fuzzy:?}"
    );
    let flag = assay(&db, &["review", "flag", "--filter", "dataset:d"]);
    assert_eq!(flag.status.code(), Some(1));
    let no_dataset = assay(&db, &["review", "accept", "--filter", "aspect:算术"]);
    assert!(
        String::from_utf8_lossy(&no_dataset.stderr).contains("name the dataset"),
        "{no_dataset:?}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM reviews"), 0);
}

#[test]
fn a_saved_view_is_a_named_query_for_rules_and_the_search() {
    let (_dir, db) = seeded();
    let bad = assay(&db, &["views", "save", "x", "status:nonsense"]);
    assert_eq!(
        bad.status.code(),
        Some(1),
        "an unreadable query is refused when saved"
    );
    ok(assay(
        &db,
        &["views", "save", "arith", "aspect:算术 dataset:d"],
    ));
    let list = ok(assay(&db, &["views", "list"]));
    assert!(list.contains("view:arith  aspect:算术 dataset:d"), "{list}");
    let out = ok(assay(&db, &["review", "accept", "--filter", "view:arith"]));
    assert!(out.contains("accept: 3 samples"), "{out}");
    let unknown = assay(&db, &["review", "accept", "--filter", "view:nope"]);
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("saved views: arith"),
        "{unknown:?}"
    );
    ok(assay(&db, &["views", "rm", "arith"]));
    assert!(ok(assay(&db, &["views", "list"])).contains("no saved views"));

    // In the TUI's search, view:NAME stands for its query.
    let mut store = assay::store::Store::open(&db).unwrap();
    store
        .save_view("todo", "status:unreviewed", "tester")
        .unwrap();
    let mut h = assay::tui::harness::Harness::new(store, 80, 24, None).unwrap();
    h.keys("/");
    h.type_text("view:todo");
    let f = h.frame();
    assert!(f.contains("search in d · status:unreviewed"), "{f}");
    assert!(f.contains("3 matches"), "{f}");
}
