//! Chunking throughput beside LangChain's `RecursiveCharacterTextSplitter` on the same synthetic
//! Chinese prose, same separators, chunk 1024, overlap 50, in the same run.
//!
//! `cargo bench --bench chunk`. LangChain is run with the Python in `ASSAY_BENCH_PYTHON`, else
//! `/tmp/lcvenv/bin/python`, else `python3` (install: `python3 -m venv /tmp/lcvenv &&
//! /tmp/lcvenv/bin/pip install langchain-text-splitters`). `ASSAY_BENCH_MB` sets the text size.

use assay::text::chunk::{Splitter, default_separators};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

const COMMON: &str = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质";

/// Paragraphs of sentences with commas and Chinese sentence ends; one paragraph in five is
/// longer than a chunk, so sentence and comma levels are exercised too.
fn prose(bytes: usize) -> String {
    let chars: Vec<char> = COMMON.chars().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut out = String::with_capacity(bytes + 4096);
    while out.len() < bytes {
        let sentences = if rng.random_bool(0.2) {
            rng.random_range(40..90)
        } else {
            rng.random_range(2..12)
        };
        for _ in 0..sentences {
            for _ in 0..rng.random_range(1..4) {
                for _ in 0..rng.random_range(4..16) {
                    out.push(chars[rng.random_range(0..chars.len())]);
                }
                out.push('，');
            }
            out.pop();
            out.push(['。', '！', '？', '；'][rng.random_range(0..4)]);
        }
        out.push_str("\n\n");
    }
    out
}

const LANGCHAIN: &str = r#"
import json, sys, time
try:
    from langchain_text_splitters import RecursiveCharacterTextSplitter
except Exception as e:
    print(json.dumps({"error": f"cannot import langchain_text_splitters: {e}"})); sys.exit(0)
text = open(sys.argv[1], encoding="utf-8").read()
seps = json.loads(sys.argv[2]) + [""]
s = RecursiveCharacterTextSplitter(separators=seps, chunk_size=1024, chunk_overlap=50,
                                   keep_separator="end", is_separator_regex=False)
best, n = None, 0
for _ in range(3):
    t = time.perf_counter(); chunks = s.split_text(text); dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt); n = len(chunks)
print(json.dumps({"seconds": best, "chunks": n}))
"#;

fn python() -> String {
    if let Ok(p) = std::env::var("ASSAY_BENCH_PYTHON") {
        return p;
    }
    if std::path::Path::new("/tmp/lcvenv/bin/python").exists() {
        return "/tmp/lcvenv/bin/python".into();
    }
    "python3".into()
}

fn main() -> anyhow::Result<()> {
    let mb: usize = std::env::var("ASSAY_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let text = prose(mb * 1_000_000);
    let size_mb = text.len() as f64 / 1e6;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("prose.txt");
    std::fs::write(&path, &text)?;

    let splitter = Splitter::new(1024, 50)?;
    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let chunks = splitter.split(&text);
        best = best.min(t.elapsed().as_secs_f64());
        n = chunks.len();
    }
    let ours = size_mb / best;
    println!("text: {size_mb:.1} MB of synthetic Chinese prose, chunk 1024 chars, overlap 50");
    println!("assay Splitter:                 {ours:8.1} MB/s  ({n} chunks, best of 5)");

    // LangChain's separators: ours flattened, most specific first within a level.
    let seps: Vec<String> = default_separators().into_iter().flatten().collect();
    let out = std::process::Command::new(python())
        .args(["-c", LANGCHAIN])
        .arg(&path)
        .arg(serde_json::to_string(&seps)?)
        .output();
    match out {
        Ok(o) => {
            let line = String::from_utf8_lossy(&o.stdout);
            match serde_json::from_str::<serde_json::Value>(line.trim()) {
                Ok(v) if v["seconds"].is_number() => {
                    let secs = v["seconds"].as_f64().unwrap_or(f64::NAN);
                    let theirs = size_mb / secs;
                    println!(
                        "LangChain RecursiveCharacter:   {theirs:8.1} MB/s  ({} chunks, best of 3)",
                        v["chunks"]
                    );
                    println!("ratio: {:.1}x LangChain (goal >= 2x)", ours / theirs);
                }
                Ok(v) => println!("NOTE: LangChain not measured: {}", v["error"]),
                Err(_) => println!(
                    "NOTE: LangChain not measured: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
            }
        }
        Err(e) => println!("NOTE: LangChain not measured: cannot run {}: {e}", python()),
    }
    Ok(())
}
