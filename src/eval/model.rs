//! The models under test: a base (GGUF or Hugging Face folder) with the tokenizer that goes with
//! it, and the same base with a PEFT adapter merged in.

use super::candle_qwen::CandleQwen;
use super::error::{EvalError, Result, io_err};
use super::generate::{CandleLlama, Forward};
use crate::llama::{Architecture, BaseWeights, TextTokenizer};
use crate::train::adapter::{CONFIG_FILE, load_adapter};
use candle_core::Device;
use std::path::{Path, PathBuf};

/// CUDA where the build has it and a GPU is present, else the CPU.
pub fn device() -> Device {
    if cfg!(feature = "cuda") {
        Device::cuda_if_available(0).unwrap_or(Device::Cpu)
    } else {
        Device::Cpu
    }
}

/// The base an adapter names (`base_model_name_or_path`), when that is a path that exists here.
pub fn adapter_base(adapter: &Path) -> Result<Option<PathBuf>> {
    let path = adapter.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| EvalError::Json { path, source })?;
    Ok(v["base_model_name_or_path"]
        .as_str()
        .map(PathBuf::from)
        .filter(|p| p.exists()))
}

/// Base weights and their tokenizer: a GGUF's own, or a folder's `tokenizer.json` (the llama
/// runtime's loader, which training uses too).
pub fn load_base(path: &Path, device: &Device) -> Result<(BaseWeights, Box<dyn TextTokenizer>)> {
    Ok(crate::llama::load_base(path, device)?)
}

/// Which implementation runs the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineKind {
    /// The Q8_0 engine for a GGUF base on the CPU, candle otherwise.
    Auto,
    /// candle-transformers' llama (or Qwen2 / Qwen3) in f32.
    Candle,
    /// The offline model's Q8_0 engine (GGUF bases only).
    Q8,
}

fn build(
    base: &BaseWeights,
    tensors: Vec<(String, candle_core::Tensor)>,
    engine: EngineKind,
) -> Result<Box<dyn Forward>> {
    let device = base.get("model.embed_tokens.weight")?.device().clone();
    let gguf = base.source.is_file();
    match engine {
        EngineKind::Q8 if !gguf => Err(EvalError::Invalid(format!(
            "{}: the q8 engine needs a GGUF base (its tokenizer and metadata); use --engine candle",
            base.source.display()
        ))),
        EngineKind::Q8 => super::fast::engine_model(&base.source, &tensors, &base.config),
        EngineKind::Auto if gguf && device.is_cpu() => {
            super::fast::engine_model(&base.source, &tensors, &base.config)
        }
        _ if base.config.model_type == Architecture::Llama => {
            Ok(Box::new(CandleLlama::new(tensors, &base.config, &device)?))
        }
        _ => Ok(Box::new(CandleQwen::new(tensors, &base.config, &device)?)),
    }
}

/// The base as it is.
pub fn base_model(base: &BaseWeights, engine: EngineKind) -> Result<Box<dyn Forward>> {
    let tensors = base
        .tensors
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    build(base, tensors, engine)
}

/// The base with the adapter in `dir` folded into its weights.
pub fn adapted_model(
    base: &BaseWeights,
    dir: &Path,
    engine: EngineKind,
) -> Result<Box<dyn Forward>> {
    let lora = load_adapter(base, dir)?;
    let tensors = lora.merged_tensors()?;
    build(base, tensors, engine)
}
