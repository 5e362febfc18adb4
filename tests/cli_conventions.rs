//! The command line as a shell user meets it, on the real binary: a closed pipe ends a command
//! quietly (141, no panic), the TUI without a terminal says what to do, every line printed
//! from data is escaped (hostile dataset names in tables and JSON), database errors name the
//! path once, empty and foreign inputs get non-zero codes and leave nothing behind, an export
//! of nothing records no waiver, and `assay backup` copies what the WAL holds.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn cmd(db: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_assay"));
    c.arg("--db")
        .arg(db)
        .args(args)
        .env("ASSAY_LOG", "off")
        .env("ASSAY_HOME", db.parent().unwrap().join("home"))
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null());
    c
}

fn assay(db: &Path, args: &[&str]) -> Output {
    cmd(db, args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A database with two small datasets, one named with terminal controls and bidi overrides.
const HOSTILE: &str = "evil\u{9b}31m\u{1b}]0;owned\u{7}\u{202e}txt";

fn seeded() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let input = dir.path().join("qa.jsonl");
    std::fs::write(
        &input,
        "{\"instruction\": \"1+1=?\", \"output\": \"2\", \"aspect\": \"算术\"}\n\
         {\"instruction\": \"你好\", \"output\": \"你好！\"}\n",
    )
    .unwrap();
    for dataset in ["plain", HOSTILE] {
        let o = assay(
            &db,
            &["import", input.to_str().unwrap(), "--dataset", dataset],
        );
        assert!(o.status.success(), "{o:?}");
    }
    (dir, db)
}

/// A write end of a pipe whose read end is already closed: the first write fails with EPIPE.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe(2) to fill.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe(2) succeeded, so both descriptors are open and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

#[test]
fn a_closed_pipe_ends_every_printing_command_quietly() {
    let (_dir, db) = seeded();
    for args in [
        &["stats"][..],
        &["stats", "--json"],
        &["audit", "status"],
        &["audit", "status", "--json"],
        &["audit", "conflicts", "--dataset", "plain"],
        &["runs", "list"],
        &["runs", "list", "--json"],
        &["gen", "jobs"],
        &["verify", "--verifier", "golden", "--dataset", "plain"],
        &["audit", "draw", "--dataset", "plain"],
        &["model", "info"],
    ] {
        let out = cmd(&db, args)
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        // `model info` without a model fails on its own (before printing): 1, said once.
        if args[0] != "model" {
            assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
            assert!(err.is_empty(), "{args:?}: {err}");
        }
    }
}

#[test]
fn the_tui_without_a_terminal_says_how_to_get_one() {
    let (_dir, db) = seeded();
    let out = assay(&db, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("assay needs a terminal: use ssh -t"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn lines_printed_from_data_never_carry_raw_controls() {
    let (_dir, db) = seeded();
    for args in [
        &["stats"][..],
        &["stats", "--json"],
        &["audit", "status"],
        &["audit", "status", "--json"],
        &["audit", "draw", "--dataset", HOSTILE],
        &["runs", "list"],
    ] {
        let out = assay(&db, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let raw: Vec<char> = stdout
            .chars()
            .filter(|&c| c != '\n' && assay::text::sanitize::is_unsafe(c))
            .collect();
        assert!(raw.is_empty(), "{args:?} printed {raw:?} raw:\n{stdout}");
        if args.contains(&"--json") {
            // The escapes are JSON's own: the value read back is the name as stored.
            assert!(stdout.contains("\\u009b31m"), "{args:?}");
            let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            let names: Vec<String> = match args[0] {
                "stats" => v["datasets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["dataset"].as_str().unwrap().to_string())
                    .collect(),
                _ => v["audits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["status"]["dataset"].as_str().unwrap().to_string())
                    .collect(),
            };
            assert!(names.contains(&HOSTILE.to_string()), "{names:?}");
        } else if args[0] != "runs" {
            // Tables show the escape; `audit draw` prints JSON, with JSON's escape.
            assert!(
                stdout.contains("\\x9b31m") || stdout.contains("\\u009b31m"),
                "{args:?}: {stdout}"
            );
        }
    }
}

#[test]
fn the_human_stats_fit_eighty_columns_and_json_has_everything() {
    let (_dir, db) = seeded();
    let human = text(&assay(&db, &["stats"]).stdout);
    for line in human.lines() {
        assert!(
            unicode_width::UnicodeWidthStr::width(line) <= 80,
            "{line:?}"
        );
    }
    assert!(human.contains("plain: 2 samples"), "{human}");
    assert!(human.contains("aspects  2 distinct"), "{human}");
    let json: serde_json::Value =
        serde_json::from_slice(&assay(&db, &["stats", "--json"]).stdout).unwrap();
    assert!(json["datasets"][0]["diversity"]["question_chars"]["buckets"].is_array());
}

#[test]
fn database_errors_name_the_path_and_say_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let out = assay(&missing, &["stats"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("no database at") && err.contains("nope.db"),
        "{err}"
    );
    assert!(
        !missing.exists(),
        "a read-only command created the database"
    );

    let bad = dir.path().join("bad.db");
    std::fs::write(
        &bad,
        "this is not sqlite, just some text long enough to be read",
    )
    .unwrap();
    let out = assay(&bad, &["stats"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("bad.db") && err.contains("not an SQLite database"),
        "{err}"
    );
    assert_eq!(err.matches("file is not a database").count(), 1, "{err}");

    let nowhere = dir.path().join("no/such/dir/x.db");
    let input = dir.path().join("one.jsonl");
    std::fs::write(&input, "{\"instruction\": \"q\", \"output\": \"a\"}\n").unwrap();
    let out = cmd(&nowhere, &["import", input.to_str().unwrap()])
        .env("ASSAY_HOME", dir.path().join("home"))
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("does not exist: create it"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn empty_and_foreign_inputs_are_refused_and_leave_no_dataset() {
    let (dir, db) = seeded();
    let datasets = || {
        let v: serde_json::Value =
            serde_json::from_slice(&assay(&db, &["stats", "--json"]).stdout).unwrap();
        v["datasets"].as_array().unwrap().len()
    };
    assert_eq!(datasets(), 2);

    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let out = assay(&db, &["import", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(text(&out.stdout).contains("no records in it"), "{out:?}");

    let csv = dir.path().join("table.csv");
    std::fs::write(&csv, "instruction,output\n1+1,2\n").unwrap();
    let out = assay(&db, &["import", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("CSV") && err.contains("csv.DictReader"),
        "{err}"
    );

    let utf16 = dir.path().join("wide.jsonl");
    let mut bytes = vec![0xFF, 0xFE];
    for u in "{\"instruction\": \"问\", \"output\": \"答\"}\n".encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    std::fs::write(&utf16, bytes).unwrap();
    let out = assay(&db, &["import", utf16.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("UTF-16LE") && err.contains("iconv"), "{err}");

    // A file whose every record is rejected: exit 3, its rejects file, no empty dataset.
    let junk = dir.path().join("junk.jsonl");
    std::fs::write(&junk, "{\"neither\": 1}\n{\"nor\": 2}\n").unwrap();
    let out = assay(
        &db,
        &["import", junk.to_str().unwrap(), "--format", "alpaca"],
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(
        datasets(),
        2,
        "no dataset was left behind by the failed imports"
    );
}

#[test]
fn an_export_of_nothing_exits_four_and_records_no_waiver() {
    let (dir, db) = seeded();
    let out_file = dir.path().join("out.json");
    let out = assay(
        &db,
        &[
            "export",
            "--format",
            "alpaca",
            "--dataset",
            "plain",
            "--out",
            out_file.to_str().unwrap(),
            "--force",
            "just trying",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(text(&out.stderr).contains("no waiver recorded"), "{out:?}");
    let store = assay::store::Store::open(&db).unwrap();
    let waivers: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM audit_waivers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(waivers, 0);
}

#[test]
fn a_backup_holds_the_decisions_still_in_the_wal() {
    let (dir, db) = seeded();
    // A connection held open keeps SQLite from checkpointing the WAL into the file on close.
    let holder = assay::store::Store::open(&db).unwrap();
    let out = assay(&db, &["review", "accept", "1", "2"]);
    assert!(out.status.success(), "{out:?}");
    let wal = std::fs::metadata(format!("{}-wal", db.display()))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(wal > 0, "the decisions are in the WAL");
    let copy = dir.path().join("copy.db");
    let out = assay(&db, &["backup", copy.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out.stdout).contains("4 samples"), "{out:?}");
    drop(holder);
    // The copy is one file: read without any -wal beside it.
    assert!(!Path::new(&format!("{}-wal", copy.display())).exists());
    let store = assay::store::Store::open(&copy).unwrap();
    let accepted: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM samples WHERE status = 'accepted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(accepted, 2);
    assert_eq!(store.integrity_check().unwrap(), "ok");
    // Never over an existing file.
    let again = assay(&db, &["backup", copy.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("never overwritten"),
        "{again:?}"
    );
}
