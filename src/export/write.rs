//! Writing the samples a filter selects to an [`ExportTarget`], streaming through the store so
//! that memory stays flat. Samples the format cannot carry are skipped and counted by reason
//! in the returned summary.

use super::ExportTarget;
use crate::formats::folders::{HuggingFace, LlamaFactory};
use crate::formats::write::Container;
use crate::formats::{SampleView, SampleWriter, Tags, WriteSummary};
use crate::store::{ExportSample, Filter, Store};
use anyhow::Context;
use std::io::BufWriter;
use std::path::Path;

/// What a folder export says about itself (LLaMA-Factory's dataset name, the Hugging Face card).
#[derive(Debug, Clone, Default)]
pub struct Card {
    /// The dataset exported, if one was chosen.
    pub dataset: Option<String>,
    /// The selection in words, for the card.
    pub filter: String,
    /// The audit notes (or waiver) that let the export through the gate.
    pub audit: Vec<String>,
    /// The Hugging Face card's `license` (`other` when not given).
    pub license: Option<String>,
}

/// Writes the samples `filter` selects to `target` at `out`.
pub fn export(
    store: &Store,
    target: ExportTarget,
    out: &Path,
    filter: &Filter,
    card: &Card,
) -> anyhow::Result<WriteSummary> {
    Ok(match target {
        ExportTarget::Preference(kind) => {
            super::preference::export(store, kind, out, filter, card)?
        }
        ExportTarget::LlamaFactory => {
            let mut w = LlamaFactory::create(out, card.dataset.as_deref().unwrap_or("assay"))
                .with_context(|| format!("cannot create {}", out.display()))?;
            store.for_each_export_sample(filter, false, |s| {
                w.write(&view(&s))?;
                Ok(())
            })?;
            w.finish()?
        }
        ExportTarget::HuggingFace => {
            let title = card.dataset.as_deref().unwrap_or("assay export");
            let mut w = HuggingFace::create(out, title)
                .with_context(|| format!("cannot create {}", out.display()))?;
            w.facts.filter = card.filter.clone();
            w.facts.review = store.stats(filter.dataset_id)?;
            w.facts.audit = card.audit.clone();
            if let Some(l) = &card.license {
                w.facts.license = l.clone();
            }
            store.for_each_export_sample(filter, true, |s| {
                let source = s.source.as_ref().context("a sample without its source")?;
                w.write(&view(&s), source)?;
                Ok(())
            })?;
            w.finish()?
        }
        ExportTarget::File(format) => {
            let container = Container::for_path(out).with_context(|| {
                format!(
                    "{}: the output must end in .json (array) or .jsonl (lines)",
                    out.display()
                )
            })?;
            let file = std::fs::File::create(out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            // 1 MiB: a write syscall per 8 KiB (the default) was a tenth of the writer's time.
            let out = BufWriter::with_capacity(1 << 20, file);
            let mut w = SampleWriter::new(out, format, container, Tags::default())?;
            store.for_each_export_sample(filter, false, |s| {
                w.write(&view(&s))?;
                Ok(())
            })?;
            w.finish()?
        }
    })
}

fn view(s: &ExportSample) -> SampleView<'_> {
    SampleView {
        kind: s.kind,
        content: &s.content,
        meta: &s.meta,
    }
}
