//! Dataset folders: LLaMA-Factory (data files + `dataset_info.json`) and Hugging Face
//! (`data/train.jsonl` + a `README.md` card with the YAML `configs` header).
//!
//! LLaMA-Factory: conversations go to `<name>.jsonl` in ShareGPT formatting (it carries system
//! prompts, tools and function calls), pre-training text to `<name>_pretrain.jsonl` with the
//! `prompt: text` column. Hugging Face: one `messages` row per conversation (the layout TRL's
//! SFT trainer reads), `{"text"}` rows for pre-training text.

use super::write::{Container, SampleWriter, WriteSummary};
use super::{Format, SampleView, Tags};
use crate::model::SampleKind;
use serde_json::json;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file name made from a dataset name: letters (any script), digits, `-` and `_` only, so
/// that it cannot leave the folder (`..`, `/`, drive letters) or hide (leading dot).
pub fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if s.trim_matches('_').is_empty() {
        "dataset".into()
    } else {
        s
    }
}

type Out = SampleWriter<BufWriter<File>>;

fn open(dir: &Path, file: &str, format: Format) -> std::io::Result<Out> {
    let f = File::create(dir.join(file))?;
    SampleWriter::new(BufWriter::new(f), format, Container::Lines, Tags::default())
}

/// Writes a LLaMA-Factory folder, one sample at a time.
pub struct LlamaFactory {
    dir: PathBuf,
    name: String,
    chat: Option<Out>,
    pretrain: Option<Out>,
}

impl LlamaFactory {
    pub fn create(dir: &Path, dataset: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(LlamaFactory {
            dir: dir.to_path_buf(),
            name: safe_name(dataset),
            chat: None,
            pretrain: None,
        })
    }

    pub fn write(&mut self, s: &SampleView<'_>) -> std::io::Result<bool> {
        let (slot, file, format) = if s.kind == SampleKind::Pretrain {
            (
                &mut self.pretrain,
                format!("{}_pretrain.jsonl", self.name),
                Format::Pretrain,
            )
        } else {
            (
                &mut self.chat,
                format!("{}.jsonl", self.name),
                Format::Sharegpt,
            )
        };
        let w = match slot {
            Some(w) => w,
            None => slot.insert(open(&self.dir, &file, format)?),
        };
        w.write(s)
    }

    pub fn finish(self) -> std::io::Result<WriteSummary> {
        let mut info = serde_json::Map::new();
        let mut total = WriteSummary::default();
        if let Some(w) = self.chat {
            merge(&mut total, w.finish()?);
            info.insert(
                self.name.clone(),
                json!({
                    "file_name": format!("{}.jsonl", self.name),
                    "formatting": "sharegpt",
                    "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
                }),
            );
        }
        if let Some(w) = self.pretrain {
            merge(&mut total, w.finish()?);
            info.insert(
                format!("{}_pretrain", self.name),
                json!({
                    "file_name": format!("{}_pretrain.jsonl", self.name),
                    "columns": {"prompt": "text"},
                }),
            );
        }
        let f = File::create(self.dir.join("dataset_info.json"))?;
        let mut out = BufWriter::new(f);
        serde_json::to_writer_pretty(&mut out, &info)?;
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(total)
    }
}

fn merge(total: &mut WriteSummary, part: WriteSummary) {
    total.written += part.written;
    for (k, v) in part.skipped {
        *total.skipped.entry(k).or_insert(0) += v;
    }
}

/// What the Hugging Face card says about how the data was made and reviewed.
#[derive(Debug, Default)]
pub struct CardFacts {
    pub title: String,
    pub by_kind: BTreeMap<String, u64>,
    /// Imported files and how many samples came from each.
    pub files: BTreeMap<String, u64>,
    /// (generator, model) pairs and their sample counts.
    pub generated: BTreeMap<(String, String), u64>,
    pub review: Vec<crate::model::DatasetStats>,
    pub filter: String,
    /// What the 100-sample audit of each dataset says, and any waiver (Markdown lines).
    pub audit: Vec<String>,
}

/// Writes a Hugging Face dataset folder, one sample at a time.
pub struct HuggingFace {
    dir: PathBuf,
    chat: Out,
    pretrain: Out,
    pub facts: CardFacts,
}

impl HuggingFace {
    pub fn create(dir: &Path, title: &str) -> std::io::Result<Self> {
        let data = dir.join("data");
        std::fs::create_dir_all(&data)?;
        // Both go into one train.jsonl: `chat` owns the file; `pretrain` writes into a buffer
        // that is appended at the end (pre-training rows are rare beside conversations).
        let f = File::create(data.join("train.jsonl"))?;
        let chat = SampleWriter::new(
            BufWriter::new(f),
            Format::Openai,
            Container::Lines,
            Tags::default(),
        )?;
        let pf = File::create(data.join(".pretrain.tmp"))?;
        let pretrain = SampleWriter::new(
            BufWriter::new(pf),
            Format::Pretrain,
            Container::Lines,
            Tags::default(),
        )?;
        Ok(HuggingFace {
            dir: dir.to_path_buf(),
            chat,
            pretrain,
            facts: CardFacts {
                title: title.to_string(),
                ..CardFacts::default()
            },
        })
    }

    pub fn write(
        &mut self,
        s: &SampleView<'_>,
        source: &crate::model::Source,
    ) -> std::io::Result<bool> {
        let ok = if s.kind == SampleKind::Pretrain {
            self.pretrain.write(s)?
        } else {
            self.chat.write(s)?
        };
        if ok {
            *self.facts.by_kind.entry(s.kind.to_string()).or_insert(0) += 1;
            match source {
                crate::model::Source::File { path, .. } => {
                    *self.facts.files.entry(path.clone()).or_insert(0) += 1;
                }
                crate::model::Source::Generated {
                    generator, model, ..
                } => {
                    *self
                        .facts
                        .generated
                        .entry((generator.clone(), model.clone()))
                        .or_insert(0) += 1;
                }
            }
        }
        Ok(ok)
    }

    pub fn finish(self) -> std::io::Result<WriteSummary> {
        let mut total = WriteSummary::default();
        merge(&mut total, self.chat.finish()?);
        merge(&mut total, self.pretrain.finish()?);
        let data = self.dir.join("data");
        let tmp = data.join(".pretrain.tmp");
        {
            let mut train = std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("train.jsonl"))?;
            std::io::copy(&mut File::open(&tmp)?, &mut train)?;
        }
        std::fs::remove_file(&tmp)?;
        std::fs::write(self.dir.join("README.md"), card(&self.facts, &total))?;
        Ok(total)
    }
}

/// Text from datasets or models goes into Markdown: keep it on one line and inert.
fn md(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() || c == '|' { ' ' } else { c })
        .collect()
}

fn card(f: &CardFacts, total: &WriteSummary) -> String {
    let mut s = String::new();
    s.push_str("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train.jsonl\n---\n\n");
    s.push_str(&format!("# {}\n\n", md(&f.title)));
    s.push_str(&format!(
        "{} samples exported by assay ({}).\n\n",
        total.written,
        md(&f.filter)
    ));
    s.push_str("Rows with `messages` are conversations (OpenAI chat layout; chain-of-thought as a \
`<think>...</think>` prefix of the assistant's answer); rows with `text` are pre-training text.\n\n");
    s.push_str("## Kinds\n\n| kind | samples |\n|---|---|\n");
    for (k, n) in &f.by_kind {
        s.push_str(&format!("| {k} | {n} |\n"));
    }
    s.push_str("\n## How it was made\n\n");
    if f.files.is_empty() && f.generated.is_empty() {
        s.push_str("No samples.\n");
    }
    for (path, n) in &f.files {
        s.push_str(&format!("- {n} imported from `{}`\n", md(path)));
    }
    for ((g, m), n) in &f.generated {
        s.push_str(&format!(
            "- {n} generated by `{}` with model `{}`\n",
            md(g),
            md(m)
        ));
    }
    s.push_str("\n## Review\n\nCounts over the whole source dataset(s) at export time.\n\n");
    s.push_str(
        "| dataset | samples | review status | verdicts | reviews |\n|---|---|---|---|---|\n",
    );
    for st in &f.review {
        let join = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            md(&st.dataset),
            st.samples,
            join(&st.by_status),
            join(&st.by_verdict),
            st.reviews
        ));
    }
    if !f.audit.is_empty() {
        s.push_str("\n## Audit\n\n");
        for line in &f.audit {
            s.push_str(line);
            s.push_str("\n\n");
        }
    }
    if total.skipped_total() > 0 {
        s.push_str("\n## Left out\n\n");
        for (why, n) in &total.skipped {
            s.push_str(&format!("- {n} sample(s): {}\n", md(why)));
        }
    }
    s
}
