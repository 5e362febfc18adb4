//! LoRA training throughput on SmolLM2-135M (GGUF, dequantised to f32) and on a tiny random
//! Qwen2 (q/k/v biases, tied embeddings): r=8 on q,v, sequence 256, batch 1, 2 threads; side by
//! side with PyTorch + PEFT on the same weights and ids (the Qwen2 as a Hugging Face folder).
//!
//! `cargo bench --bench lora` (`ASSAY_BENCH_CASES=llama` or `=qwen2` for one of them). Model:
//! `ASSAY_MODEL_PATH` or `<models dir>/SmolLM2-135M-Instruct.Q4_1.gguf`.
//! Peer: `ASSAY_PEER_PYTHON` (a python with torch, transformers, peft, gguf), default `python3`.
//! The two alternate, round by round (the peer a fresh process each round), and the medians of
//! the rounds are printed: on a shared machine the load moves between rounds.
//! `ASSAY_BENCH_VERBOSE=1` prints candle's forward and backward time per step. Under load,
//! PyTorch's OpenMP threads spin-wait and its rate collapses; `OMP_WAIT_POLICY=PASSIVE` (passed
//! on to the peer) gives it its best case on a shared machine.

use assay::llama::{Architecture, LlamaConfig};
use assay::train::{BaseWeights, LoraConfig, LoraLlama};
use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::time::Instant;

const SEQ: usize = 256;
const RANK: usize = 8;
const WARMUP: usize = 1;
const STEPS: usize = 3;
const ROUNDS: usize = 3;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// User + system CPU seconds of this process: under a shared, loaded machine the wall clock
/// measures the neighbours too, CPU time much less so.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok());
    // Counted from the state field (3rd): utime is the 14th field, stime the 15th, summed over
    // all threads; 100 ticks per second on Linux.
    tick(11)
        .zip(tick(12))
        .map_or(f64::NAN, |(u, s)| (u + s) / 100.0)
}

/// One model to train: what the bench prints, the weights, and what the peer loads (the same
/// GGUF, or a Hugging Face folder of the same weights).
struct Case {
    label: String,
    base: BaseWeights,
    peer_model: PathBuf,
}

/// The tiny Qwen2 config of the second case: q/k/v biases, tied embeddings as Qwen2.5's small
/// models have them, a vocabulary that costs about what the layers cost.
fn tiny_qwen2() -> LlamaConfig {
    LlamaConfig {
        model_type: Architecture::Qwen2,
        vocab_size: 16_384,
        hidden_size: 256,
        intermediate_size: 1024,
        num_hidden_layers: 4,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: None,
        rms_norm_eps: 1e-6,
        rope_theta: 1_000_000.0,
        max_position_embeddings: 1024,
        tie_word_embeddings: true,
        rope_scaling: None,
    }
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: set before any thread is started.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "2") };
    }
    // `ASSAY_BENCH_CASES=llama` or `=qwen2` runs one of the two.
    let only = std::env::var("ASSAY_BENCH_CASES").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|c| c.trim() == name);
    let dev = Device::Cpu;
    let mut cases = Vec::new();
    let scratch = tempfile_dir()?;
    if wanted("llama") {
        let path = std::env::var_os("ASSAY_MODEL_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| assay::paths::models_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf"));
        if path.is_file() {
            cases.push(Case {
                label: "SmolLM2-135M (llama, GGUF dequantised to f32)".into(),
                base: BaseWeights::from_gguf(&path, &dev)?,
                peer_model: path,
            });
        } else {
            println!(
                "lora bench: model not found at {} (set ASSAY_MODEL_PATH); skipping the llama case",
                path.display()
            );
        }
    }
    if wanted("qwen2") {
        let base = BaseWeights::random(tiny_qwen2(), &dev, 11)?;
        let folder = scratch.join("tiny-qwen2");
        // The peer loads the same weights from a Hugging Face folder (B = 0: the base's).
        let model = LoraLlama::new(&base, LoraConfig::default(), 0)?;
        assay::train::adapter::save_merged(&model, &folder)?;
        let c = &base.config;
        cases.push(Case {
            label: format!(
                "tiny Qwen2 (random; hidden {}, {} layers, vocab {}, tied, q/k/v biases)",
                c.hidden_size, c.num_hidden_layers, c.vocab_size
            ),
            base,
            peer_model: folder,
        });
    }
    let python = std::env::var("ASSAY_PEER_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/peers/peft_peer.py");
    for case in &cases {
        run_case(case, &python, &script, &scratch)?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// A scratch folder of this process under the temporary directory.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("assay-lora-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn run_case(
    case: &Case,
    python: &str,
    script: &std::path::Path,
    scratch: &std::path::Path,
) -> anyhow::Result<()> {
    let dev = Device::Cpu;
    let base = &case.base;
    let lora = LoraConfig {
        rank: RANK,
        alpha: 16.0,
        dropout: 0.0,
        targets: vec!["q_proj".into(), "v_proj".into()],
    };
    let vocab = base.config.vocab_size as u32;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let ids: Vec<u32> = (0..=SEQ).map(|_| rng.random_range(0..vocab)).collect();
    let ids_file = scratch.join("ids.json");
    std::fs::write(&ids_file, serde_json::to_string(&ids)?)?;

    let model = LoraLlama::new(base, lora, 0)?;
    let mut opt = candle_nn::AdamW::new(
        model.vars(),
        candle_nn::ParamsAdamW {
            lr: 1e-4,
            ..Default::default()
        },
    )?;
    use candle_nn::Optimizer;
    let input = Tensor::new(&ids[..SEQ], &dev)?.unsqueeze(0)?;
    let target = Tensor::new(&ids[1..], &dev)?.unsqueeze(0)?;
    let mask = Tensor::ones((1, SEQ), candle_core::DType::F32, &dev)?;
    let verbose = std::env::var_os("ASSAY_BENCH_VERBOSE").is_some();
    let mut step = 0;
    let mut candle_round = |warmup: usize| -> anyhow::Result<(f64, f64)> {
        let (mut wall, mut cpu) = (0.0, 0.0);
        for i in 0..warmup + STEPS {
            let t0 = Instant::now();
            let c0 = cpu_seconds();
            let loss = model.masked_loss(&input, &target, &mask, true)?;
            let t1 = Instant::now();
            let grads = loss.backward()?;
            let t2 = Instant::now();
            opt.step(&grads)?;
            let dt = t0.elapsed().as_secs_f64();
            if verbose {
                eprintln!(
                    "step {step}: loss {:.4} fwd {:.3}s bwd {:.3}s total {dt:.3}s",
                    loss.to_scalar::<f32>()?,
                    (t1 - t0).as_secs_f64(),
                    (t2 - t1).as_secs_f64()
                );
            }
            step += 1;
            if i >= warmup {
                wall += dt;
                cpu += cpu_seconds() - c0;
            }
        }
        Ok((wall / STEPS as f64, cpu / STEPS as f64))
    };
    println!("== {}", case.label);
    println!(
        "LoRA r={RANK} q,v, seq {SEQ}, batch 1, 2 threads; {ROUNDS} alternating rounds of {STEPS} timed steps each"
    );
    println!("  (tok/s per CPU-s x2: the rate on two idle cores, less exposed to other processes)");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut peer_rss = f64::NAN;
    for round in 1..=ROUNDS {
        // Only the first round warms up: the model persists between rounds (the peer is a new
        // process each round and warms up every time).
        let (wall, cpu) = candle_round(if round == 1 { WARMUP } else { 0 })?;
        report(
            &format!("round {round} candle (assay)"),
            wall,
            cpu,
            peak_rss_mib(),
        );
        ours.push((wall, cpu));
        match peer_round(python, script, &case.peer_model, &ids_file) {
            Ok((wall, cpu, rss)) => {
                report(&format!("round {round} PyTorch + PEFT"), wall, cpu, rss);
                theirs.push((wall, cpu));
                // The highest of the rounds' peaks (each round is a fresh process).
                peer_rss = peer_rss.max(rss);
            }
            Err(e) => println!("round {round} PyTorch + PEFT : {e}"),
        }
    }
    println!("medians over {ROUNDS} rounds:");
    let (w, c) = medians(&ours);
    report("candle (assay)", w, c, peak_rss_mib());
    if !theirs.is_empty() {
        let (w, c) = medians(&theirs);
        report("PyTorch + PEFT", w, c, peer_rss);
    }
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string()
}

fn report(who: &str, wall: f64, cpu: f64, rss: f64) {
    println!(
        "{who:<28}: {wall:.3} s/step {:7.1} tok/s wall {:7.1} tok/s per CPU-s x2  peak RSS {rss:6.0} MiB  load {}",
        SEQ as f64 / wall,
        2.0 * SEQ as f64 / cpu,
        load_average()
    );
}

fn medians(rounds: &[(f64, f64)]) -> (f64, f64) {
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (
        median(rounds.iter().map(|r| r.0).collect()),
        median(rounds.iter().map(|r| r.1).collect()),
    )
}

/// One round of the PyTorch + PEFT peer: (s/step wall, CPU-s/step, peak RSS MiB).
fn peer_round(
    python: &str,
    script: &std::path::Path,
    model: &std::path::Path,
    ids: &std::path::Path,
) -> anyhow::Result<(f64, f64, f64)> {
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(model)
        .arg(ids)
        .args([
            SEQ.to_string(),
            RANK.to_string(),
            WARMUP.to_string(),
            STEPS.to_string(),
        ])
        .output()
        .map_err(|e| anyhow::anyhow!("could not run {python}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("PEER "));
    let fields: Vec<f64> = line
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    match fields[..] {
        [wall, cpu, rss] if out.status.success() => Ok((wall, cpu, rss)),
        _ => anyhow::bail!(
            "peer failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
    }
}
