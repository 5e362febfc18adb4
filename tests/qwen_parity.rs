//! assay's side of the Qwen conformance check (`tests/conformance/qwen_check.py`): for each case
//! folder under `ASSAY_QWEN_PARITY_DIR` that the script made with transformers and PEFT (a tiny
//! Qwen2 / Qwen3 model folder, an initial PEFT adapter, token ids), loads the model and adapter
//! the way training does and writes `assay.safetensors`: the logits with and without the adapter,
//! the causal-LM loss and every LoRA gradient after one backward pass, under PEFT's names. The
//! script compares them with transformers' own.
//!
//! Ignored by a plain `cargo test` (it needs the script's folders): the conformance suite runs
//! `cargo test --test qwen_parity -- --ignored` with the variable set.

use assay::train::adapter::load_adapter;
use assay::train::{LoraConfig, LoraLlama};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

fn case(dir: &Path) -> anyhow::Result<()> {
    let dev = Device::Cpu;
    let (base, _tokenizer) = assay::llama::load_base(&dir.join("model"), &dev)?;
    let ids: Vec<Vec<u32>> = serde_json::from_str(&std::fs::read_to_string(dir.join("ids.json"))?)?;
    let (b, s) = (ids.len(), ids[0].len());
    let ids = Tensor::from_vec(ids.concat(), (b, s), &dev)?;
    let model = load_adapter(&base, &dir.join("init_adapter"))?;
    let plain = LoraLlama::new(&base, LoraConfig::default(), 0)?;
    let mut out: HashMap<String, Tensor> = HashMap::new();
    out.insert("logits".into(), model.forward(&ids, false)?);
    out.insert("base_logits".into(), plain.forward(&ids, false)?);
    // transformers' causal-LM loss: every next token of every sequence, one mean.
    let input = ids.narrow(1, 0, s - 1)?;
    let target = ids.narrow(1, 1, s - 1)?;
    let mask = Tensor::ones((b, s - 1), DType::F32, &dev)?;
    let loss = model.masked_loss(&input, &target, &mask, true)?;
    let grads = loss.backward()?;
    out.insert("loss".into(), loss.reshape(1)?);
    for (module, pair) in model.lora_pairs() {
        for (ab, var) in [("A", &pair.a), ("B", &pair.b)] {
            let g = grads
                .get(var.as_tensor())
                .ok_or_else(|| anyhow::anyhow!("{module}: no gradient for lora_{ab}"))?;
            out.insert(
                format!("grad.base_model.model.{module}.lora_{ab}.weight"),
                g.clone(),
            );
        }
    }
    candle_core::safetensors::save(&out, dir.join("assay.safetensors"))?;
    eprintln!(
        "{}: {} LoRA pairs, loss {:.6}",
        dir.display(),
        model.lora_pairs().len(),
        out["loss"].to_vec1::<f32>()?[0]
    );
    Ok(())
}

#[test]
#[ignore = "run by tests/conformance/run.sh with ASSAY_QWEN_PARITY_DIR"]
fn logits_and_lora_gradients_for_the_conformance_script() -> anyhow::Result<()> {
    let root = std::env::var_os("ASSAY_QWEN_PARITY_DIR")
        .ok_or_else(|| anyhow::anyhow!("set ASSAY_QWEN_PARITY_DIR (qwen_check.py make's WORK)"))?;
    let mut dirs: Vec<_> = std::fs::read_dir(&root)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("ids.json").is_file())
        .collect();
    dirs.sort();
    anyhow::ensure!(!dirs.is_empty(), "no case folders in {root:?}");
    for dir in dirs {
        case(&dir)?;
    }
    Ok(())
}
