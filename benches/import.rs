//! Import benchmark: writes N Alpaca JSONL records (~300 bytes, half Chinese), then on the same
//! file measures a serde_json parse-only pass, `assay import` (the real binary, as a child so
//! its peak RSS can be read with wait4), Python's `datasets` and `sqlite-utils insert --nl` when
//! a venv at $ASSAY_BENCH_VENV (default /tmp/assay-bench-venv) has them, and `assay export`.
//!
//! Run: `cargo bench --bench import` (records: `ASSAY_BENCH_RECORDS`, default 1,000,000).
//!
//! assay runs as a child that is this bench executable re-invoked with `--child import|export`,
//! which calls the same capabilities as the binary (`assay::ingest`, `assay::export`): the
//! `assay` binary itself sits in a target directory that other builds may overwrite between
//! build and run.

use rand::{Rng, SeedableRng};
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ZH: &[&str] = &[
    "请解释",
    "为什么",
    "天空是蓝色的",
    "计算",
    "下面的",
    "数学题",
    "机器学习",
    "模型",
    "训练数据",
    "质量",
    "检查",
    "答案",
    "步骤",
    "首先",
    "然后",
    "所以",
    "结果是",
    "北京",
    "天气",
    "多云",
];
const EN: &[&str] = &[
    "explain",
    "why",
    "the sky",
    "is blue",
    "compute",
    "the following",
    "math problem",
    "model",
    "training",
    "data",
    "quality",
    "check",
    "answer",
    "step",
    "first",
    "then",
    "so",
    "result",
];

fn sentence(rng: &mut impl Rng, zh: bool, bytes: usize) -> String {
    let words = if zh { ZH } else { EN };
    let mut s = String::new();
    while s.len() < bytes {
        if !zh && !s.is_empty() {
            s.push(' ');
        }
        s.push_str(words[rng.random_range(0..words.len())]);
    }
    s
}

fn write_input(path: &Path, n: u64) -> std::io::Result<u64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for i in 0..n {
        let zh = i % 2 == 0;
        let rec = serde_json::json!({
            "instruction": sentence(&mut rng, zh, 70),
            "input": if i % 3 == 0 { sentence(&mut rng, zh, 30) } else { String::new() },
            "output": format!("{} #{i}", sentence(&mut rng, zh, 130)),
        });
        serde_json::to_writer(&mut out, &rec)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

struct Row {
    name: String,
    secs: f64,
    records: u64,
    peak_rss_kb: Option<i64>,
}

/// Runs a command to completion; returns wall time and the child's own peak RSS (wait4).
fn run_child(cmd: &mut Command) -> std::io::Result<(Duration, Option<i64>, bool)> {
    let start = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child we spawned and reaps it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = start.elapsed();
    if r != pid {
        return Err(std::io::Error::last_os_error());
    }
    let ok = libc::WIFEXITED(status) && matches!(libc::WEXITSTATUS(status), 0 | 3);
    if !ok {
        let mut err = String::new();
        if let Some(mut e) = child.stderr {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        eprintln!("  failed: {}", err.lines().last().unwrap_or(""));
    }
    Ok((secs, Some(usage.ru_maxrss), ok))
}

fn parse_only(path: &Path) -> std::io::Result<(Duration, u64)> {
    let start = Instant::now();
    let mut n = 0;
    let mut r = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut line = Vec::new();
    while r.read_until(b'\n', &mut line)? > 0 {
        let v: serde_json::Value = serde_json::from_slice(&line)?;
        n += v.is_object() as u64;
        line.clear();
    }
    Ok((start.elapsed(), n))
}

/// The floor under any SQLite-backed import on this machine: each raw line, unparsed, into a
/// one-column table with no index, under the pragmas assay uses (WAL, synchronous NORMAL),
/// 50,000 rows per transaction. An import that also parses, dedups and keeps the review
/// indexes can approach this, not pass it.
fn sqlite_floor(path: &Path, db: &Path) -> Result<(Duration, u64), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut conn = rusqlite::Connection::open(db)?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;
         CREATE TABLE lines (id INTEGER PRIMARY KEY, line TEXT NOT NULL);",
    )?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut line = String::new();
    let mut n = 0u64;
    let mut done = false;
    while !done {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached("INSERT INTO lines (line) VALUES (?1)")?;
            for _ in 0..50_000 {
                line.clear();
                if r.read_line(&mut line)? == 0 {
                    done = true;
                    break;
                }
                stmt.execute([line.trim_end()])?;
                n += 1;
            }
        }
        tx.commit()?;
    }
    Ok((start.elapsed(), n))
}

/// Child mode: `import DB FILE` or `export DB OUT` through the capabilities the `assay`
/// command calls (`assay::ingest`, `assay::export`).
fn child(args: Vec<String>) -> std::process::ExitCode {
    let result = match args.as_slice() {
        [cmd, db, path] if cmd == "import" => child_import(Path::new(db), Path::new(path)),
        [cmd, db, out] if cmd == "export" => child_export(Path::new(db), Path::new(out)),
        _ => Err(anyhow::anyhow!(
            "the bench child runs `import DB FILE` or `export DB OUT` only"
        )),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn child_import(db: &Path, file: &Path) -> anyhow::Result<()> {
    let mut store = assay::store::Store::open(db)?;
    let dataset = assay::ingest::import::dataset_name(file, None)?;
    let opts = assay::formats::ReadOptions::default();
    let (counts, _, _) = assay::ingest::import::import_file(&mut store, file, &dataset, opts)?;
    anyhow::ensure!(counts.rejected == 0, "{} records rejected", counts.rejected);
    Ok(())
}

/// Every sample, as `assay export --format alpaca --all` takes them (no audit gate: the bench
/// measures the writer).
fn child_export(db: &Path, out: &Path) -> anyhow::Result<()> {
    use assay::export::{Card, ExportTarget, export};
    let store = assay::store::Store::open(db)?;
    let filter = assay::store::Filter::default();
    let target = ExportTarget::File(assay::formats::Format::Alpaca);
    export(&store, target, out, &filter, &Card::default())?;
    Ok(())
}

fn main() -> std::io::Result<std::process::ExitCode> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return Ok(child(args[2..].to_vec()));
    }
    let n: u64 = std::env::var("ASSAY_BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("alpaca.jsonl");
    let bytes = write_input(&input, n)?;
    println!(
        "{n} Alpaca records, {:.1} MB ({} bytes/record)",
        bytes as f64 / 1e6,
        bytes / n.max(1)
    );
    let mut rows = Vec::new();

    let (t, parsed) = parse_only(&input)?;
    rows.push(Row {
        name: "serde_json parse-only (Value per line)".into(),
        secs: t.as_secs_f64(),
        records: parsed,
        peak_rss_kb: None,
    });

    match sqlite_floor(&input, &dir.path().join("floor.db")) {
        Ok((t, n)) => rows.push(Row {
            name: "SQLite floor (raw lines, 1 table, no index)".into(),
            secs: t.as_secs_f64(),
            records: n,
            peak_rss_kb: None,
        }),
        Err(e) => println!("SQLite floor did not run: {e}"),
    }

    let me = std::env::current_exe()?;
    let assay_cmd = || {
        let mut c = Command::new(&me);
        c.arg("--child");
        c
    };
    let db = dir.path().join("bench.db");
    let (t, rss, ok) = run_child(assay_cmd().arg("import").arg(&db).arg(&input))?;
    if ok {
        rows.push(Row {
            name: "assay import".into(),
            secs: t.as_secs_f64(),
            records: n,
            peak_rss_kb: rss,
        });
    }
    let (t, rss, ok) = run_child(assay_cmd().arg("import").arg(&db).arg(&input))?;
    if ok {
        rows.push(Row {
            name: "assay import again (all duplicates)".into(),
            secs: t.as_secs_f64(),
            records: n,
            peak_rss_kb: rss,
        });
    }

    let venv = std::env::var("ASSAY_BENCH_VENV").unwrap_or_else(|_| "/tmp/assay-bench-venv".into());
    let python = Path::new(&venv).join("bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/load_datasets.py");
    if python.exists() {
        let cache = dir.path().join("hf-cache");
        match run_child(Command::new(&python).arg(&script).arg(&input).arg(&cache)) {
            Ok((t, rss, true)) => rows.push(Row {
                name: "python datasets load_dataset(json)".into(),
                secs: t.as_secs_f64(),
                records: n,
                peak_rss_kb: rss,
            }),
            _ => println!("peer `datasets` did not run (pip install datasets into {venv})"),
        }
        let su = Path::new(&venv).join("bin/sqlite-utils");
        let sdb = dir.path().join("su.db");
        match run_child(
            Command::new(&su)
                .arg("insert")
                .arg(&sdb)
                .arg("t")
                .arg(&input)
                .arg("--nl"),
        ) {
            Ok((t, rss, true)) => rows.push(Row {
                name: "sqlite-utils insert --nl".into(),
                secs: t.as_secs_f64(),
                records: n,
                peak_rss_kb: rss,
            }),
            _ => println!("peer `sqlite-utils` did not run (pip install sqlite-utils into {venv})"),
        }
    } else {
        println!(
            "no Python venv at {venv}: peers skipped (python3 -m venv {venv} && {venv}/bin/pip install datasets sqlite-utils)"
        );
    }

    let out = dir.path().join("export.jsonl");
    let (t, rss, ok) = run_child(assay_cmd().arg("export").arg(&db).arg(&out))?;
    if ok {
        rows.push(Row {
            name: "assay export --format alpaca (jsonl)".into(),
            secs: t.as_secs_f64(),
            records: n,
            peak_rss_kb: rss,
        });
    }

    println!(
        "\n{:<42} {:>12} {:>9} {:>8} {:>13}",
        "", "records/s", "MB/s", "secs", "peak RSS MB"
    );
    for r in &rows {
        println!(
            "{:<42} {:>12.0} {:>9.1} {:>8.2} {:>13}",
            r.name,
            r.records as f64 / r.secs,
            bytes as f64 / 1e6 / r.secs,
            r.secs,
            r.peak_rss_kb
                .map_or("-".into(), |kb| format!("{:.0}", kb as f64 / 1024.0)),
        );
    }
    let rate = |name: &str| {
        rows.iter()
            .find(|r| r.name.starts_with(name))
            .map(|r| r.records as f64 / r.secs)
    };
    if let (Some(a), Some(p)) = (rate("assay import"), rate("serde_json")) {
        println!(
            "\nassay import is {:.0}% of parse-only throughput (goal >= 50%)",
            100.0 * a / p
        );
    }
    if let (Some(a), Some(d)) = (rate("assay import"), rate("python datasets")) {
        println!("assay import vs datasets: {:.2}x (goal > 1)", a / d);
    }
    if let Some(e) = rate("assay export") {
        println!("export: {e:.0} records/s (goal >= 500,000)");
    }
    Ok(std::process::ExitCode::SUCCESS)
}
