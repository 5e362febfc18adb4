//! A LLaMA-Factory run as a self-contained folder for machines assay does not run on: the
//! run's samples as a dataset folder, `train.yaml` (the settings a local run uses, with paths
//! relative to the folder), a `torchrun` launcher honouring `NNODES` / `NODE_RANK` /
//! `MASTER_ADDR` / `MASTER_PORT` / `NPROC_PER_NODE`, DeepSpeed ZeRO-2 and ZeRO-3 configurations,
//! a Slurm `sbatch` script, a SkyPilot task and a README saying how to launch each.
//!
//! Each file comes from one template beside this module, compiled in. Placeholders are
//! `{{name}}`, filled by [`fill`] from values already escaped for where they go: shell words
//! quoted with shlex, YAML scalars by [`super::yaml`], `#SBATCH` values (which sbatch parses
//! without a shell) restricted to a safe alphabet. A template engine crate would add nothing
//! these six plain substitutions need, and none escapes for shell or YAML 1.1.

use super::spec::{BundleSpec, DeepSpeed, LlamaFactorySpec};
use super::{files, llamafactory, yaml};
use crate::formats::folders::safe_name;
use crate::store::Store;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::Path;

const LAUNCH: &str = include_str!("launch.sh");
const SBATCH: &str = include_str!("train.sbatch");
const SKY: &str = include_str!("sky.yaml");
const DS_Z2: &str = include_str!("ds_z2.json");
const DS_Z3: &str = include_str!("ds_z3.json");
const README: &str = include_str!("README.md");

/// The LLaMA-Factory version the conformance suite checks assay's files against; the SkyPilot
/// task installs it.
pub const LLAMAFACTORY_VERSION: &str = "0.9.5";

/// The files of a bundle, relative to its folder.
pub const FILES: [&str; 8] = [
    "README.md",
    "train.yaml",
    "launch.sh",
    "train.sbatch",
    "sky.yaml",
    "ds_z2.json",
    "ds_z3.json",
    "data/dataset_info.json",
];

/// A job name for Slurm and SkyPilot: letters, digits, `.`, `_`, `-`.
pub fn valid_job_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks a bundle's settings before anything is recorded.
pub fn validate(b: &BundleSpec) -> anyhow::Result<()> {
    let bad = |field: &str, why: &str| anyhow::bail!("bundle setting `{field}`: {why}");
    if b.nodes == 0 {
        return bad("--nodes", "must be at least 1");
    }
    if b.gpus_per_node == 0 {
        return bad("--gpus-per-node", "must be at least 1");
    }
    if !valid_job_name(&b.accelerator) {
        return bad(
            "--accelerator",
            "a SkyPilot accelerator name such as A100, H100 or L4 (letters, digits, . _ -)",
        );
    }
    // Empty: `assay-run-ID`, given once the run has its id.
    if !b.job_name.is_empty() && !valid_job_name(&b.job_name) {
        return bad(
            "--job-name",
            "letters, digits, `.`, `_` and `-` only, at most 64, not starting with `-`",
        );
    }
    Ok(())
}

/// Fills `{{name}}` placeholders of `template` (called `file` in errors) from `values`; an
/// unknown or unclosed placeholder is an error, so a template edit cannot ship a hole.
pub fn fill(file: &str, template: &str, values: &BTreeMap<&str, String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let close = after
            .find("}}")
            .with_context(|| format!("template {file}: `{{{{` without `}}}}`"))?;
        let name = &after[..close];
        let value = values
            .get(name)
            .with_context(|| format!("template {file}: unknown placeholder {{{{{name}}}}}"))?;
        out.push_str(value);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Text fit for Markdown inline code in the README: no backticks, no line breaks, no controls.
fn inline(s: &str) -> String {
    crate::text::sanitize::sanitize_line(s).replace('`', "'")
}

/// The values the templates are filled with, escaped for their places.
fn values(
    run_id: i64,
    dataset: &str,
    samples: u64,
    spec: &LlamaFactorySpec,
    b: &BundleSpec,
) -> BTreeMap<&'static str, String> {
    let program = shlex::try_quote(&spec.program)
        .map(|q| q.into_owned())
        // Only a NUL byte cannot be quoted; such a program cannot be run either.
        .unwrap_or_else(|_| "llamafactory-cli".into());
    let mut pip = format!("'llamafactory=={LLAMAFACTORY_VERSION}'");
    if b.deepspeed != DeepSpeed::None {
        pip.push_str(" deepspeed");
    }
    let deepspeed_line = match b.deepspeed.file() {
        Some(f) => format!("`train.yaml` uses `{f}`"),
        None => "`train.yaml` uses neither (plain data-parallel torchrun, the default: LoRA's \
                 trainable state is small, and the nodes need no DeepSpeed)"
            .to_string(),
    };
    BTreeMap::from([
        ("run_id", run_id.to_string()),
        ("nodes", b.nodes.to_string()),
        ("gpus_per_node", b.gpus_per_node.to_string()),
        ("program", program),
        ("job_name", b.job_name.clone()),
        ("job_name_yaml", yaml::string(&b.job_name)),
        (
            "accelerators_yaml",
            yaml::string(&format!("{}:{}", b.accelerator, b.gpus_per_node)),
        ),
        ("pip_packages", pip),
        ("deepspeed_line", deepspeed_line),
        ("assay_version", env!("CARGO_PKG_VERSION").to_string()),
        ("lf_version", LLAMAFACTORY_VERSION.to_string()),
        ("dataset", inline(dataset)),
        ("samples", samples.to_string()),
        ("model", inline(&spec.model_name_or_path)),
        ("template", inline(&spec.template)),
    ])
}

/// Writes the bundle of run `run_id` (its snapshot already recorded) into `b.dir`, which must
/// be new or empty.
pub fn write(
    store: &Store,
    run_id: i64,
    dataset: &str,
    spec: &LlamaFactorySpec,
    b: &BundleSpec,
) -> anyhow::Result<()> {
    let dir = &b.dir;
    files::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let samples = llamafactory::write_dataset(store, run_id, dataset, &dir.join("data"))?;
    let name = safe_name(dataset);
    let train = llamafactory::yaml(spec, &name, "data", "output", b.deepspeed.file());
    let values = values(run_id, dataset, samples, spec, b);
    let put = |file: &str, text: &str, mode: u32| -> anyhow::Result<()> {
        let path = dir.join(file);
        files::write(&path, text.as_bytes(), mode)
            .with_context(|| format!("cannot write {}", path.display()))
    };
    put("train.yaml", &train, files::FILE_MODE)?;
    put(
        "launch.sh",
        &fill("launch.sh", LAUNCH, &values)?,
        files::SCRIPT_MODE,
    )?;
    put(
        "train.sbatch",
        &fill("train.sbatch", SBATCH, &values)?,
        files::SCRIPT_MODE,
    )?;
    put(
        "sky.yaml",
        &fill("sky.yaml", SKY, &values)?,
        files::FILE_MODE,
    )?;
    put("ds_z2.json", DS_Z2, files::FILE_MODE)?;
    put("ds_z3.json", DS_Z3, files::FILE_MODE)?;
    put(
        "README.md",
        &fill("README.md", README, &values)?,
        files::FILE_MODE,
    )?;
    Ok(())
}

/// Refuses a bundle folder that already holds something (another run's files would mix in).
pub fn check_target(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => anyhow::ensure!(
            entries.next().is_none(),
            "{} is not empty: give --bundle a new or empty folder",
            dir.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            anyhow::bail!("{} is a file: give --bundle a folder", dir.display())
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(program: &str) -> LlamaFactorySpec {
        LlamaFactorySpec {
            program: program.into(),
            model_name_or_path: "Qwen/Qwen2.5-0.5B".into(),
            template: "qwen".into(),
            lora: crate::train::LoraConfig::default(),
            learning_rate: 1e-4,
            num_train_epochs: 1.0,
            max_steps: 0,
            per_device_train_batch_size: 1,
            gradient_accumulation_steps: 1,
            cutoff_len: 512,
            val_size: 0.0,
            warmup_ratio: 0.1,
            eval_steps: 10,
            logging_steps: 1,
            save_steps: 100,
            extra: BTreeMap::new(),
        }
    }

    fn bundle() -> BundleSpec {
        BundleSpec {
            dir: "/b".into(),
            nodes: 2,
            gpus_per_node: 4,
            accelerator: "A100".into(),
            deepspeed: DeepSpeed::Zero3,
            job_name: "assay-run-1".into(),
        }
    }

    #[test]
    fn every_template_fills_without_a_hole() {
        let v = values(
            1,
            "d`x\ny",
            3,
            &spec("/opt/my venv/llamafactory-cli"),
            &bundle(),
        );
        for (file, t) in [
            ("launch.sh", LAUNCH),
            ("train.sbatch", SBATCH),
            ("sky.yaml", SKY),
            ("README.md", README),
        ] {
            let out = fill(file, t, &v).unwrap();
            assert!(!out.contains("{{"), "{file}");
        }
        let launch = fill("launch.sh", LAUNCH, &v).unwrap();
        assert!(launch.contains("exec '/opt/my venv/llamafactory-cli' train train.yaml"));
        assert!(launch.contains("NNODES=2 NODE_RANK=<0..2-1>"));
        let readme = fill("README.md", README, &v).unwrap();
        assert!(readme.contains("dataset `d'x⏎y`"), "{readme}");
        assert!(fill("x", "a {{nope}}", &v).is_err());
        assert!(fill("x", "a {{run_id", &v).is_err());
    }

    #[test]
    fn bad_settings_are_named() {
        for (b, field) in [
            (
                BundleSpec {
                    nodes: 0,
                    ..bundle()
                },
                "--nodes",
            ),
            (
                BundleSpec {
                    job_name: "x; rm -rf /".into(),
                    ..bundle()
                },
                "--job-name",
            ),
            (
                BundleSpec {
                    accelerator: "A100\nnum_nodes: 9".into(),
                    ..bundle()
                },
                "--accelerator",
            ),
        ] {
            let e = validate(&b).unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
        assert!(validate(&bundle()).is_ok());
    }
}
