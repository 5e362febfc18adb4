//! The generic external trainer: the run's samples as a Hugging Face dataset folder (what TRL's
//! SFT trainer reads: `messages` rows) and a command template filled in word by word. Progress
//! comes from the Hugging Face Trainer lines the script prints.

use super::files;
use super::spec::Launch;
use super::template;
use crate::formats::SampleView;
use crate::formats::folders::HuggingFace;
use crate::store::Store;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::Path;

/// The placeholders a template may use, for help texts.
pub const PLACEHOLDERS: &str = "{data} (a Hugging Face dataset folder), {data_file} (its \
     data/train.jsonl), {output_dir}, {model}, {run_id}";

/// Writes the dataset folder under `out` and expands `template`.
#[allow(clippy::too_many_arguments)]
pub fn prepare(
    store: &Store,
    run_id: i64,
    dataset: &str,
    template_text: &str,
    model: Option<&str>,
    audit: &[String],
    out: &Path,
    stop_grace_s: f64,
) -> anyhow::Result<Launch> {
    let data_dir = out.join("data");
    let output_dir = out.join("output");
    let values = BTreeMap::from([
        ("data", data_dir.display().to_string()),
        (
            "data_file",
            data_dir
                .join("data")
                .join("train.jsonl")
                .display()
                .to_string(),
        ),
        ("output_dir", output_dir.display().to_string()),
        ("model", model.unwrap_or_default().to_string()),
        ("run_id", run_id.to_string()),
    ]);
    // Checked before any file is written, so a bad template leaves nothing behind.
    let argv = template::expand(template_text, &values)?;
    let mut w = HuggingFace::create(&data_dir, dataset)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    w.facts.filter = format!("the samples of training run {run_id}");
    w.facts.audit = audit.to_vec();
    store.for_each_run_sample(run_id, |s| {
        let view = SampleView {
            kind: s.kind,
            content: &s.head.content,
            meta: &s.meta,
        };
        w.write(&view, &s.source)?;
        Ok(())
    })?;
    w.finish()
        .with_context(|| format!("writing {}", data_dir.display()))?;
    files::publish(&data_dir)
        .with_context(|| format!("setting modes in {}", data_dir.display()))?;
    files::create_dir(&output_dir)
        .with_context(|| format!("cannot create {}", output_dir.display()))?;
    Ok(Launch {
        argv,
        // Relative script paths in the template mean what they meant where it was typed.
        cwd: std::env::current_dir().context("the current directory is unreadable")?,
        jsonl_log: None,
        log_file: out.join("train.log"),
        output_dir,
        stop_grace_s,
    })
}
