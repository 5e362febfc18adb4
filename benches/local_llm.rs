//! `cargo bench --bench local_llm`: prompt and generation tokens/s and peak memory of assay's
//! local model (the shipped Q4_1 and its Q8_0 copy), beside llama.cpp (llama-cpp-python) on the
//! same GGUF, prompt, token count and thread count, in the same run.
//!
//! Each contender runs in its own process so peak memory (VmHWM / ru_maxrss) is its own; each
//! round runs assay and llama.cpp alternately at 1..=ASSAY_BENCH_THREADS threads, and the load
//! average is printed before and after (the figures mean little on a busy machine).
//! Environment: ASSAY_MODEL_PATH (else the default path), ASSAY_BENCH_THREADS (2),
//! ASSAY_BENCH_ROUNDS (3), ASSAY_BENCH_TOKENS (128), ASSAY_BENCH_CANDLE=1 (also candle's own
//! quantized llama), ASSAY_PEER_PYTHON (a python with llama-cpp-python 0.3.36; make one with
//! `python3 -m venv /tmp/llamacpp-venv && /tmp/llamacpp-venv/bin/pip install numpy
//! llama-cpp-python==0.3.36`, which compiles llama.cpp for this CPU in a few minutes).

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
    let ids = engine.tokenizer().encode(&prompt)?;
    let mut best = [0f64; 4];
    for _ in 0..2 {
        // CPU time of the prompt alone, then of prompt + generation: the difference is the
        // generation's (wall-clock figures come from the engine's own timings).
        let c0 = cpu_secs();
        engine.logits(&ids, 0)?;
        let c1 = cpu_secs();
        let g = engine.generate(&prompt, &opts, &cancel, &mut |_| {})?;
        let c2 = cpu_secs();
        let gen_cpu = (c2 - c1) - (c1 - c0);
        // The first generated token comes from the prompt's logits; the rest cost a step each.
        let steps = g.tokens.len().saturating_sub(1) as f64;
        let run = [
            g.prompt_tokens as f64 / g.prompt_secs,
            steps / g.gen_secs,
            ids.len() as f64 / (c1 - c0).max(1e-9),
            steps / gen_cpu.max(1e-9),
        ];
        for (b, r) in best.iter_mut().zip(run) {
            *b = b.max(r);
        }
    }
    println!(
        "{{\"prompt_tokens\": {}, \"prompt_tok_s\": {}, \"gen_tokens\": {tokens}, \"gen_tok_s\": {}, \"prompt_cpu_tok_s\": {}, \"gen_cpu_tok_s\": {}, \"peak_rss_mb\": {}}}",
        ids.len(),
        best[0],
        best[1],
        best[2],
        best[3],
        peak_rss_mb()
    );
    Ok(())
}

/// CPU time of the whole process (every thread), in seconds.
fn cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
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

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tokens = env_usize("ASSAY_BENCH_TOKENS", 128);
    if let Some(path) = std::env::var_os("ASSAY_BENCH_CHILD") {
        return child(Path::new(&path), tokens);
    }
    let max_threads = env_usize("ASSAY_BENCH_THREADS", 2);
    let rounds = env_usize("ASSAY_BENCH_ROUNDS", 3);
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
    let ours = |path: &Path, backend: &str, threads: usize| {
        let mut c = Command::new(&exe);
        c.env("ASSAY_BENCH_CHILD", path)
            .env("ASSAY_BENCH_BACKEND", backend)
            .env("ASSAY_THREADS", threads.to_string())
            .env("RAYON_NUM_THREADS", threads.to_string())
            .env("ASSAY_BENCH_TOKENS", tokens.to_string());
        c
    };
    let peer = |threads: usize| {
        let mut c = Command::new(&python);
        c.arg(&peer_script)
            .arg(&model)
            .arg(&prompt_file)
            .arg(tokens.to_string())
            .arg(threads.to_string());
        c
    };

    let load_before = load_average();
    println!(
        "local_llm: {tokens} new tokens, greedy, {rounds} rounds, model {}; load average before: {load_before} ({} CPUs)",
        model.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // Contenders alternate within each round, so a change in the machine's load hits all.
    let mut labels: Vec<String> = Vec::new();
    let mut results: Vec<Vec<serde_json::Value>> = Vec::new();
    for round in 0..rounds {
        for t in 1..=max_threads {
            for (label, mut cmd) in [
                (
                    format!("assay Q4_1 as shipped, {t} thread(s)"),
                    ours(&model, "auto", t),
                ),
                (format!("llama.cpp Q4_1, {t} thread(s)"), peer(t)),
                (
                    format!("assay Q8_0 copy, {t} thread(s)"),
                    ours(&q8, "auto", t),
                ),
            ] {
                eprintln!("round {} running {label} ...", round + 1);
                let i = match labels.iter().position(|l| *l == label) {
                    Some(i) => i,
                    None => {
                        labels.push(label.clone());
                        results.push(Vec::new());
                        labels.len() - 1
                    }
                };
                if let Some(v) = run_child(&mut cmd) {
                    results[i].push(v);
                }
            }
        }
    }
    // candle's own quantized llama, once, for reference (it is what the fast path replaced).
    if std::env::var("ASSAY_BENCH_CANDLE").is_ok_and(|v| v == "1") {
        for (label, path) in [
            ("assay/candle Q4_1 (as shipped)", &model),
            ("assay/candle Q8_0 (cached copy)", &q8),
        ] {
            let label = format!("{label}, {max_threads} threads");
            eprintln!("running {label} ...");
            labels.push(label);
            results.push(
                run_child(&mut ours(path, "candle", max_threads))
                    .into_iter()
                    .collect(),
            );
        }
    }
    let _ = std::fs::remove_file(&prompt_file);
    let load_after = load_average();

    let f = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_f64()).unwrap_or(f64::NAN);
    println!(
        "{:<38} {:>6} {:>17} {:>17} {:>11} {:>11} {:>7}",
        "contender (median / best of rounds)",
        "prompt",
        "prompt tok/s",
        "gen tok/s",
        "prompt/cpu-s",
        "gen/cpu-s",
        "peak MB"
    );
    let mut gen_median = std::collections::HashMap::new();
    for (label, runs) in labels.iter().zip(&results) {
        let Some(first) = runs.first() else {
            println!("{label:<38} (did not run; see above; for llama.cpp set ASSAY_PEER_PYTHON)");
            continue;
        };
        let col = |k: &str| runs.iter().map(|v| f(v, k)).collect::<Vec<_>>();
        let best = |k: &str| col(k).into_iter().fold(f64::NAN, f64::max);
        gen_median.insert(label.clone(), median(col("gen_tok_s")));
        println!(
            "{label:<38} {:>6} {:>7.1} / {:>7.1} {:>7.1} / {:>7.1} {:>11.1} {:>11.1} {:>7.0}",
            f(first, "prompt_tokens"),
            median(col("prompt_tok_s")),
            best("prompt_tok_s"),
            median(col("gen_tok_s")),
            best("gen_tok_s"),
            median(col("prompt_cpu_tok_s")),
            median(col("gen_cpu_tok_s")),
            best("peak_rss_mb")
        );
    }
    for t in 1..=max_threads {
        let ours = gen_median.get(&format!("assay Q4_1 as shipped, {t} thread(s)"));
        let theirs = gen_median.get(&format!("llama.cpp Q4_1, {t} thread(s)"));
        if let (Some(a), Some(b)) = (ours, theirs) {
            println!(
                "generation at {t} thread(s), assay / llama.cpp (medians): {:.2}x",
                a / b
            );
        }
    }
    println!(
        "per cpu-s: tokens per second of the process's CPU time (all its threads, spinning \
         included); at 1 thread it is close to the wall-clock rate of an idle machine"
    );
    println!("load average before: {load_before}, after: {load_after}");
    Ok(())
}
