//! The Qwen family in the built-in trainer, without Python: on tiny random Qwen2 (tied and
//! untied) and Qwen3 models, the fused CPU layer against the composed autograd layer (logits and
//! every LoRA gradient), the gradients against a finite difference of the loss through the
//! biases and the q/k norms, a Hugging Face folder and a llama.cpp-layout GGUF of the same
//! weights giving the same logits, and an architecture the trainer does not know stopping with
//! its name. The comparison against transformers and PEFT is the conformance suite's
//! (`tests/conformance/qwen_check.py`).

#[path = "support/qwen.rs"]
mod qwen;

use assay::llama::{Architecture, BaseWeights, LlamaError};
use assay::train::adapter::save_merged;
use assay::train::loss::masked_cross_entropy;
use assay::train::{LoraConfig, LoraLlama};
use candle_core::quantized::GgmlDType;
use candle_core::{DType, Device, Tensor};
use qwen::{base, cases, rel_diff};
use rand::{Rng, SeedableRng};

const ALL: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

fn lora(targets: &[&str]) -> LoraConfig {
    LoraConfig {
        rank: 4,
        alpha: 8.0,
        dropout: 0.0,
        targets: targets.iter().map(|s| s.to_string()).collect(),
    }
}

/// A model with every B random: PEFT's zero B would hide every A gradient.
fn model(base: &BaseWeights, targets: &[&str], seed: u64) -> LoraLlama {
    let model = LoraLlama::new(base, lora(targets), seed).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed + 1);
    for (_, pair) in model.lora_pairs() {
        let n = pair.b.elem_count();
        let data: Vec<f32> = (0..n).map(|_| rng.random_range(-0.5..0.5)).collect();
        pair.b
            .set(&Tensor::from_vec(data, pair.b.shape(), &Device::Cpu).unwrap())
            .unwrap();
    }
    model
}

/// Two sequences of 21 tokens (the attention's row blocks do not divide it), the first three
/// positions prompt (mask 0): (input, target, mask).
fn batch(vocab: u32) -> (Tensor, Tensor, Tensor) {
    let dev = Device::Cpu;
    let ids: Vec<u32> = (0..2 * 22u32).map(|i| (i * 37 + 11) % vocab).collect();
    let ids = Tensor::from_vec(ids, (2, 22), &dev).unwrap();
    let mask: Vec<f32> = (0..42)
        .map(|i| if i % 21 < 3 { 0.0 } else { 1.0 })
        .collect();
    (
        ids.narrow(1, 0, 21).unwrap(),
        ids.narrow(1, 1, 21).unwrap(),
        Tensor::from_vec(mask, (2, 21), &dev).unwrap(),
    )
}

#[test]
fn fused_layer_matches_autograd_through_biases_and_qk_norms() {
    for (name, cfg) in cases() {
        let vocab = cfg.vocab_size as u32;
        let base = base(cfg, 3);
        let model = model(&base, &ALL, 5);
        let (input, target, mask) = batch(vocab);
        let fused = model.forward(&input, true).unwrap();
        let composed = model.forward_composed(&input, true).unwrap();
        let d = rel_diff(&fused, &composed);
        assert!(d < 1e-4, "{name}: logits differ by {d} (relative)");
        let g_fused = model
            .masked_loss(&input, &target, &mask, true)
            .unwrap()
            .backward()
            .unwrap();
        let g_composed = masked_cross_entropy(&composed, &target, &mask)
            .unwrap()
            .backward()
            .unwrap();
        let vars = model.vars();
        assert_eq!(vars.len(), 2 * 2 * ALL.len(), "{name}");
        for (n, v) in vars.iter().enumerate() {
            let a = g_fused.get(v.as_tensor()).expect("fused gradient");
            let b = g_composed.get(v.as_tensor()).expect("composed gradient");
            let d = rel_diff(a, b);
            assert!(d < 1e-3, "{name}: gradient of var {n} differs by {d}");
            let norm = b.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>();
            assert!(norm.unwrap() > 0.0, "{name}: var {n} has a zero gradient");
        }
    }
}

/// The biases and q/k norms are real: without them the logits move.
#[test]
fn biases_and_qk_norms_change_the_logits() {
    for (name, cfg) in cases() {
        let arch = cfg.model_type;
        let vocab = cfg.vocab_size as u32;
        let with = base(cfg.clone(), 3);
        let mut without = base(cfg, 3);
        for (k, t) in without.tensors.iter_mut() {
            if k.ends_with(".bias") {
                *t = t.zeros_like().unwrap();
            } else if k.contains("q_norm") || k.contains("k_norm") {
                *t = t.ones_like().unwrap();
            }
        }
        let (input, _, _) = batch(vocab);
        let a = LoraLlama::new(&with, lora(&["q_proj"]), 0).unwrap();
        let b = LoraLlama::new(&without, lora(&["q_proj"]), 0).unwrap();
        let d = rel_diff(
            &a.forward(&input, false).unwrap(),
            &b.forward(&input, false).unwrap(),
        );
        assert!(
            d > 1e-3,
            "{name} ({arch:?}): the extras change nothing ({d})"
        );
    }
}

/// The gradient the fused path computes predicts the change of the loss along a random
/// direction, through q/k/v biases and per-head norms (a check that needs no autograd).
#[test]
fn lora_gradients_match_a_finite_difference() {
    for (name, cfg) in cases() {
        let vocab = cfg.vocab_size as u32;
        let base = base(cfg, 8);
        let model = model(&base, &ALL, 9);
        let (input, target, mask) = batch(vocab);
        let loss = || {
            model
                .masked_loss(&input, &target, &mask, false)
                .unwrap()
                .to_dtype(DType::F64)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        let grads = model
            .masked_loss(&input, &target, &mask, true)
            .unwrap()
            .backward()
            .unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let eps = 1e-2;
        for (n, v) in model.vars().iter().enumerate() {
            let g = grads.get(v.as_tensor()).unwrap();
            let data: Vec<f32> = (0..v.elem_count())
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let dir = Tensor::from_vec(data, v.shape(), &Device::Cpu).unwrap();
            let norm = dir.sqr().unwrap().sum_all().unwrap().sqrt().unwrap();
            let dir = dir.broadcast_div(&norm).unwrap();
            let predicted = (g * &dir)
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap() as f64;
            let orig = v.as_tensor().copy().unwrap();
            v.set(&(&orig + (&dir * eps).unwrap()).unwrap()).unwrap();
            let up = loss();
            v.set(&(&orig - (&dir * eps).unwrap()).unwrap()).unwrap();
            let down = loss();
            v.set(&orig).unwrap();
            let measured = (up - down) / (2.0 * eps);
            let err = (measured - predicted).abs() / predicted.abs().max(1e-2);
            assert!(
                err < 2e-2,
                "{name}: var {n}: gradient predicts {predicted}, finite difference {measured}"
            );
        }
    }
}

/// One model, three sources: in memory, a Hugging Face folder (`assay merge`'s writer, read back
/// by the loader), and a GGUF laid out as llama.cpp writes it.
#[test]
fn a_folder_and_a_gguf_of_the_same_weights_give_the_same_logits() {
    let dev = Device::Cpu;
    for (name, cfg) in cases() {
        let arch = cfg.model_type;
        let tied = cfg.tie_word_embeddings;
        let vocab = cfg.vocab_size as u32;
        let base = base(cfg, 21);
        let model = LoraLlama::new(&base, lora(&["q_proj", "v_proj"]), 1).unwrap();
        let (input, _, _) = batch(vocab);
        let want = model.forward(&input, false).unwrap();

        let dir = tempfile::tempdir().unwrap();
        save_merged(&model, dir.path()).unwrap();
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap())
                .unwrap();
        assert_eq!(config["model_type"], arch.name(), "{name}");
        assert_eq!(config["architectures"][0], arch.hf_class(), "{name}");
        let stored =
            candle_core::safetensors::load(dir.path().join("model.safetensors"), &dev).unwrap();
        assert_eq!(stored.contains_key("lm_head.weight"), !tied, "{name}");
        let folder = BaseWeights::load(dir.path(), &dev).unwrap();
        assert_eq!(folder.config, base.config, "{name}");
        let got = LoraLlama::new(&folder, lora(&["q_proj"]), 0)
            .unwrap()
            .forward(&input, false)
            .unwrap();
        assert!(rel_diff(&got, &want) < 1e-6, "{name}: folder logits differ");

        let gguf = dir.path().join("model.gguf");
        qwen::write_gguf(&base, &gguf, GgmlDType::F32, None, &[]);
        let from_gguf = BaseWeights::load(&gguf, &dev).unwrap();
        assert_eq!(from_gguf.config.model_type, arch, "{name}");
        assert_eq!(
            from_gguf.config.head_dim(),
            base.config.head_dim(),
            "{name}"
        );
        assert_eq!(from_gguf.config.tie_word_embeddings, tied, "{name}");
        let got = LoraLlama::new(&from_gguf, lora(&["q_proj"]), 0)
            .unwrap()
            .forward(&input, false)
            .unwrap();
        let d = rel_diff(&got, &want);
        assert!(d < 1e-5, "{name}: GGUF logits differ by {d}");
    }
}

/// An architecture the trainer does not compute stops with its name and the way out, from a
/// folder's config.json and from a GGUF's general.architecture; missing Qwen weights are named.
#[test]
fn an_unknown_architecture_or_a_missing_qwen_weight_is_named() {
    let dev = Device::Cpu;
    let dir = tempfile::tempdir().unwrap();
    let base = base(qwen::config(Architecture::Qwen2, false), 2);
    let model = LoraLlama::new(&base, lora(&["q_proj"]), 0).unwrap();
    save_merged(&model, dir.path()).unwrap();
    let path = dir.path().join("config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"qwen2\"", "\"gemma2\"")).unwrap();
    let err = BaseWeights::load(dir.path(), &dev)
        .err()
        .expect("gemma2 refused");
    let msg = err.to_string();
    assert!(
        msg.contains("config.json")
            && msg.contains("model_type")
            && msg.contains("`gemma2`")
            && msg.contains("--trainer llamafactory"),
        "{msg}"
    );

    let gguf = dir.path().join("phi3.gguf");
    qwen::write_gguf(&base, &gguf, GgmlDType::F32, Some("phi3"), &[]);
    let msg = BaseWeights::load(&gguf, &dev)
        .err()
        .expect("phi3")
        .to_string();
    assert!(
        msg.contains("general.architecture") && msg.contains("`phi3`"),
        "{msg}"
    );

    // A Qwen2 folder whose biases are gone: the error names the first one.
    let mut no_bias = qwen::base(qwen::config(Architecture::Qwen2, false), 2);
    no_bias.tensors.retain(|k, _| !k.ends_with(".bias"));
    match LoraLlama::new(&no_bias, lora(&["q_proj"]), 0) {
        Err(assay::train::TrainError::Llama(LlamaError::MissingWeight { name, .. })) => {
            assert_eq!(name, "model.layers.0.self_attn.q_proj.bias")
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("a Qwen2 model without biases loaded"),
    }
}

/// A LoRA step on Qwen learns: the training loop runs the fused path end to end.
#[test]
fn a_few_steps_lower_the_loss_on_qwen() {
    for (name, cfg) in cases() {
        let vocab = cfg.vocab_size as u32;
        let base = base(cfg, 4);
        let model = LoraLlama::new(&base, lora(&["q_proj", "k_proj", "v_proj"]), 2).unwrap();
        let mut opt = candle_nn::AdamW::new(
            model.vars(),
            candle_nn::ParamsAdamW {
                lr: 2e-2,
                ..Default::default()
            },
        )
        .unwrap();
        use candle_nn::Optimizer;
        let (input, target, mask) = batch(vocab);
        let mut losses = Vec::new();
        for _ in 0..8 {
            let loss = model.masked_loss(&input, &target, &mask, true).unwrap();
            losses.push(loss.to_scalar::<f32>().unwrap());
            opt.backward_step(&loss).unwrap();
        }
        assert!(
            losses[7] < losses[0] - 0.05,
            "{name}: loss did not fall: {losses:?}"
        );
    }
}
