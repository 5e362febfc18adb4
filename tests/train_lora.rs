//! The built-in LoRA trainer on a tiny randomly initialised llama with a byte vocabulary: loss
//! falls on real QA text, adapters reload to the same logits, merged weights equal base +
//! adapter, checkpoints resume exactly, the stop flag stops, and the frozen-weight op's
//! gradient equals candle's matmul gradient.

use assay::model::{Content, Turn};
use assay::train::adapter::{load_adapter, save_adapter, save_merged};
use assay::train::{
    BaseWeights, ByteTokenizer, Example, LlamaConfig, LoraConfig, LoraLlama, Outcome, Point,
    TrainConfig, Trainer, encode_chatml, frozen_linear,
};
use candle_core::{Device, Tensor, Var};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const QA: [(&str, &str); 8] = [
    ("法国的首都是哪里?", "法国的首都是巴黎。"),
    (
        "What is the capital of France?",
        "The capital of France is Paris.",
    ),
    ("一加一等于几?", "一加一等于二。"),
    ("What is 2 + 2?", "2 + 2 = 4."),
    ("水在多少度沸腾?", "在标准大气压下,水在100摄氏度沸腾。"),
    (
        "Which planet is the largest?",
        "Jupiter is the largest planet.",
    ),
    ("中国最长的河流是什么?", "长江是中国最长的河流。"),
    ("Who wrote Hamlet?", "William Shakespeare wrote Hamlet."),
];

fn tiny_config() -> LlamaConfig {
    LlamaConfig {
        model_type: Default::default(),
        vocab_size: ByteTokenizer::VOCAB,
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: None,
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        max_position_embeddings: 256,
        tie_word_embeddings: false,
        rope_scaling: None,
    }
}

fn base() -> BaseWeights {
    BaseWeights::random(tiny_config(), &Device::Cpu, 1).unwrap()
}

fn examples() -> Vec<Example> {
    QA.iter()
        .map(|(q, a)| {
            let content = Content {
                system: Some("You answer briefly.".into()),
                turns: vec![Turn::user(*q), Turn::assistant(*a)],
                ..Content::default()
            };
            encode_chatml(&ByteTokenizer, &content, 256)
                .unwrap()
                .unwrap()
        })
        .collect()
}

fn lora(dropout: f32) -> LoraConfig {
    LoraConfig {
        rank: 8,
        alpha: 16.0,
        dropout,
        targets: [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ]
        .map(String::from)
        .to_vec(),
    }
}

fn train_config(dropout: f32) -> TrainConfig {
    TrainConfig {
        lora: lora(dropout),
        learning_rate: 1e-2,
        warmup_steps: 3,
        max_steps: 60,
        batch_size: 4,
        eval_fraction: 0.25,
        eval_every: 10,
        max_seq_len: 256,
        ..TrainConfig::default()
    }
}

fn probe() -> Tensor {
    let ex = &examples()[0];
    Tensor::new(ex.ids.as_slice(), &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn chatml_mask_covers_only_assistant_text() {
    let ex = &examples()[1];
    let trained: Vec<u8> = ex
        .ids
        .iter()
        .zip(&ex.trained)
        .filter(|(_, t)| **t)
        .filter_map(|(id, _)| u8::try_from(*id).ok())
        .collect();
    assert_eq!(trained, b"The capital of France is Paris.");
    // The closing `<|im_end|>` after the answer is learned too, so the model learns to stop.
    let last_trained = ex.trained.iter().rposition(|t| *t).unwrap();
    assert_eq!(ex.ids[last_trained], 257);
}

#[test]
fn loss_falls_on_sample_qa() {
    let model = LoraLlama::new(&base(), lora(0.05), 3).unwrap();
    let mut trainer = Trainer::new(model, train_config(0.05), examples()).unwrap();
    assert_eq!((trainer.train_len(), trainer.eval_len()), (6, 2));
    let out = tempfile::tempdir().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut points: Vec<Point> = Vec::new();
    let outcome = trainer
        .run(out.path(), "tiny", &stop, &mut |p| points.push(p.clone()))
        .unwrap();
    assert_eq!(outcome, Outcome::Finished);
    assert_eq!(points.len(), 60);
    let first: f32 = points[..5].iter().map(|p| p.loss).sum::<f32>() / 5.0;
    let last: f32 = points[55..].iter().map(|p| p.loss).sum::<f32>() / 5.0;
    eprintln!("train loss {first:.3} -> {last:.3}");
    assert!(last < first * 0.75, "loss did not fall: {first} -> {last}");
    let evals: Vec<f32> = points.iter().filter_map(|p| p.eval_loss).collect();
    assert_eq!(evals.len(), 6);
    assert!(
        points
            .iter()
            .all(|p| p.loss.is_finite() && p.tokens_per_s > 0.0)
    );
    // Warm-up then cosine: peak at the end of warm-up, near zero at the end.
    assert!((points[2].lr - 1e-2).abs() < 1e-12);
    assert!(points[59].lr < 1e-6);
    assert!(out.path().join("adapter_model.safetensors").is_file());
}

fn trained_model(steps: usize) -> (LoraLlama, tempfile::TempDir) {
    let model = LoraLlama::new(&base(), lora(0.0), 3).unwrap();
    let mut cfg = train_config(0.0);
    cfg.max_steps = steps;
    let mut trainer = Trainer::new(model, cfg, examples()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    trainer.run(out.path(), "tiny", &stop, &mut |_| {}).unwrap();
    (trainer.model, out)
}

#[test]
fn saved_adapter_reloads_to_the_same_logits_and_merges() {
    let (model, out) = trained_model(6);
    let ids = probe();
    let want = model.forward(&ids, false).unwrap();
    let base_logits = LoraLlama::new(&base(), lora(0.0), 9)
        .unwrap()
        .forward(&ids, false)
        .unwrap();
    assert!(
        max_diff(&want, &base_logits) > 1e-3,
        "training changed nothing"
    );

    let reloaded = load_adapter(&base(), out.path()).unwrap();
    assert!(max_diff(&want, &reloaded.forward(&ids, false).unwrap()) < 1e-6);

    let merged_dir = tempfile::tempdir().unwrap();
    save_merged(&model, merged_dir.path()).unwrap();
    let merged = BaseWeights::from_hf_dir(merged_dir.path(), &Device::Cpu).unwrap();
    // A fresh LoRA has B = 0, so this model is exactly the merged weights.
    let merged = LoraLlama::new(&merged, lora(0.0), 5).unwrap();
    let d = max_diff(&want, &merged.forward(&ids, false).unwrap());
    assert!(d < 1e-4, "merged model differs from base + adapter by {d}");
}

#[test]
fn adapter_files_follow_peft_naming() {
    let model = LoraLlama::new(&base(), lora(0.0), 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    save_adapter(&model, dir.path(), "tiny").unwrap();
    let cfg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("adapter_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cfg["peft_type"], "LORA");
    assert_eq!(cfg["r"], 8);
    let t =
        candle_core::safetensors::load(dir.path().join("adapter_model.safetensors"), &Device::Cpu)
            .unwrap();
    assert_eq!(t.len(), 2 * 7 * 2);
    let a = &t["base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight"];
    let b = &t["base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"];
    assert_eq!((a.dims(), b.dims()), (&[8, 64][..], &[32, 8][..]));
}

#[test]
fn resume_continues_exactly_and_stop_flag_stops() {
    let (straight, _dir) = trained_model(4);

    let model = LoraLlama::new(&base(), lora(0.0), 3).unwrap();
    let mut cfg = train_config(0.0);
    cfg.max_steps = 4;
    let mut first = Trainer::new(model, cfg.clone(), examples()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let outcome = first
        .run(out.path(), "tiny", &stop, &mut |p| {
            if p.step == 2 {
                flag.store(true, Ordering::Relaxed);
            }
        })
        .unwrap();
    assert_eq!(outcome, Outcome::Stopped);
    assert_eq!(first.step, 2);
    let ck = Trainer::latest_checkpoint(out.path()).unwrap();
    assert!(ck.ends_with("checkpoint-2"));

    let model = LoraLlama::new(&base(), lora(0.0), 77).unwrap();
    let mut second = Trainer::new(model, cfg, examples()).unwrap();
    second.resume_from(&ck).unwrap();
    stop.store(false, Ordering::Relaxed);
    let mut steps = Vec::new();
    let outcome = second
        .run(out.path(), "tiny", &stop, &mut |p| steps.push(p.step))
        .unwrap();
    assert_eq!((outcome, steps), (Outcome::Finished, vec![3, 4]));
    let ids = probe();
    let d = max_diff(
        &straight.forward(&ids, false).unwrap(),
        &second.model.forward(&ids, false).unwrap(),
    );
    assert!(
        d < 1e-5,
        "resumed run differs from an uninterrupted one by {d}"
    );
}

#[test]
fn frozen_op_gradient_equals_matmul_gradient() {
    let dev = Device::Cpu;
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 5, 16), &dev).unwrap()).unwrap();
    let w = Tensor::randn(0f32, 1.0, (24, 16), &dev).unwrap();
    let g = Tensor::randn(0f32, 1.0, (2, 5, 24), &dev).unwrap();

    let ours = frozen_linear(x.as_tensor(), &w).unwrap();
    let theirs = x.as_tensor().broadcast_matmul(&w.t().unwrap()).unwrap();
    assert!(max_diff(&ours, &theirs) < 1e-5);

    let grad_ours = (ours * &g).unwrap().sum_all().unwrap().backward().unwrap();
    let grad_theirs = (theirs * &g)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let d = max_diff(
        grad_ours.get(x.as_tensor()).unwrap(),
        grad_theirs.get(x.as_tensor()).unwrap(),
    );
    assert!(d < 1e-5, "input gradients differ by {d}");
    // The frozen weight gets no gradient at all.
    assert!(grad_ours.get(&w).is_none());
}

#[test]
fn fused_cross_entropy_matches_log_softmax_and_its_gradient() {
    let dev = Device::Cpu;
    let x = Var::from_tensor(&Tensor::randn(0f32, 3.0, (6, 11), &dev).unwrap()).unwrap();
    let t = Tensor::new(&[0u32, 3, 10, 5, 5, 1], &dev).unwrap();
    let w = Tensor::new(&[1f32, 0.5, 2.0, 0.0, 1.0, 3.0], &dev).unwrap();
    let ours = assay::train::loss::cross_entropy_rows(x.as_tensor(), &t).unwrap();
    let logp = candle_nn::ops::log_softmax(x.as_tensor(), 1).unwrap();
    let theirs = logp
        .gather(&t.reshape((6, 1)).unwrap(), 1)
        .unwrap()
        .squeeze(1)
        .unwrap()
        .neg()
        .unwrap();
    assert!(max_diff(&ours, &theirs) < 1e-5);
    let g1 = (ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
    let g2 = (theirs * &w)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let d = max_diff(
        g1.get(x.as_tensor()).unwrap(),
        g2.get(x.as_tensor()).unwrap(),
    );
    assert!(d < 1e-5, "gradients differ by {d}");
}
