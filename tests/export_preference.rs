//! Preference exports from a real review history on a real SQLite file, made through the real
//! binary: decisions and edits with `assay review`, then `assay export --format dpo | kto |
//! stepwise | llamafactory-dpo | llamafactory-kto`. Each case a reviewer can produce is checked:
//! a rejected answer replaced by an accepted edit is a pair, a declined candidate is a pair, an
//! edited question pairs with nothing, each decision is a KTO label, a verdict naming a wrong
//! step gives the steps up to it, and every sample left out is counted with its reason. The
//! real tools (LLaMA-Factory, TRL) load these files in the conformance suite.

mod support;

use assay::model::{Content, NewVerdict, SampleKind, Turn};
use assay::store::Store;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use support::fixtures::seed;

fn bin() -> String {
    std::env::var("ASSAY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_assay").into())
}

/// Runs assay on `db` as reviewer `ana`; (success, stdout, stderr).
fn assay(db: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin())
        .arg("--db")
        .arg(db)
        .args(["--reviewer", "ana"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(db: &Path, args: &[&str]) -> String {
    let (success, stdout, stderr) = assay(db, args);
    assert!(success, "assay {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

fn qa(q: &str, a: &str) -> Content {
    Content {
        turns: vec![Turn::user(q), Turn::assistant(a)],
        ..Content::default()
    }
}

fn cot(q: &str, steps: &str, answer: &str) -> Content {
    Content {
        turns: vec![Turn::user(q), Turn::assistant(answer).with_reasoning(steps)],
        golden: Some("6".into()),
        ..Content::default()
    }
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn export(db: &Path, format: &str, out: &Path) -> String {
    ok(
        db,
        &[
            "export",
            "--dataset",
            "d",
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
            "--force",
            "preference test",
        ],
    )
}

/// Samples 1-5 (QA) with these histories:
/// 1. rev 1 rejected, edited to rev 2 (`assay review edit`), rev 2 accepted: a pair.
/// 2. accepted as imported: no pair.
/// 3. rev 1 rejected, its question edited in rev 2, accepted: no pair (another prompt).
/// 4. a regenerated candidate declined, the original accepted: a pair.
/// 5. rejected as imported.
fn qa_history(db: &Path) {
    let mut store = Store::open(db).unwrap();
    seed(
        &mut store,
        "d",
        vec![
            (SampleKind::Qa, qa("一斤苹果5元，买3斤多少钱？", "12元")),
            (SampleKind::Qa, qa("What is 2+2?", "4")),
            (SampleKind::Qa, qa("法国的首都是？", "里昂")),
            (SampleKind::Qa, qa("水的化学式？", "H2O")),
            (SampleKind::Qa, qa("1+1=?", "3")),
        ],
    );
    let head3 = store.sample(3).unwrap().head;
    let head4 = store.sample(4).unwrap().head;
    drop(store);
    ok(
        db,
        &["review", "reject", "1", "3", "5", "--reason", "wrong"],
    );
    ok(db, &["review", "edit", "1", "--answer", "15元"]);
    ok(db, &["review", "accept", "1", "2", "--reason", "checked"]);

    let mut store = Store::open(db).unwrap();
    let mut edited = head3.content.clone();
    edited.turns[0].content = "法国的首都是哪座城市？".into();
    edited.turns[1].content = "巴黎".into();
    store
        .add_revision_on(3, head3.id, &edited, "ana", &[])
        .unwrap();
    let mut other = head4.content.clone();
    other.turns[1].content = "H2O2".into();
    let cand = store
        .add_candidate(4, head4.id, &other, "gen:regenerate", &[])
        .unwrap();
    store.decline_candidate(4, cand.id).unwrap();
    drop(store);
    ok(db, &["review", "accept", "3", "4"]);
}

#[test]
fn dpo_pairs_are_what_reviewers_rejected_against_what_they_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    qa_history(&db);

    let out = dir.path().join("dpo.jsonl");
    let summary = export(&db, "dpo", &out);
    let rows = lines(&out);
    assert_eq!(rows.len(), 2, "{summary}\n{rows:?}");
    let first = &rows[0];
    assert_eq!(first["prompt"][0]["content"], "一斤苹果5元，买3斤多少钱？");
    assert_eq!(first["chosen"][0]["role"], "assistant");
    assert_eq!(first["chosen"][0]["content"], "15元");
    assert_eq!(first["rejected"][0]["content"], "12元");
    assert_eq!(rows[1]["chosen"][0]["content"], "H2O");
    assert_eq!(rows[1]["rejected"][0]["content"], "H2O2");
    assert!(summary.starts_with("2 examples written"), "{summary}");
    assert!(
        summary.contains("skipped 1: the rejected revision has another prompt"),
        "{summary}"
    );
    assert!(
        summary.contains("skipped 1: no rejected or declined revision"),
        "{summary}"
    );

    // The LLaMA-Factory folder: the prompt without the answer, chosen and rejected as messages.
    let folder = dir.path().join("lf");
    export(&db, "llamafactory-dpo", &folder);
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("dataset_info.json")).unwrap())
            .unwrap();
    assert_eq!(info["d_dpo"]["ranking"], true);
    assert_eq!(info["d_dpo"]["columns"]["chosen"], "chosen");
    let rows = lines(&folder.join("d_dpo.jsonl"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["chosen"]["from"], "gpt");
    assert_eq!(rows[0]["chosen"]["value"], "15元");
    assert_eq!(rows[0]["rejected"]["value"], "12元");
    assert_eq!(rows[0]["system"], "");
    assert_eq!(rows[0]["tools"], "");
}

#[test]
fn kto_labels_are_the_decisions_on_each_revision() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    qa_history(&db);
    let out = dir.path().join("kto.jsonl");
    let summary = export(&db, "kto", &out);
    let rows = lines(&out);
    let got: Vec<(String, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["completion"][0]["content"].as_str().unwrap().to_string(),
                r["label"].as_bool().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, bool)> = [
        ("12元", false),
        ("15元", true),
        ("4", true),
        ("里昂", false),
        ("巴黎", true),
        ("H2O", true),
        ("3", false),
    ]
    .iter()
    .map(|(a, l)| (a.to_string(), *l))
    .collect();
    assert_eq!(got, want, "{summary}");
    // The declined candidate had no decision of its own: no label.
    assert!(!got.iter().any(|(a, _)| a == "H2O2"));

    let folder = dir.path().join("lf");
    export(&db, "llamafactory-kto", &folder);
    let rows = lines(&folder.join("d_kto.jsonl"));
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0]["kto_tag"], false);
    assert_eq!(rows[0]["conversations"].as_array().unwrap().len(), 2);
    let info = std::fs::read_to_string(folder.join("dataset_info.json")).unwrap();
    assert!(info.contains("\"kto_tag\": \"kto_tag\""), "{info}");
}

#[test]
fn stepwise_labels_stop_at_the_first_wrong_step() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    let q = "绳子长12米，用去1/3，再用去剩下的1/4，还剩多少米？";
    seed(
        &mut store,
        "d",
        vec![
            (
                SampleKind::Cot,
                cot(
                    q,
                    "1. 12 × 1/3 = 4\n2. 12 × 1/4 = 3\n3. 12 − 4 − 3 = 5",
                    "答案是 5",
                ),
            ),
            (
                SampleKind::Cot,
                cot(
                    q,
                    "1. 12 × 1/3 = 4\n2. 12 − 4 = 8\n3. 8 × 3/4 = 6",
                    "答案是 6",
                ),
            ),
            (
                SampleKind::Cot,
                cot(q, "1. 12 × 1/3 = 4\n2. 12 × 1/4 = 3\n3. 还剩 5", "答案是 5"),
            ),
        ],
    );
    let verdict = |passed: bool, step: Option<u32>| NewVerdict {
        verifier: "judge".into(),
        model: None,
        passed,
        score: None,
        rationale: String::new(),
        first_wrong_step: step,
    };
    for (id, v) in [
        (1, verdict(false, Some(2))),
        (2, verdict(true, None)),
        (3, verdict(false, Some(2))),
    ] {
        let head = store.sample(id).unwrap().head;
        store.add_verdict(head.id, &v).unwrap();
    }
    drop(store);
    ok(&db, &["review", "reject", "1"]);
    ok(&db, &["review", "accept", "2", "3"]);

    let out = dir.path().join("steps.jsonl");
    let summary = export(&db, "stepwise", &out);
    let rows = lines(&out);
    assert_eq!(rows.len(), 2, "{summary}");
    assert_eq!(rows[0]["prompt"], q);
    assert_eq!(
        rows[0]["completions"],
        serde_json::json!(["1. 12 × 1/3 = 4", "2. 12 × 1/4 = 3"])
    );
    assert_eq!(rows[0]["labels"], serde_json::json!([true, false]));
    let labels = rows[1]["labels"].as_array().unwrap();
    assert!(
        labels.len() >= 3 && labels.iter().all(|l| l == true),
        "{rows:?}"
    );
    assert!(
        summary.contains("skipped 1: accepted although a verdict names a wrong step"),
        "{summary}"
    );
}

#[test]
fn a_decision_on_a_revision_that_is_no_longer_the_head_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    seed(&mut store, "d", vec![(SampleKind::Qa, qa("q", "a"))]);
    drop(store);
    ok(&db, &["review", "edit", "1", "--answer", "b"]);
    let (success, _, stderr) = assay(&db, &["review", "accept", "1", "--revision", "1"]);
    assert!(!success);
    assert!(stderr.contains("sample 1: not decided"), "{stderr}");
    let store = Store::open(&db).unwrap();
    assert!(store.reviews(1).unwrap().is_empty());
    assert_eq!(store.sample(1).unwrap().head.number, 2);
    drop(store);
    let stdout = ok(&db, &["review", "accept", "1", "--revision", "2"]);
    assert!(stdout.contains("sample 1 rev 2: accept by ana"), "{stdout}");
    let (success, _, stderr) = assay(&db, &["review", "accept", "1", "2"]);
    assert!(
        !success && stderr.contains("sample 2: not decided"),
        "{stderr}"
    );
}
