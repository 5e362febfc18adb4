//! `cargo bench --bench local_llm`: prompt and generation tokens/s and peak memory of assay's
//! local model (the shipped Q4_1 and its Q8_0 copy), beside llama.cpp (llama-cpp-python) on the
//! same GGUF, prompt, token count and thread count, in the same run.
//!
//! Each contender runs in its own process so peak memory (VmHWM / ru_maxrss) is its own.
//! Environment: ASSAY_MODEL_PATH (else the default path), ASSAY_BENCH_THREADS (2),
//! ASSAY_BENCH_TOKENS (128), ASSAY_PEER_PYTHON (python3 with llama-cpp-python 0.3.36).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use assay::llm::ChatMessage;
use assay::llm::local::engine::GenOptions;
use assay::llm::local::{Backend, LocalModel, load_engine_with, requant, template};
use candle_core::Device;

const QUESTION: &str = "Explain in a few sentences why the sky is blue during the day and red \
                        at sunset, for a curious ten-year-old.";

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Child mode: load `path` as is, run twice, print the best figures as one JSON line.
fn child(path: &Path, tokens: usize) -> Result<(), Box<dyn std::error::Error>> {
    let backend = match std::env::var("ASSAY_BENCH_BACKEND").as_deref() {
        Ok("candle") => Backend::Candle,
        _ => Backend::Auto,
    };
    let mut engine = load_engine_with(path, &Device::Cpu, backend)?;
    let prompt = template::render(&[ChatMessage::user(QUESTION)]);
    let opts = GenOptions {
        max_tokens: tokens,
        temperature: 0.0,
        repeat_penalty: 1.0,
        ignore_end_of_turn: true,
        ..GenOptions::default()
    };
    let cancel = AtomicBool::new(false);
    let (mut best_p, mut best_g, mut prompt_tokens) = (0f64, 0f64, 0);
    for _ in 0..2 {
        let g = engine.generate(&prompt, &opts, &cancel, &mut |_| {})?;
        prompt_tokens = g.prompt_tokens;
        best_p = best_p.max(g.prompt_tokens as f64 / g.prompt_secs);
        // The first generated token comes from the prompt's logits; the rest cost a step each.
        best_g = best_g.max(g.tokens.len().saturating_sub(1) as f64 / g.gen_secs);
    }
    println!(
        "{{\"prompt_tokens\": {prompt_tokens}, \"prompt_tok_s\": {best_p}, \"gen_tokens\": {tokens}, \"gen_tok_s\": {best_g}, \"peak_rss_mb\": {}}}",
        peak_rss_mb()
    );
    Ok(())
}

fn run_child(cmd: &mut Command) -> Option<serde_json::Value> {
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("  could not start: {e}");
            return None;
        }
    };
    if !out.status.success() {
        eprintln!(
            "  failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tokens = env_usize("ASSAY_BENCH_TOKENS", 128);
    if let Some(path) = std::env::var_os("ASSAY_BENCH_CHILD") {
        return child(Path::new(&path), tokens);
    }
    let threads = env_usize("ASSAY_BENCH_THREADS", 2);
    let model: PathBuf = std::env::var_os("ASSAY_MODEL_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(LocalModel::default_path);
    if !model.is_file() {
        println!(
            "local_llm: SKIPPED, no model at {} (run `assay model fetch`)",
            model.display()
        );
        return Ok(());
    }
    let q8 = requant::fast_variant(&model)?;
    let prompt_file =
        std::env::temp_dir().join(format!("assay-bench-prompt-{}.txt", std::process::id()));
    std::fs::write(
        &prompt_file,
        template::render(&[ChatMessage::user(QUESTION)]),
    )?;
    let exe = std::env::current_exe()?;
    let python = std::env::var("ASSAY_PEER_PYTHON").unwrap_or_else(|_| "python3".into());
    let peer_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/llama_cpp_peer.py");

    println!(
        "local_llm: {} new tokens, greedy, {threads} threads, model {}",
        tokens,
        model.display()
    );
    let mut rows: Vec<(String, Option<serde_json::Value>)> = Vec::new();
    let mut contenders: Vec<(String, Command)> = Vec::new();
    for (label, path, backend) in [
        ("assay/candle Q4_1 (as shipped)", &model, "candle"),
        ("assay/candle Q8_0 (cached copy)", &q8, "candle"),
        ("assay fast path Q8_0 (1 thread)", &q8, "auto"),
    ] {
        let mut c = Command::new(&exe);
        c.env("ASSAY_BENCH_CHILD", path)
            .env("ASSAY_BENCH_BACKEND", backend)
            .env("RAYON_NUM_THREADS", threads.to_string())
            .env("ASSAY_BENCH_TOKENS", tokens.to_string());
        contenders.push((label.to_string(), c));
    }
    // llama.cpp with the same thread count, and with one thread like assay's fast path.
    for t in [threads, 1] {
        let mut peer = Command::new(&python);
        peer.arg(&peer_script)
            .arg(&model)
            .arg(&prompt_file)
            .arg(tokens.to_string())
            .arg(t.to_string());
        contenders.push((format!("llama.cpp Q4_1 ({t} thread(s))"), peer));
    }
    for (label, mut cmd) in contenders {
        eprintln!("running {label} ...");
        rows.push((label, run_child(&mut cmd)));
    }
    let _ = std::fs::remove_file(&prompt_file);

    println!(
        "{:<42} {:>8} {:>12} {:>12} {:>10}",
        "contender", "prompt", "prompt tok/s", "gen tok/s", "peak MB"
    );
    let f = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_f64()).unwrap_or(f64::NAN);
    for (label, row) in &rows {
        match row {
            Some(v) => println!(
                "{label:<42} {:>8} {:>12.1} {:>12.1} {:>10.0}",
                f(v, "prompt_tokens"),
                f(v, "prompt_tok_s"),
                f(v, "gen_tok_s"),
                f(v, "peak_rss_mb")
            ),
            None => println!(
                "{label:<42} (did not run; see above; for llama.cpp set ASSAY_PEER_PYTHON)"
            ),
        }
    }
    if let (Some(Some(ours)), Some(Some(peer))) =
        (rows.get(2).map(|r| &r.1), rows.get(3).map(|r| &r.1))
    {
        println!(
            "generation, assay (default path) / llama.cpp: {:.2}x",
            f(ours, "gen_tok_s") / f(peer, "gen_tok_s")
        );
    }
    Ok(())
}
