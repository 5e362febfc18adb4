//! Folding a LoRA adapter into its base as a Hugging Face model folder (`model.safetensors`,
//! `config.json`, tokenizer files) that transformers loads on its own: the `assay merge`
//! capability. The fold is the one evaluation already uses (`LoraLlama::merged_tensors`,
//! identical to PEFT's `merge_and_unload`).

use super::adapter::{load_adapter, save_merged, world_readable};
use crate::llama::GgufTokenizer;
use anyhow::Context;
use candle_core::{Device, Tensor};
use std::path::{Path, PathBuf};

/// Tokenizer files a Hugging Face model folder may hold; copied from a folder base.
const TOKENIZER_FILES: [&str; 6] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "chat_template.json",
    "generation_config.json",
];

/// What a merge wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub base: PathBuf,
    pub files: Vec<PathBuf>,
}

/// The base an adapter names in `adapter_config.json`, when it is a path that exists here.
pub fn recorded_base(adapter: &Path) -> anyhow::Result<PathBuf> {
    let path = adapter.join(super::adapter::CONFIG_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: invalid JSON", path.display()))?;
    let name = v["base_model_name_or_path"].as_str().unwrap_or_default();
    let base = PathBuf::from(name);
    anyhow::ensure!(
        !name.is_empty() && base.exists(),
        "{}: base_model_name_or_path {name:?} is not a file or folder here; pass --base PATH",
        path.display()
    );
    Ok(base)
}

/// Merges the adapter in `adapter` into `base` (a GGUF file or a Hugging Face folder) and writes
/// the model folder `out`. With `probe`, also writes `probe.json` there: the token ids of the
/// text and the last position's logits with and without the adapter, for checking the merged
/// model against another implementation.
pub fn merge(
    base: &Path,
    adapter: &Path,
    out: &Path,
    probe: Option<&str>,
) -> anyhow::Result<Merged> {
    let device = Device::Cpu;
    let (weights, tokenizer) = crate::llama::load_base(base, &device)
        .with_context(|| format!("loading the base {}", base.display()))?;
    let model = load_adapter(&weights, adapter)
        .with_context(|| format!("loading the adapter {}", adapter.display()))?;
    save_merged(&model, out).with_context(|| format!("writing {}", out.display()))?;
    let mut files = vec![out.join("model.safetensors"), out.join("config.json")];
    if base.is_dir() {
        for name in TOKENIZER_FILES {
            let from = base.join(name);
            if from.is_file() {
                let to = out.join(name);
                std::fs::copy(&from, &to)
                    .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
                files.push(to);
            }
        }
    } else {
        files.extend(gguf_tokenizer(base, out)?);
    }
    if let Some(text) = probe {
        let ids = tokenizer.encode(text)?;
        anyhow::ensure!(!ids.is_empty(), "--probe: the text has no tokens");
        let plain = super::LoraLlama::new(&weights, super::LoraConfig::default(), 0)?;
        let probe = serde_json::json!({
            "text": text,
            "ids": ids,
            "logits": last_logits(&model, &ids, &device)?,
            "base_logits": last_logits(&plain, &ids, &device)?,
        });
        let path = out.join("probe.json");
        std::fs::write(&path, probe.to_string())
            .with_context(|| format!("cannot write {}", path.display()))?;
        files.push(path);
    }
    for f in &files {
        world_readable(f)?;
    }
    Ok(Merged {
        base: base.to_path_buf(),
        files,
    })
}

fn gguf_tokenizer(base: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut file =
        std::fs::File::open(base).with_context(|| format!("cannot open {}", base.display()))?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut file)
        .with_context(|| format!("{}: not a readable GGUF file", base.display()))?;
    let tok = GgufTokenizer::from_gguf(&content)?;
    Ok(tok.save_hf(&content, out)?)
}

fn last_logits(model: &super::LoraLlama, ids: &[u32], device: &Device) -> anyhow::Result<Vec<f32>> {
    let input = Tensor::new(ids, device)?.unsqueeze(0)?;
    Ok(model
        .forward(&input, false)?
        .narrow(1, ids.len() - 1, 1)?
        .flatten_all()?
        .to_vec1()?)
}
