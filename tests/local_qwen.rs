//! Inference on the Qwen family (Qwen2 tied and untied, Qwen3), against the trainer's forward on
//! the same weights: assay's quantised CPU forward (`fast_llama`) on a llama.cpp-layout GGUF,
//! evaluation's candle Qwen on a Hugging Face folder and its Q8_0 engine on a GGUF base, and a
//! tiny Qwen GGUF with SmolLM2's tokenizer generating through the local engine.
//!
//! The last test borrows the tokenizer of the offline model (`ASSAY_MODEL_PATH` or `assay model
//! fetch`); without it that test prints a notice and passes, unless `ASSAY_REQUIRE_MODEL=1`.

#[path = "support/offline_model.rs"]
mod offline_model;
#[path = "support/qwen.rs"]
mod qwen;

use assay::eval::model::{EngineKind, base_model};
use assay::llama::{Architecture, BaseWeights};
use assay::llm::local::engine::GenOptions;
use assay::llm::local::fast_llama::FastLlama;
use assay::train::{LoraConfig, LoraLlama};
use candle_core::quantized::{GgmlDType, gguf_file};
use candle_core::{Device, Tensor};
use std::sync::atomic::AtomicBool;

const IDS: [u32; 20] = [
    3, 17, 42, 99, 5, 61, 8, 23, 77, 14, 50, 2, 88, 31, 64, 9, 70, 45, 12, 36,
];

/// The trainer's logits at the last position of `ids` (f32, on the weights as loaded).
fn trainer_last(base: &BaseWeights, ids: &[u32]) -> Tensor {
    let model = LoraLlama::new(base, LoraConfig::default(), 0).unwrap();
    let input = Tensor::new(ids, &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    model
        .forward(&input, false)
        .unwrap()
        .narrow(1, ids.len() - 1, 1)
        .unwrap()
        .flatten_all()
        .unwrap()
}

fn vec_tensor(v: &[f32]) -> Tensor {
    Tensor::new(v, &Device::Cpu).unwrap()
}

/// Q8_0 weights as the file stores them: the trainer dequantises exactly these, so what is
/// left between the two is the forward's Q8 activations: up to about 1.3e-2 of the largest
/// logit on these models (peaked attention amplifies it), against 1.9e-1 with the wrong RoPE
/// layout for Qwen (measured), so 3e-2 tells the two apart.
#[test]
fn the_quantised_forward_matches_the_trainer_on_qwen_ggufs() {
    let mut all = qwen::cases().to_vec();
    all.push(("llama", qwen::config(Architecture::Llama, false)));
    for (name, cfg) in all {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        qwen::write_gguf(&qwen::base(cfg, 31), &path, GgmlDType::Q8_0, None, &[]);
        let base = BaseWeights::load(&path, &Device::Cpu).unwrap();
        let want = trainer_last(&base, &IDS);
        let mut f = std::fs::File::open(&path).unwrap();
        let content = gguf_file::Content::read(&mut f).unwrap();
        let mut fast = FastLlama::from_gguf(&content, &mut f, 64, 2).unwrap();
        let whole = fast.forward(&IDS, 0).unwrap().to_vec();
        let d = qwen::rel_diff(&vec_tensor(&whole), &want);
        eprintln!("{name}: quantised forward vs trainer: {d:.2e} (relative)");
        assert!(d < 3e-2, "{name}: logits differ by {d}");
        // Fed as a prompt and then token by token through the KV cache: the very same values.
        fast.forward(&IDS[..12], 0).unwrap();
        let mut last = Vec::new();
        for (i, &t) in IDS.iter().enumerate().skip(12) {
            last = fast.forward(&[t], i).unwrap().to_vec();
        }
        assert_eq!(last, whole, "{name}: the KV cache changes the logits");
    }
}

/// Evaluation of a Hugging Face Qwen folder (candle's Qwen2 / Qwen3 with a KV cache) computes
/// the trainer's logits, on the prompt and on each next token.
#[test]
fn evaluation_runs_a_qwen_folder_with_the_trainers_logits() {
    for (name, cfg) in qwen::cases() {
        let dir = tempfile::tempdir().unwrap();
        let model = LoraLlama::new(&qwen::base(cfg, 41), LoraConfig::default(), 0).unwrap();
        assay::train::adapter::save_merged(&model, dir.path()).unwrap();
        let base = BaseWeights::load(dir.path(), &Device::Cpu).unwrap();
        let mut eval = base_model(&base, EngineKind::Auto).unwrap();
        let got = eval.logits(&IDS[..15], 0).unwrap();
        let d = qwen::rel_diff(&vec_tensor(&got), &trainer_last(&base, &IDS[..15]));
        assert!(d < 1e-4, "{name}: prompt logits differ by {d}");
        for i in 15..IDS.len() {
            let got = eval.logits(&IDS[i..=i], i).unwrap();
            let d = qwen::rel_diff(&vec_tensor(&got), &trainer_last(&base, &IDS[..=i]));
            assert!(d < 1e-4, "{name}: logits at position {i} differ by {d}");
        }
    }
}

/// A tiny Qwen GGUF with a real vocabulary and tokenizer: the local engine (what `regenerate`
/// and `--model PATH` run) loads it on assay's own forward and generates; evaluation's Q8_0
/// engine on it as a base computes the trainer's logits.
#[test]
fn a_tiny_qwen_gguf_generates_through_the_local_engine() {
    let Some(tokenizer_from) = offline_model::find() else {
        return;
    };
    let tokenizer = qwen::tokenizer_metadata(&tokenizer_from);
    for (name, mut cfg) in qwen::cases() {
        cfg.vocab_size = 49152;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        qwen::write_gguf(
            &qwen::base(cfg, 51),
            &path,
            GgmlDType::Q8_0,
            None,
            &tokenizer,
        );
        let mut engine = assay::llm::local::load_engine(&path, &Device::Cpu).unwrap();
        assert!(engine.threads().is_some(), "{name}: not on assay's forward");
        let prompt = "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n";
        let opts = GenOptions {
            max_tokens: 6,
            temperature: 0.0,
            ignore_end_of_turn: true,
            ..GenOptions::default()
        };
        let out = engine
            .generate(prompt, &opts, &AtomicBool::new(false), &mut |_| {})
            .unwrap();
        assert_eq!(out.tokens.len(), 6, "{name}: {out:?}");
        assert_eq!(out.finish_reason, "length", "{name}");
        let ids = engine.tokenizer().encode(prompt).unwrap();
        let base = BaseWeights::load(&path, &Device::Cpu).unwrap();
        let want = trainer_last(&base, &ids);
        let got = engine.logits(&ids, 0).unwrap();
        let d = qwen::rel_diff(&vec_tensor(&got), &want);
        assert!(d < 3e-2, "{name}: engine logits differ by {d}");
        let mut q8 = base_model(&base, EngineKind::Q8).unwrap();
        let got = q8.logits(&ids, 0).unwrap();
        let d = qwen::rel_diff(&vec_tensor(&got), &want);
        assert!(
            d < 3e-2,
            "{name}: evaluation's Q8 engine logits differ by {d}"
        );
    }
}
