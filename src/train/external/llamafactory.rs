//! LLaMA-Factory: the run's samples as a dataset folder (ShareGPT lines + `dataset_info.json`,
//! via the exporter's folder writer), a training YAML, and `llamafactory-cli train <yaml>`.
//! Progress is read from the `trainer_log.jsonl` it writes into `output_dir`.

use super::files;
use super::spec::{Launch, LlamaFactorySpec};
use crate::formats::SampleView;
use crate::formats::folders::{LlamaFactory, safe_name};
use crate::model::SampleKind;
use crate::store::Store;
use crate::text::secrets::{contains_key, secret_name};
use anyhow::Context;
use serde_json::{Value, json};
use std::path::Path;

/// Checks the settings a person typed before anything is written.
pub fn validate(spec: &LlamaFactorySpec) -> anyhow::Result<()> {
    let bad = |field: &str, why: &str| anyhow::bail!("LLaMA-Factory setting `{field}`: {why}");
    if spec.program.trim().is_empty() {
        return bad("program", "empty; give llamafactory-cli or its path");
    }
    if spec.model_name_or_path.trim().is_empty() {
        return bad(
            "model_name_or_path",
            "empty; give a Hugging Face id or folder",
        );
    }
    if spec.template.trim().is_empty() {
        return bad(
            "template",
            "empty; give the model's chat template (qwen, llama3, ...)",
        );
    }
    if spec.lora.rank == 0 {
        return bad("lora_rank", "must be at least 1");
    }
    if !(0.0..1.0).contains(&spec.lora.dropout) {
        return bad("lora_dropout", "must be in [0, 1)");
    }
    if spec.lora.targets.is_empty() {
        return bad("lora_target", "name modules (q_proj,v_proj) or `all`");
    }
    if spec.learning_rate.is_nan() || spec.learning_rate <= 0.0 {
        return bad("learning_rate", "must be positive");
    }
    if !(0.0..1.0).contains(&spec.warmup_ratio) {
        return bad("warmup_ratio", "must be in [0, 1)");
    }
    if spec.max_steps == 0 && (spec.num_train_epochs.is_nan() || spec.num_train_epochs <= 0.0) {
        return bad("num_train_epochs", "set epochs > 0 or max_steps");
    }
    if spec.per_device_train_batch_size == 0 || spec.gradient_accumulation_steps == 0 {
        return bad(
            "per_device_train_batch_size",
            "batch and accumulation must be >= 1",
        );
    }
    if !(0.0..1.0).contains(&spec.val_size) {
        return bad("val_size", "must be in [0, 1)");
    }
    if spec.logging_steps == 0 {
        return bad("logging_steps", "must be at least 1");
    }
    let secret = "looks like a secret (an API key or token): pass it through an environment \
                  variable (HF_TOKEN, WANDB_API_KEY...), which the trainer inherits; settings are \
                  stored with the run and written into train.yaml";
    if contains_key(&spec.model_name_or_path) {
        return bad("model_name_or_path", secret);
    }
    for (k, v) in &spec.extra {
        if secret_name(k) || contains_key(&v.to_string()) {
            return bad(k, secret);
        }
    }
    Ok(())
}

/// The training YAML. Values are written by [`super::yaml`] (inert quoted strings, floats that
/// PyYAML reads as floats), so a model path or dataset name with quotes, colons or newlines stays
/// one string. `dataset_dir` and `output_dir` are written as given: absolute for a local run,
/// relative to the bundle's folder for a bundle. `deepspeed` names a DeepSpeed config file
/// unless `--set deepspeed=...` already did.
pub fn yaml(
    spec: &LlamaFactorySpec,
    dataset: &str,
    dataset_dir: &str,
    output_dir: &str,
    deepspeed: Option<&str>,
) -> String {
    let mut keys: Vec<(&str, Value)> = vec![
        ("model_name_or_path", json!(spec.model_name_or_path)),
        ("stage", json!("sft")),
        ("do_train", json!(true)),
        ("finetuning_type", json!("lora")),
        ("lora_rank", json!(spec.lora.rank)),
        ("lora_alpha", json!(spec.lora.alpha)),
        ("lora_dropout", json!(spec.lora.dropout)),
        ("lora_target", json!(spec.lora.targets.join(","))),
        ("dataset", json!(dataset)),
        ("dataset_dir", json!(dataset_dir)),
        ("template", json!(spec.template)),
        ("cutoff_len", json!(spec.cutoff_len)),
        ("overwrite_cache", json!(true)),
        ("output_dir", json!(output_dir)),
        ("logging_steps", json!(spec.logging_steps)),
        ("save_steps", json!(spec.save_steps.max(1))),
        ("plot_loss", json!(false)),
        ("overwrite_output_dir", json!(true)),
        ("report_to", json!("none")),
        (
            "per_device_train_batch_size",
            json!(spec.per_device_train_batch_size),
        ),
        (
            "gradient_accumulation_steps",
            json!(spec.gradient_accumulation_steps),
        ),
        ("learning_rate", json!(spec.learning_rate)),
        ("num_train_epochs", json!(spec.num_train_epochs)),
        ("lr_scheduler_type", json!("cosine")),
        ("warmup_ratio", json!(spec.warmup_ratio)),
    ];
    if spec.max_steps > 0 {
        keys.push(("max_steps", json!(spec.max_steps)));
    }
    if spec.val_size > 0.0 {
        keys.push(("val_size", json!(spec.val_size)));
        keys.push(("per_device_eval_batch_size", json!(1)));
        keys.push(("eval_strategy", json!("steps")));
        keys.push(("eval_steps", json!(spec.eval_steps.max(1))));
    }
    if let Some(ds) = deepspeed {
        keys.push(("deepspeed", json!(ds)));
    }
    let mut out =
        String::from("# Written by assay for one training run; edit the run, not this.\n");
    for (k, v) in keys {
        if !spec.extra.contains_key(k) {
            out.push_str(&format!("{k}: {}\n", super::yaml::value(&v)));
        }
    }
    for (k, v) in &spec.extra {
        // Keys come from the user's `--set key=value`: kept to YAML-safe names.
        let key = safe_name(k);
        out.push_str(&format!("{key}: {}\n", super::yaml::value(v)));
    }
    out
}

/// Writes the run's snapshot as a LLaMA-Factory dataset folder at `data_dir` (named
/// `safe_name(dataset)` in its `dataset_info.json`); returns how many samples it holds.
pub fn write_dataset(
    store: &Store,
    run_id: i64,
    dataset: &str,
    data_dir: &Path,
) -> anyhow::Result<u64> {
    let mut w = LlamaFactory::create(data_dir, dataset)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let mut chat = 0u64;
    let mut written = 0u64;
    store.for_each_run_sample(run_id, |s| {
        let view = SampleView {
            kind: s.kind,
            content: &s.head.content,
            meta: &s.meta,
        };
        if w.write(&view)? {
            written += 1;
            if s.kind != SampleKind::Pretrain {
                chat += 1;
            }
        }
        Ok(())
    })?;
    w.finish()
        .with_context(|| format!("writing {}", data_dir.display()))?;
    files::publish(data_dir).with_context(|| format!("setting modes in {}", data_dir.display()))?;
    anyhow::ensure!(
        chat > 0,
        "run {run_id}: no conversation among its samples for LLaMA-Factory's SFT stage \
         (pre-training text alone cannot be fine-tuned on this way)"
    );
    Ok(written)
}

/// Writes the run's snapshot as a LLaMA-Factory folder and the YAML under `out`; returns the
/// launch the supervisor executes.
pub fn prepare(
    store: &Store,
    run_id: i64,
    dataset: &str,
    spec: &LlamaFactorySpec,
    out: &Path,
    stop_grace_s: f64,
) -> anyhow::Result<Launch> {
    validate(spec)?;
    let data_dir = out.join("data");
    let output_dir = out.join("output");
    write_dataset(store, run_id, dataset, &data_dir)?;
    let yaml_path = out.join("train.yaml");
    let text = yaml(
        spec,
        &safe_name(dataset),
        &data_dir.display().to_string(),
        &output_dir.display().to_string(),
        None,
    );
    files::write(&yaml_path, text.as_bytes(), files::FILE_MODE)
        .with_context(|| format!("cannot write {}", yaml_path.display()))?;
    Ok(Launch {
        argv: vec![
            spec.program.clone(),
            "train".into(),
            yaml_path.display().to_string(),
        ],
        cwd: out.to_path_buf(),
        jsonl_log: Some(output_dir.join("trainer_log.jsonl")),
        log_file: out.join("train.log"),
        output_dir,
        stop_grace_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_values_are_inert_strings() {
        let spec = LlamaFactorySpec {
            program: "llamafactory-cli".into(),
            model_name_or_path: "evil\"\nstage: pt # x".into(),
            template: "qwen".into(),
            lora: crate::train::LoraConfig::default(),
            learning_rate: 1e-4,
            warmup_ratio: 0.1,
            num_train_epochs: 1.0,
            max_steps: 0,
            per_device_train_batch_size: 1,
            gradient_accumulation_steps: 1,
            cutoff_len: 512,
            val_size: 0.0,
            eval_steps: 10,
            logging_steps: 1,
            save_steps: 100,
            extra: [("bf16".to_string(), json!(true))].into(),
        };
        let y = yaml(&spec, "d", "/d", "/o", Some("ds_z3.json"));
        assert!(y.contains("model_name_or_path: \"evil\\\"\\nstage: pt # x\"\n"));
        assert_eq!(y.matches("\nstage:").count(), 1);
        assert!(y.contains("bf16: true\n"));
        assert!(y.contains("learning_rate: 0.0001\n"));
        assert!(y.contains("deepspeed: \"ds_z3.json\"\n"));
        assert!(validate(&spec).is_ok());
        let small_lr = LlamaFactorySpec {
            learning_rate: 2e-5,
            ..spec.clone()
        };
        // PyYAML reads `2e-05` as a string; the YAML says 2.0e-05.
        assert!(yaml(&small_lr, "d", "/d", "/o", None).contains("learning_rate: 2.0e-05\n"));
        for (k, v) in [
            ("hub_token", json!("x")),
            ("push_to_hub_model_id", json!("sk-AAAAAAAAAAAAAAAAAAAAAAAA")),
        ] {
            let mut bad = spec.clone();
            bad.extra.insert(k.into(), v);
            let e = validate(&bad).unwrap_err().to_string();
            assert!(e.contains(k) && e.contains("environment variable"), "{e}");
        }
    }
}
