//! The fused CPU layer (one candle op per decoder layer, hand-written backward) against the
//! composed layer differentiated by candle's autograd, on a tiny random llama: same logits, same
//! gradient for every LoRA matrix, across a batch of two sequences and grouped-query heads.

use assay::train::loss::masked_cross_entropy;
use assay::train::{BaseWeights, LlamaConfig, LoraConfig, LoraLlama};
use candle_core::{DType, Device, Shape, Tensor};
use rand::{Rng, SeedableRng};

/// Seeded normal-ish values (uniform in [-1, 1), scaled), so failures reproduce.
fn seeded(shape: &Shape, scale: f32, rng: &mut rand_chacha::ChaCha8Rng) -> Tensor {
    let data: Vec<f32> = (0..shape.elem_count())
        .map(|_| rng.random_range(-scale..scale))
        .collect();
    Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
}

fn tiny() -> LlamaConfig {
    LlamaConfig {
        model_type: Default::default(),
        vocab_size: 97,
        hidden_size: 48,
        intermediate_size: 80,
        num_hidden_layers: 2,
        num_attention_heads: 6,
        num_key_value_heads: 2,
        head_dim: None,
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        max_position_embeddings: 64,
        tie_word_embeddings: false,
        rope_scaling: None,
    }
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    let scale = b.abs().unwrap().flatten_all().unwrap().max(0).unwrap();
    let d = (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap();
    d.to_scalar::<f32>().unwrap() / scale.to_scalar::<f32>().unwrap().max(1e-6)
}

fn check(targets: &[&str]) {
    let dev = Device::Cpu;
    let base = BaseWeights::random(tiny(), &dev, 3).unwrap();
    let lora = LoraConfig {
        rank: 4,
        alpha: 8.0,
        dropout: 0.0,
        targets: targets.iter().map(|s| s.to_string()).collect(),
    };
    let model = LoraLlama::new(&base, lora, 5).unwrap();
    // B starts at zero (PEFT's init), which would hide every A gradient: randomise it.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for (_, pair) in model.lora_pairs() {
        pair.b.set(&seeded(pair.b.shape(), 0.5, &mut rng)).unwrap();
    }
    let ids: Vec<u32> = (0..2 * 22u32).map(|i| (i * 37 + 11) % 97).collect();
    let ids = Tensor::from_vec(ids, (2, 22), &dev).unwrap();
    let input = ids.narrow(1, 0, 21).unwrap();
    let target = ids.narrow(1, 1, 21).unwrap();
    // 21 positions, so the causal attention blocks (6 rows) do not divide the sequence; the
    // first positions are prompt (mask 0), as in supervised fine-tuning.
    let mask: Vec<f32> = (0..42)
        .map(|i| if i % 21 < 3 { 0.0 } else { 1.0 })
        .collect();
    let mask = Tensor::from_vec(mask, (2, 21), &dev).unwrap();

    let fused = model.forward(&input, true).unwrap();
    let composed = model.forward_composed(&input, true).unwrap();
    let d = max_diff(&fused, &composed);
    assert!(d < 1e-4, "logits differ by {d} (relative)");

    let g1 = masked_cross_entropy(&fused, &target, &mask)
        .unwrap()
        .backward()
        .unwrap();
    let g2 = masked_cross_entropy(&composed, &target, &mask)
        .unwrap()
        .backward()
        .unwrap();
    // The fused output projection + loss must agree with the composed graph too.
    let head = model.masked_loss(&input, &target, &mask, true).unwrap();
    let reference = masked_cross_entropy(&composed, &target, &mask).unwrap();
    let d = max_diff(&head, &reference);
    assert!(d < 1e-4, "fused head loss differs by {d} (relative)");
    let g3 = head.backward().unwrap();
    let vars = model.vars();
    assert_eq!(vars.len(), 2 * 2 * targets.len());
    for (n, v) in vars.iter().enumerate() {
        let a = g1.get(v.as_tensor()).expect("fused gradient");
        let b = g2.get(v.as_tensor()).expect("composed gradient");
        let d = max_diff(a, b);
        assert!(d < 1e-3, "gradient of var {n} differs by {d} (relative)");
        let c = g3.get(v.as_tensor()).expect("fused head gradient");
        let d = max_diff(c, b);
        assert!(
            d < 1e-3,
            "fused head gradient of var {n} differs by {d} (relative)"
        );
        let norm = b
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(
            norm > 0.0,
            "var {n} has a zero gradient: the check would be vacuous"
        );
    }
}

#[test]
fn fused_layer_matches_autograd_on_all_projections() {
    check(&[
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ]);
}

#[test]
fn fused_layer_matches_autograd_on_q_and_v() {
    check(&["q_proj", "v_proj"]);
}

/// With LoRA dropout the masks are the op's own, so autograd has nothing to compare with: check
/// the gradient against a finite difference of the loss under the same masks instead.
#[test]
fn fused_layer_gradient_with_dropout_matches_finite_difference() {
    let dev = Device::Cpu;
    let base = BaseWeights::random(tiny(), &dev, 4).unwrap();
    let lora = LoraConfig {
        rank: 4,
        alpha: 8.0,
        dropout: 0.3,
        targets: ["q_proj", "v_proj", "down_proj"].map(String::from).to_vec(),
    };
    let model = LoraLlama::new(&base, lora, 6).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for (_, pair) in model.lora_pairs() {
        pair.b.set(&seeded(pair.b.shape(), 0.5, &mut rng)).unwrap();
    }
    let ids: Vec<u32> = (0..17u32).map(|i| (i * 29 + 5) % 97).collect();
    let ids = Tensor::from_vec(ids, (1, 17), &dev).unwrap();
    let (input, target) = (ids.narrow(1, 0, 16).unwrap(), ids.narrow(1, 1, 16).unwrap());
    let mask = Tensor::ones((1, 16), DType::F32, &dev).unwrap();
    let loss = |seed: u64| {
        model.reseed_dropout(seed);
        let logits = model.forward(&input, true).unwrap();
        masked_cross_entropy(&logits, &target, &mask).unwrap()
    };
    let l0 = loss(9);
    let grads = l0.backward().unwrap();
    let l0 = l0.to_scalar::<f32>().unwrap() as f64;
    // Other masks give another loss: dropout is really applied.
    assert!((loss(10).to_scalar::<f32>().unwrap() as f64 - l0).abs() > 1e-6);
    let eps = 1e-2;
    for (n, v) in model.vars().iter().enumerate() {
        let g = grads.get(v.as_tensor()).unwrap();
        // A unit direction: a step as large as the weights themselves would measure curvature.
        let dir = seeded(v.shape(), 1.0, &mut rng);
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
        let up = loss(9).to_scalar::<f32>().unwrap() as f64;
        v.set(&(&orig - (&dir * eps).unwrap()).unwrap()).unwrap();
        let down = loss(9).to_scalar::<f32>().unwrap() as f64;
        v.set(&orig).unwrap();
        let measured = (up - down) / (2.0 * eps);
        let err = (measured - predicted).abs() / predicted.abs().max(1e-2);
        assert!(
            err < 2e-2,
            "var {n}: gradient predicts {predicted}, finite difference gives {measured}"
        );
    }
}
