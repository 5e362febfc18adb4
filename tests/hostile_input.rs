//! Hostile files through the real `assay import`: a 2 GiB single line (JSONL and inside a JSON
//! array) and 100,000 levels of nesting. Each is rejected with file, line, byte offset and what to
//! do; the records after it are still imported; the process's peak RSS stays bounded (measured
//! with `wait4`, so it is this child's alone). The 2 GiB lines are sparse: they cost no disk.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// 2 GiB: bigger than any buffer assay may hold, and past `i32` offsets.
const HUGE: u64 = 2 << 30;
/// The peak resident memory an import may reach, whatever the input.
const RSS_LIMIT_KB: i64 = 200 * 1024;

const GOOD: &str = r#"{"instruction": "1+1=?", "output": "2"}"#;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    max_rss_kb: i64,
}

/// Runs `assay import` on `input` and measures the child's peak RSS.
fn import(dir: &Path, input: &Path) -> Run {
    let out_path = dir.join("stdout.txt");
    let err_path = dir.join("stderr.txt");
    let child = Command::new(env!("CARGO_BIN_EXE_assay"))
        .arg("--db")
        .arg(dir.join("t.db"))
        .arg("import")
        .arg(input)
        .env("ASSAY_LOG", "off")
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 reaps exactly the child spawned above.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    let status = std::process::ExitStatus::from_raw(status);
    // The child is reaped; dropping the handle must not wait again.
    std::mem::forget(child);
    Run {
        code: status.code(),
        stdout: std::fs::read_to_string(out_path).unwrap(),
        stderr: std::fs::read_to_string(err_path).unwrap(),
        max_rss_kb: usage.ru_maxrss,
    }
}

/// Writes `head`, then `gap` zero bytes without storing them (a hole), then `tail`.
fn sparse_file(path: &Path, head: &[u8], gap: u64, tail: &[u8]) -> u64 {
    let mut f = File::create(path).unwrap();
    f.write_all(head).unwrap();
    f.seek(SeekFrom::Current(gap as i64)).unwrap();
    f.write_all(tail).unwrap();
    f.metadata().unwrap().len()
}

fn assert_bounded(run: &Run, what: &str) {
    assert!(
        run.max_rss_kb > 0 && run.max_rss_kb < RSS_LIMIT_KB,
        "{what}: peak RSS {} KiB, limit {RSS_LIMIT_KB} KiB",
        run.max_rss_kb
    );
    eprintln!("{what}: peak RSS {} KiB", run.max_rss_kb);
}

#[test]
fn a_two_gigabyte_line_is_rejected_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();

    // JSONL: a good record, the 2 GiB line, two more good records.
    let jsonl = dir.path().join("huge.jsonl");
    let head = format!("{GOOD}\n{{\"instruction\": \"");
    let tail = "\", \"output\": \"x\"}\n{\"instruction\": \"2+2=?\", \"output\": \"4\"}\n{\"instruction\": \"3+3=?\", \"output\": \"6\"}\n";
    let len = sparse_file(&jsonl, head.as_bytes(), HUGE, tail.as_bytes());
    assert!(len > HUGE);
    let run = import(dir.path(), &jsonl);
    std::fs::remove_file(&jsonl).unwrap();
    assert_eq!(run.code, Some(3), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("3 imported, 0 duplicates, 1 rejected"),
        "{}",
        run.stdout
    );
    let offset = GOOD.len() + 1;
    let size = len as usize - offset - tail.len() + tail.find('\n').unwrap() + 1;
    let expect = format!(
        "huge.jsonl:2: byte offset {offset}: rejected: record of {size} bytes is over the limit of 16777216 bytes (raise --max-record-bytes)"
    );
    assert!(
        run.stderr.contains(&expect),
        "{expect}\nnot in\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("huge.jsonl.rejects.jsonl"),
        "{}",
        run.stderr
    );
    assert_bounded(&run, "2 GiB JSONL line");

    // A JSON array whose second element is the 2 GiB line.
    let json = dir.path().join("huge.json");
    let head = format!("[{GOOD}, {{\"instruction\": \"");
    let tail = "\", \"output\": \"x\"}, {\"instruction\": \"4+4=?\", \"output\": \"8\"}]\n";
    sparse_file(&json, head.as_bytes(), HUGE, tail.as_bytes());
    let run = import(dir.path(), &json);
    std::fs::remove_file(&json).unwrap();
    assert_eq!(run.code, Some(3), "{}\n{}", run.stdout, run.stderr);
    // The first good record is already in the dataset "huge" from the JSONL file.
    assert!(
        run.stdout.contains("1 imported, 1 duplicates, 1 rejected"),
        "{}",
        run.stdout
    );
    let offset = GOOD.len() + 3;
    assert!(
        run.stderr.contains(&format!(
            "huge.json:1: byte offset {offset}: rejected: record of"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("over the limit"), "{}", run.stderr);
    assert_bounded(&run, "2 GiB JSON array element");
}

#[test]
fn deep_nesting_is_rejected_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 100_000;
    let open = "[".repeat(depth);
    let balanced = format!("{open}{}", "]".repeat(depth));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));

    let jsonl = dir.path().join("deep.jsonl");
    let body = format!(
        "{GOOD}\n{balanced}\n{objects}\n{open}\n{{\"instruction\": \"5+5=?\", \"output\": \"10\"}}\n"
    );
    std::fs::write(&jsonl, &body).unwrap();
    let run = import(dir.path(), &jsonl);
    assert_eq!(run.code, Some(3), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("2 imported, 0 duplicates, 3 rejected"),
        "{}",
        run.stdout
    );
    let mut offset = GOOD.len() + 1;
    for (line, rec) in [(2, &balanced), (3, &objects), (4, &open)] {
        let expect = format!("deep.jsonl:{line}: byte offset {offset}: rejected: nesting too deep");
        assert!(
            run.stderr.contains(&expect),
            "{expect}\nnot in\n{}",
            run.stderr
        );
        offset += rec.len() + 1;
    }
    assert!(run.stderr.contains("flatten the record"), "{}", run.stderr);
    assert_bounded(&run, "deep JSONL");

    // In a JSON array, and unclosed at the end of the file.
    let json = dir.path().join("deep.json");
    std::fs::write(&json, format!("[{GOOD},\n{balanced},\n{open}")).unwrap();
    let run = import(dir.path(), &json);
    assert_eq!(run.code, Some(3), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("0 imported, 1 duplicates, 2 rejected"),
        "{}",
        run.stdout
    );
    let second = GOOD.len() + 3;
    for (line, offset) in [(2, second), (3, second + balanced.len() + 2)] {
        let expect = format!("deep.json:{line}: byte offset {offset}: rejected: nesting too deep");
        assert!(
            run.stderr.contains(&expect),
            "{expect}\nnot in\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("the file ends inside it"),
        "{}",
        run.stderr
    );
    assert_bounded(&run, "deep JSON array");
}
