//! Duplicate search over 1,000,000 generated QA samples in a SQLite file built by the bench
//! itself (3% planted near-copies): seconds and peak memory of `dedup_dataset` on 2 threads.
//!
//! `cargo bench --bench dedup`. `ASSAY_DEDUP_N` sets the sample count; `ASSAY_DEDUP_DB` keeps
//! the database at that path (reused when it already holds the samples). The search runs in a
//! child process so that its peak RSS does not include building the database.

use assay::curate::dedup::dedup_dataset;
use assay::model::{Content, NewSample, SampleKind, SampleMeta, Source, Turn};
use assay::store::{Filter, ImportRecord, Store};
use assay::text::dedup::DedupConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::time::Instant;

fn random_text(rng: &mut ChaCha8Rng, len: usize) -> String {
    let mut s = String::with_capacity(len * 3);
    for i in 0..len {
        if i % 17 == 16 {
            s.push('，');
        } else {
            s.push(char::from_u32(0x4e00 + rng.random_range(0..3000)).unwrap_or('字'));
        }
    }
    s.push('。');
    s
}

fn build(path: &Path, n: usize) -> anyhow::Result<()> {
    let mut store = Store::open(path)?;
    let ds = store.ensure_dataset("bench")?;
    let have = store.count(&Filter::dataset(ds))?;
    if have >= n as u64 * 9 / 10 {
        println!("reusing {path:?} ({have} samples)");
        return Ok(());
    }
    // Building is not what is measured: a large page cache keeps the random content-hash index
    // inserts off the disk.
    store
        .conn()
        .execute_batch("PRAGMA cache_size = -2000000; PRAGMA synchronous = OFF")?;
    let t = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut recent: Vec<(String, String)> = Vec::new();
    let mut batch = store.import_batch(ds, "bench")?;
    for i in 0..n {
        if i > 0 && i % 100_000 == 0 {
            eprintln!("built {i} samples, {:.1} s", t.elapsed().as_secs_f64());
        }
        let (q, a) = if i > 100 && rng.random_bool(0.03) {
            let (q, a) = &recent[rng.random_range(0..recent.len())];
            let mut chars: Vec<char> = a.chars().collect();
            let at = rng.random_range(0..chars.len());
            chars[at] = '改';
            (q.clone(), chars.into_iter().collect())
        } else {
            let q_len = rng.random_range(15..40);
            let a_len = rng.random_range(60..250);
            (random_text(&mut rng, q_len), random_text(&mut rng, a_len))
        };
        if recent.len() < 1000 {
            recent.push((q.clone(), a.clone()));
        } else {
            let slot = rng.random_range(0..recent.len());
            recent[slot] = (q.clone(), a.clone());
        }
        let sample = NewSample {
            kind: SampleKind::Qa,
            content: Content {
                turns: vec![Turn::user(q), Turn::assistant(a)],
                ..Content::default()
            },
            source: Source::File {
                path: "bench.jsonl".into(),
                line: i as u64 + 1,
            },
            meta: SampleMeta::default(),
        };
        batch.insert(&ImportRecord::new(sample)?)?;
    }
    batch.commit()?;
    println!("built {n} samples in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn child(path: &Path) -> anyhow::Result<()> {
    let mut store = Store::open(path)?;
    let ds = store.require_dataset("bench")?;
    let config = DedupConfig {
        threads: 2,
        ..DedupConfig::default()
    };
    let t = Instant::now();
    let c = dedup_dataset(&mut store, ds, &config)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "dedup: {} samples in {secs:.1} s ({:.0} samples/s), peak RSS {:.0} MiB; {} exact groups, \
         {} clusters holding {} samples (goal: < 60 s, < 1024 MiB)",
        c.samples,
        c.samples as f64 / secs,
        peak_rss_mib(),
        c.exact_groups,
        c.clusters,
        c.clustered
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if let Ok(db) = std::env::var("ASSAY_DEDUP_CHILD") {
        return child(Path::new(&db));
    }
    let n: usize = std::env::var("ASSAY_DEDUP_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir()?;
    let db = match std::env::var("ASSAY_DEDUP_DB") {
        Ok(p) => p.into(),
        Err(_) => tmp.path().join("dedup-bench.db"),
    };
    build(&db, n)?;
    let status = std::process::Command::new(std::env::current_exe()?)
        .env("ASSAY_DEDUP_CHILD", &db)
        .status()?;
    anyhow::ensure!(status.success(), "the dedup child failed: {status}");
    Ok(())
}
