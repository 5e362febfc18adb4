//! Every class of bad input ends in the rejects file with line, offset, field and reason, and
//! nothing else changes in the database.

use assay::formats::read::Reader;
use assay::formats::{Item, ReadOptions, Rejection};
use assay::ingest::import::import_file;
use assay::store::{Filter, Store};
use std::io::Read;

fn rejects(path: &std::path::Path) -> Vec<Rejection> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn each_bad_record_is_rejected_with_where_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.jsonl");
    let mut body: Vec<u8> = Vec::new();
    body.extend_from_slice(b"{\"instruction\": \"\xe9\x97\xae\", \"output\": \"ok\"}\n"); // 1 good
    body.extend_from_slice(b"{\"instruction\": \"no output\"}\n"); // 2 missing field
    body.extend_from_slice(b"{\"instruction\": 5, \"output\": \"x\"}\n"); // 3 wrong type
    body.extend_from_slice(b"{\"instruction\": \"cut\", \"outp\n"); // 4 truncated
    let bad_utf8_line_start = body.len();
    body.extend_from_slice(b"{\"instruction\": \"\xff\xfe\", \"output\": \"x\"}\n"); // 5 bad UTF-8
    body.extend_from_slice(
        format!(
            "{{\"instruction\": \"{}\", \"output\": \"x\"}}\n",
            "长".repeat(400)
        )
        .as_bytes(),
    ); // 6 too large
    body.extend_from_slice(b"\n[1, 2]\n"); // 8 not an object
    body.extend_from_slice(
        b"{\"instruction\": \"second\", \"output\": \"good\", \"history\": [[\"a\"]]}\n",
    ); // 9 bad history
    body.extend_from_slice(
        b"{\"instruction\": \"\xe7\xac\xac\xe4\xba\x8c\", \"output\": \"fine\"}\n",
    ); // 10 good
    std::fs::write(&input, &body).unwrap();

    let db = dir.path().join("t.db");
    let mut store = Store::open(&db).unwrap();
    let opts = ReadOptions {
        max_record_bytes: 1000,
        ..ReadOptions::default()
    };
    let (counts, _, path) = import_file(&mut store, &input, "d", opts).unwrap();
    assert_eq!(
        (counts.imported, counts.duplicates, counts.rejected),
        (2, 0, 7)
    );
    let path = path.unwrap();
    assert_eq!(path, dir.path().join("bad.jsonl.rejects.jsonl"));
    let r = rejects(&path);
    let summary: Vec<(u64, Option<&str>)> =
        r.iter().map(|r| (r.line, r.field.as_deref())).collect();
    assert_eq!(
        summary,
        [
            (2, Some("output")),
            (3, Some("instruction")),
            (4, None),
            (5, None),
            (6, None),
            (8, None),
            (9, Some("history[0]"))
        ]
    );
    assert_eq!(r[0].reason, "missing field");
    assert!(
        r[1].reason.contains("expected a string, found a number"),
        "{}",
        r[1].reason
    );
    assert!(r[2].reason.starts_with("truncated JSON"), "{}", r[2].reason);
    let bad_at = (bad_utf8_line_start + 17) as u64;
    assert_eq!(r[3].offset, bad_at);
    assert_eq!(
        r[3].reason,
        format!("invalid UTF-8 at byte offset {bad_at}")
    );
    assert!(r[3].raw.contains('\u{FFFD}'));
    assert!(
        r[4].reason.contains("over the limit of 1000 bytes"),
        "{}",
        r[4].reason
    );
    assert!(r[4].raw.len() <= 4096);
    assert!(r[5].reason.contains("expected a JSON object"));
    assert_eq!(r[1].raw, "{\"instruction\": 5, \"output\": \"x\"}\n");
    assert_eq!(
        r[1].offset,
        body.windows(17)
            .position(|w| w == b"{\"instruction\": 5")
            .unwrap() as u64
    );

    // Only the two good records are in the database; nothing else was written.
    assert_eq!(store.count(&Filter::default()).unwrap(), 2);
    let datasets = store.datasets().unwrap();
    assert_eq!(datasets.len(), 1);
    let revisions: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM revisions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(revisions, 2);

    // A rerun is a no-op for the good ones and rewrites the same rejects.
    let opts = ReadOptions {
        max_record_bytes: 1000,
        ..ReadOptions::default()
    };
    let (again, _, _) = import_file(&mut store, &input, "d", opts).unwrap();
    assert_eq!(
        (again.imported, again.duplicates, again.rejected),
        (0, 2, 7)
    );
    assert_eq!(rejects(&path), r);
}

#[test]
fn truncated_json_array_keeps_complete_elements() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cut.json");
    std::fs::write(
        &input,
        "[\n  {\"text\": \"一\"},\n  {\"text\": \"二\"},\n  {\"text\": \"三",
    )
    .unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let (counts, _, path) = import_file(&mut store, &input, "d", ReadOptions::default()).unwrap();
    assert_eq!((counts.imported, counts.rejected), (2, 1));
    let r = rejects(&path.unwrap());
    assert_eq!(r[0].line, 4);
    assert!(r[0].reason.starts_with("truncated JSON"), "{}", r[0].reason);
    assert_eq!(r[0].raw, "{\"text\": \"三");
}

#[test]
fn unclosed_array_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("open.json");
    std::fs::write(&input, "[{\"text\": \"a\"}, {\"text\": \"b\"}\n").unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let (counts, _, path) = import_file(&mut store, &input, "d", ReadOptions::default()).unwrap();
    assert_eq!((counts.imported, counts.rejected), (2, 1));
    assert!(rejects(&path.unwrap())[0].reason.contains("not closed"));
}

/// An endless line (standing in for a 2 GB single-line file) costs one bounded buffer.
struct Endless {
    left: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        buf[..n].fill(b'a');
        if n > 0 {
            buf[0] = if self.left == 256 << 20 { b'{' } else { b'a' };
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[test]
fn a_huge_single_line_is_one_rejection_in_bounded_memory() {
    let size = 256u64 << 20;
    let opts = ReadOptions {
        max_record_bytes: 1 << 20,
        ..ReadOptions::default()
    };
    let mut reader = Reader::new(Endless { left: size }, "huge.jsonl".into(), true, opts);
    let Some(Item::Rejected(r)) = reader.next_item().unwrap() else {
        panic!("expected a rejection");
    };
    assert_eq!((r.line, r.offset), (1, 0));
    assert!(
        r.reason
            .contains(&format!("record of {size} bytes is over the limit")),
        "{}",
        r.reason
    );
    assert!(reader.next_item().unwrap().is_none());
}

#[test]
fn unknown_format_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("odd.jsonl");
    std::fs::write(&input, "{\"a\": 1}\n").unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let err = import_file(&mut store, &input, "d", ReadOptions::default()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("odd.jsonl:1") && msg.contains("--format"),
        "{msg}"
    );
    assert_eq!(store.count(&Filter::default()).unwrap(), 0);
}
