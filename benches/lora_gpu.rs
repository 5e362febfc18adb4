//! One round of the built-in trainer's LoRA steps on `ASSAY_DEVICE` (a CUDA GPU in a
//! `--features cuda` build), for `scripts/gpu-check.sh`, which alternates it with PyTorch + PEFT
//! (`benches/peers/peft_peer.py`) on the same GPU and samples the GPU's memory around each.
//!
//! `lora_gpu MODEL IDS.json SEQ BATCH RANK WARMUP STEPS`: MODEL is a GGUF file or a Hugging Face
//! folder, IDS.json at least SEQ+1 token ids; every row of the batch trains on those ids (the
//! peer's input), LoRA r=RANK on q,v through `Trainer::train_step` (AdamW, clipping), each step
//! timed to the device's completion. Prints `ASSAY <s/step> <tok/s> <last loss> <device>`.
//! Plain `cargo bench` runs it with no arguments: it then says how to use it and exits.

use assay::train::{BaseWeights, Example, LoraConfig, LoraLlama, TrainConfig, Trainer};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [model, ids, seq, batch, rank, warmup, steps] = &args[..] else {
        println!(
            "lora_gpu: one round for scripts/gpu-check.sh; usage: \
             lora_gpu MODEL IDS.json SEQ BATCH RANK WARMUP STEPS (device from ASSAY_DEVICE)"
        );
        return Ok(());
    };
    let num = |s: &str, what: &str| -> anyhow::Result<usize> {
        s.parse()
            .map_err(|_| anyhow::anyhow!("{what} must be a whole number, got {s:?}"))
    };
    let (seq, batch, rank) = (num(seq, "SEQ")?, num(batch, "BATCH")?, num(rank, "RANK")?);
    let (warmup, steps) = (num(warmup, "WARMUP")?, num(steps, "STEPS")?.max(1));
    let ids_text = std::fs::read_to_string(ids)
        .map_err(|e| anyhow::anyhow!("{ids}: {e} (a JSON list of token ids)"))?;
    let ids: Vec<u32> = serde_json::from_str(&ids_text)
        .map_err(|e| anyhow::anyhow!("{ids}: not a JSON list of token ids: {e}"))?;
    anyhow::ensure!(
        ids.len() > seq,
        "IDS.json has {} ids; SEQ {seq} needs {}",
        ids.len(),
        seq + 1
    );

    let device = assay::train::device::from_env()?;
    let base = BaseWeights::load(&PathBuf::from(model), &device)?;
    let lora = LoraConfig {
        rank,
        alpha: 16.0,
        dropout: 0.0,
        targets: vec!["q_proj".into(), "v_proj".into()],
    };
    let config = TrainConfig {
        lora: lora.clone(),
        learning_rate: 1e-4,
        warmup_steps: 0,
        max_steps: warmup + steps,
        batch_size: batch,
        max_seq_len: seq + 1,
        eval_fraction: 0.0,
        ..TrainConfig::default()
    };
    let example = Example {
        ids: ids[..=seq].to_vec(),
        trained: vec![true; seq + 1],
    };
    let model = LoraLlama::new(&base, lora, 0)?;
    let mut trainer = Trainer::new(model, config, vec![example; batch])?;
    let (mut total, mut loss) = (0.0, f32::NAN);
    for i in 0..warmup + steps {
        let t0 = Instant::now();
        let point = trainer.train_step()?;
        device.synchronize()?;
        if i >= warmup {
            total += t0.elapsed().as_secs_f64();
        }
        loss = point.loss;
    }
    let per_step = total / steps as f64;
    println!(
        "ASSAY {per_step:.6} {:.1} {loss:.4} {}",
        (seq * batch) as f64 / per_step,
        assay::train::device::label(&device)
    );
    Ok(())
}
