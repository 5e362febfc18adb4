//! The trainable llama against candle-transformers' `quantized_llama` on the real SmolLM2 GGUF,
//! both in f32 on the same dequantised weights. Skipped (with a message) when the model file is
//! absent: set `ASSAY_MODEL_PATH` or run `assay model fetch`.

use assay::train::{BaseWeights, LoraConfig, LoraLlama};
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use std::path::PathBuf;

fn model_path() -> Option<PathBuf> {
    let p = std::env::var_os("ASSAY_MODEL_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| assay::paths::models_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf"));
    p.is_file().then_some(p)
}

#[test]
fn logits_match_quantized_llama_in_f32() -> anyhow::Result<()> {
    let Some(path) = model_path() else {
        eprintln!("skipped: SmolLM2 GGUF not found (set ASSAY_MODEL_PATH)");
        return Ok(());
    };
    let dev = Device::Cpu;
    // Rewrite the GGUF with every tensor in f32 so the reference runs on exactly our weights.
    let mut f = std::fs::File::open(&path)?;
    let content = gguf_file::Content::read(&mut f)?;
    let mut qts = Vec::new();
    for name in content.tensor_infos.keys() {
        let t = content.tensor(&mut f, name, &dev)?.dequantize(&dev)?;
        qts.push((name.clone(), QTensor::quantize(&t, GgmlDType::F32)?));
    }
    let dir = tempfile::tempdir()?;
    let f32_path = dir.path().join("f32.gguf");
    {
        let mut out = std::fs::File::create(&f32_path)?;
        let md: Vec<(&str, &gguf_file::Value)> = content
            .metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        let ts: Vec<(&str, &QTensor)> = qts.iter().map(|(k, v)| (k.as_str(), v)).collect();
        gguf_file::write(&mut out, &md, &ts)?;
    }
    let mut rf = std::fs::File::open(&f32_path)?;
    let rc = gguf_file::Content::read(&mut rf)?;
    let mut reference =
        candle_transformers::models::quantized_llama::ModelWeights::from_gguf(rc, &mut rf, &dev)?;

    let ids: Vec<u32> = vec![
        1, 9690, 198, 2683, 457, 253, 5356, 11173, 30, 2, 198, 1, 4093, 198,
    ];
    let input = Tensor::new(ids.as_slice(), &dev)?.unsqueeze(0)?;
    let want = reference.forward(&input, 0)?.flatten_all()?;

    let base = BaseWeights::from_gguf(&path, &dev)?;
    let model = LoraLlama::new(&base, LoraConfig::default(), 0)?;
    let got = model.forward(&input, false)?;
    let got = got.narrow(1, ids.len() - 1, 1)?.flatten_all()?;
    let diff = (got - &want)?.abs()?.max(0)?.to_scalar::<f32>()?;
    let scale = want.abs()?.max(0)?.to_scalar::<f32>()?;
    eprintln!("max |diff| = {diff:e} (max |logit| = {scale})");
    assert!(diff < 1e-3, "logits differ by {diff}");
    Ok(())
}

/// Writes an adapter with random A and B for SmolLM2 plus our logits, then, when
/// `ASSAY_PEER_PYTHON` names a python with torch + transformers + peft + gguf, runs
/// `tests/python/peft_load.py` to check PEFT computes the same logits on top of the same base.
#[test]
fn adapter_loads_in_peft_with_the_same_logits() -> anyhow::Result<()> {
    let Some(path) = model_path() else {
        eprintln!("skipped: SmolLM2 GGUF not found (set ASSAY_MODEL_PATH)");
        return Ok(());
    };
    let dev = Device::Cpu;
    let base = BaseWeights::from_gguf(&path, &dev)?;
    let lora = LoraConfig {
        rank: 4,
        alpha: 8.0,
        dropout: 0.0,
        targets: vec![
            "q_proj".into(),
            "k_proj".into(),
            "v_proj".into(),
            "down_proj".into(),
        ],
    };
    let model = LoraLlama::new(&base, lora, 1)?;
    for (_, pair) in model.lora_pairs() {
        pair.b
            .set(&(Tensor::randn(0f32, 1.0, pair.b.dims(), &dev)? * 0.02)?)?;
    }
    let ids: Vec<u32> = vec![
        1, 4093, 198, 2683, 457, 253, 5356, 11173, 30, 2, 198, 1, 520, 9531,
    ];
    let input = Tensor::new(ids.as_slice(), &dev)?.unsqueeze(0)?;
    let last = |m: &LoraLlama| -> anyhow::Result<Vec<f32>> {
        Ok(m.forward(&input, false)?
            .narrow(1, ids.len() - 1, 1)?
            .flatten_all()?
            .to_vec1()?)
    };
    let logits = last(&model)?;
    let base_logits = last(&LoraLlama::new(&base, LoraConfig::default(), 0)?)?;
    let dir = match std::env::var_os("ASSAY_PEFT_CHECK_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => tempfile::tempdir()?.keep(),
    };
    assay::train::adapter::save_adapter(&model, &dir, "HuggingFaceTB/SmolLM2-135M-Instruct")?;
    let probe = serde_json::json!({"ids": ids, "logits": logits, "base_logits": base_logits});
    std::fs::write(dir.join("probe.json"), probe.to_string())?;
    let Some(python) = std::env::var_os("ASSAY_PEER_PYTHON") else {
        eprintln!(
            "adapter written to {}; set ASSAY_PEER_PYTHON to check it in PEFT",
            dir.display()
        );
        return Ok(());
    };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/peft_load.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(&path)
        .arg(&dir)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("")
    );
    assert!(
        out.status.success() && text.contains("peft-load ok"),
        "{text}"
    );
    Ok(())
}
