//! The real binary: import twice (the second is a no-op), exit codes 0 / 3 / 1, export files
//! and folders.

use std::path::Path;
use std::process::{Command, Output};

fn assay(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("ASSAY_LOG", "off")
        .env("HOME", db.parent().unwrap())
        .env("XDG_DATA_HOME", db.parent().unwrap())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn import_twice_then_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let input = dir.path().join("qa.jsonl");
    std::fs::write(
        &input,
        "{\"instruction\": \"1+1=?\", \"output\": \"<think>1加1</think>\\n2\"}\n{\"instruction\": \"你好\", \"output\": \"你好！\"}\n{\"text\": \"预训练文本\"}\n",
    )
    .unwrap();
    let first = assay(&db, &["import", input.to_str().unwrap()]);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    assert!(
        stdout(&first).contains("3 imported, 0 duplicates, 0 rejected"),
        "{}",
        stdout(&first)
    );
    let second = assay(&db, &["import", input.to_str().unwrap()]);
    assert_eq!(second.status.code(), Some(0));
    assert!(
        stdout(&second).contains("0 imported, 3 duplicates, 0 rejected"),
        "{}",
        stdout(&second)
    );

    // No audit yet: export is refused, naming what is missing.
    let out = dir.path().join("out.jsonl");
    let refused = assay(
        &db,
        &[
            "export",
            "--format",
            "alpaca",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("has no audit") && err.contains("--force"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written when the gate refuses");

    // With a waiver: nothing is accepted yet, so the default export has nothing to write: 4,
    // and no waiver is recorded for it; --all takes everything.
    let none = assay(
        &db,
        &[
            "export",
            "--format",
            "alpaca",
            "--force",
            "test fixture",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(none.status.code(), Some(4));
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(
        err.contains("nothing to export") && err.contains("no waiver recorded"),
        "{err}"
    );
    let all = assay(
        &db,
        &[
            "export",
            "--format",
            "alpaca",
            "--all",
            "--force",
            "test fixture",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(all.status.code(), Some(0), "{all:?}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["output"], "<think>1加1</think>\n2");
    assert_eq!(lines[2], serde_json::json!({"text": "预训练文本"}));

    // A format that cannot carry pre-training text says so.
    let sg = dir.path().join("sg.json");
    let o = assay(
        &db,
        &[
            "export",
            "--format",
            "sharegpt",
            "--all",
            "--force",
            "test fixture",
            "--out",
            sg.to_str().unwrap(),
        ],
    );
    assert!(
        stdout(&o).contains("2 samples written")
            && stdout(&o).contains("skipped 1: is pre-training text"),
        "{}",
        stdout(&o)
    );
    let arr: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sg).unwrap()).unwrap();
    assert_eq!(arr.as_array().unwrap().len(), 2);

    // LLaMA-Factory folder, with a dataset name that tries to leave the folder.
    let lf = dir.path().join("lf");
    let o = assay(
        &db,
        &[
            "export",
            "--format",
            "llamafactory",
            "--all",
            "--force",
            "test fixture",
            "--dataset",
            "qa",
            "--out",
            lf.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lf.join("dataset_info.json")).unwrap())
            .unwrap();
    assert_eq!(info["qa"]["formatting"], "sharegpt");
    assert_eq!(info["qa"]["file_name"], "qa.jsonl");
    assert_eq!(info["qa_pretrain"]["columns"]["prompt"], "text");
    assert_eq!(
        std::fs::read_to_string(lf.join("qa.jsonl"))
            .unwrap()
            .lines()
            .count(),
        2
    );

    // Hugging Face folder.
    let hf = dir.path().join("hf");
    let o = assay(
        &db,
        &[
            "export",
            "--format",
            "hf",
            "--all",
            "--force",
            "test fixture",
            "--out",
            hf.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let card = std::fs::read_to_string(hf.join("README.md")).unwrap();
    assert!(
        card.starts_with("---\nlicense: other\n")
            && card.contains("task_categories:\n- text-generation\n")
            && card.contains("configs:\n- config_name: default\n")
            && card.contains("- config_name: pretrain\n"),
        "{card}"
    );
    assert!(
        card.contains("path: data/train.jsonl")
            && card.contains("imported from")
            && card.contains("unreviewed: 3"),
        "{card}"
    );
    // The card states the waiver: who went on without an audit, and why.
    assert!(
        card.contains("## Audit") && card.contains("Audit waived") && card.contains("test fixture"),
        "{card}"
    );
    // Conversations and pre-training text in their own files: one set of columns each.
    let count = |f: &str| std::fs::read_to_string(hf.join(f)).unwrap().lines().count();
    assert_eq!(count("data/train.jsonl"), 2);
    assert_eq!(count("data/pretrain.jsonl"), 1);
}

#[test]
fn exit_codes_tell_rejects_and_failures_apart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let input = dir.path().join("mixed.jsonl");
    std::fs::write(&input, "{\"text\": \"ok\"}\n{\"text\": 1}\n").unwrap();
    let o = assay(&db, &["import", input.to_str().unwrap(), "--dataset", "m"]);
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert!(
        stdout(&o).contains("1 imported, 0 duplicates, 1 rejected")
            && stdout(&o).contains("mixed.jsonl.rejects.jsonl")
    );
    let missing = assay(
        &db,
        &["import", dir.path().join("nope.jsonl").to_str().unwrap()],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.jsonl"));
}

#[test]
fn folder_names_cannot_escape() {
    assert_eq!(
        assay::formats::folders::safe_name("../../etc/passwd"),
        "______etc_passwd"
    );
    assert_eq!(assay::formats::folders::safe_name(".."), "dataset");
    assert_eq!(assay::formats::folders::safe_name("数学 CoT"), "数学_CoT");
}

/// A fatal error quotes the file name: a name carrying escape sequences reaches stderr escaped.
#[test]
fn fatal_errors_escape_hostile_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let name = dir
        .path()
        .join("x\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[2J\u{202e}.jsonl");
    let out = assay(&db, &["import", name.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read"), "{err}");
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{7}') && !err.contains('\u{202e}'),
        "raw control characters in {err:?}"
    );
}
