//! PEFT-compatible LoRA adapters: `adapter_config.json` + `adapter_model.safetensors` with
//! tensors named `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight`, and merged
//! models written as a Hugging Face folder (`config.json` + `model.safetensors`).

use super::error::{Result, TrainError, io_err};
use super::llama::LoraLlama;
use super::lora::LoraConfig;
use crate::llama::BaseWeights;
use candle_core::Tensor;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;

pub const CONFIG_FILE: &str = "adapter_config.json";
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";

fn peft_name(module: &str, ab: &str) -> String {
    format!("base_model.model.{module}.lora_{ab}.weight")
}

/// Writes the adapter of `model` into `dir` (created if needed).
pub fn save_adapter(model: &LoraLlama, dir: &Path, base_name: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for (module, pair) in model.lora_pairs() {
        tensors.insert(peft_name(&module, "A"), pair.a.as_tensor().clone());
        tensors.insert(peft_name(&module, "B"), pair.b.as_tensor().clone());
    }
    let weights = dir.join(WEIGHTS_FILE);
    candle_core::safetensors::save(&tensors, &weights)?;
    let l = &model.lora;
    let config = json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_name,
        "r": l.rank,
        "lora_alpha": l.alpha,
        "lora_dropout": l.dropout,
        "target_modules": l.targets,
        "bias": "none",
        "fan_in_fan_out": false,
        "inference_mode": true,
        "init_lora_weights": true,
        "use_rslora": false,
        "use_dora": false,
        "modules_to_save": null,
        "layers_to_transform": null,
        "rank_pattern": {},
        "alpha_pattern": {},
    });
    let path = dir.join(CONFIG_FILE);
    let text = serde_json::to_string_pretty(&config).map_err(|source| TrainError::Json {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, text).map_err(io_err(&path))?;
    let readme = dir.join("README.md");
    std::fs::write(&readme, adapter_readme(base_name)).map_err(io_err(&readme))?;
    for f in [&weights, &path, &readme] {
        world_readable(f)?;
    }
    Ok(())
}

/// How to load the adapter. PEFT resolves `base_model_name_or_path` only as a folder or a hub
/// id; a GGUF base needs transformers' `gguf_file` and `PeftModel` by hand.
fn adapter_readme(base_name: &str) -> String {
    let mut s = String::from(
        "# LoRA adapter written by assay\n\nPEFT layout (`adapter_config.json`, `adapter_model.safetensors`).\n\n",
    );
    let path = Path::new(base_name);
    let is_gguf = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
    if is_gguf {
        let dir = path
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        s.push_str(&format!(
            "The base is the GGUF file `{base_name}`, which `AutoPeftModelForCausalLM` cannot \
             resolve. Load it through transformers (needs the `gguf` package), then the adapter:\n\n\
             ```python\nfrom transformers import AutoModelForCausalLM\nfrom peft import PeftModel\n\n\
             base = AutoModelForCausalLM.from_pretrained({dir:?}, gguf_file={file:?}, dtype=\"float32\")\n\
             model = PeftModel.from_pretrained(base, \"path/to/this/folder\")\n```\n\n\
             Or merge it into a Hugging Face folder: `assay merge --adapter DIR --out MERGED`.\n"
        ));
    } else {
        s.push_str(&format!(
            "Base: `{base_name}`.\n\n```python\nfrom peft import AutoPeftModelForCausalLM\n\n\
             model = AutoPeftModelForCausalLM.from_pretrained(\"path/to/this/folder\")\n```\n"
        ));
    }
    s
}

/// Outputs are 0644 like every other file assay writes, whatever created them.
pub(crate) fn world_readable(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
            .map_err(io_err(path))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Reads `adapter_config.json` into LoRA settings.
pub fn read_adapter_config(dir: &Path) -> Result<LoraConfig> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|source| TrainError::Json {
        path: path.clone(),
        source,
    })?;
    let bad = |field: &str| TrainError::Adapter {
        path: path.clone(),
        message: format!("field `{field}` is missing or has the wrong type"),
    };
    let targets = v["target_modules"]
        .as_array()
        .ok_or_else(|| bad("target_modules"))?
        .iter()
        .map(|t| {
            t.as_str()
                .map(String::from)
                .ok_or_else(|| bad("target_modules"))
        })
        .collect::<Result<Vec<_>>>()?;
    let cfg = LoraConfig {
        rank: v["r"].as_u64().ok_or_else(|| bad("r"))? as usize,
        alpha: v["lora_alpha"].as_f64().ok_or_else(|| bad("lora_alpha"))?,
        dropout: v["lora_dropout"].as_f64().unwrap_or(0.0) as f32,
        targets,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Copies the tensors of an adapter folder into `model`'s LoRA pairs; every pair must be there.
pub fn load_adapter_weights(model: &LoraLlama, dir: &Path) -> Result<()> {
    let path = dir.join(WEIGHTS_FILE);
    if !path.is_file() {
        return Err(TrainError::Adapter {
            path,
            message: "adapter weights not found".into(),
        });
    }
    let tensors = candle_core::safetensors::load(&path, model.device())?;
    for (module, pair) in model.lora_pairs() {
        for (ab, var) in [("A", &pair.a), ("B", &pair.b)] {
            let name = peft_name(&module, ab);
            let t = tensors.get(&name).ok_or_else(|| TrainError::Adapter {
                path: path.clone(),
                message: format!("tensor `{name}` is missing"),
            })?;
            if t.dims() != var.dims() {
                return Err(TrainError::Adapter {
                    path: path.clone(),
                    message: format!(
                        "tensor `{name}` has shape {:?}, the model expects {:?}",
                        t.dims(),
                        var.dims()
                    ),
                });
            }
            var.set(&t.to_dtype(candle_core::DType::F32)?)?;
        }
    }
    Ok(())
}

/// A model of `base` with the adapter in `dir` applied.
pub fn load_adapter(base: &BaseWeights, dir: &Path) -> Result<LoraLlama> {
    let cfg = read_adapter_config(dir)?;
    let model = LoraLlama::new(base, cfg, 0)?;
    load_adapter_weights(&model, dir)?;
    Ok(model)
}

/// Writes base + adapter folded together as a Hugging Face folder.
pub fn save_merged(model: &LoraLlama, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tensors: HashMap<String, Tensor> = model.merged_tensors()?.into_iter().collect();
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors"))?;
    let mut config = serde_json::to_value(&model.config).map_err(|source| TrainError::Json {
        path: dir.join("config.json"),
        source,
    })?;
    let arch = model.config.model_type;
    config["architectures"] = json!([arch.hf_class()]);
    config["model_type"] = json!(arch.name());
    // Written always: a reader's default (transformers' Qwen3: 128) may differ from ours.
    config["head_dim"] = json!(model.config.head_dim());
    config["torch_dtype"] = json!("float32");
    let path = dir.join("config.json");
    let text = serde_json::to_string_pretty(&config).map_err(|source| TrainError::Json {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, text).map_err(io_err(&path))?;
    for f in [dir.join("model.safetensors"), path] {
        world_readable(&f)?;
    }
    Ok(())
}
