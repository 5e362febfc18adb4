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
    /// The `license` of the card's metadata (an SPDX-style id; `other` when not given).
    pub license: String,
    pub by_kind: BTreeMap<String, u64>,
    /// Imported files and how many samples came from each.
    pub files: BTreeMap<String, u64>,
    /// (generator, model) pairs and their sample counts.
    pub generated: BTreeMap<(String, String), u64>,
    pub review: Vec<crate::model::DatasetStats>,
    pub filter: String,
    /// What the 100-sample audit of each dataset says, and this export's waiver (Markdown lines).
    pub audit: Vec<String>,
    /// Languages seen in the written text (`zh`, `en`), for the card's `language`.
    pub languages: std::collections::BTreeSet<&'static str>,
}

/// One JSON Lines file of a Hugging Face folder.
struct Lines {
    out: BufWriter<File>,
    rows: u64,
}

impl Lines {
    fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Lines {
            out: BufWriter::new(File::create(path)?),
            rows: 0,
        })
    }

    fn row(&mut self, v: &serde_json::Value) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, v)?;
        self.out.write_all(b"\n")?;
        self.rows += 1;
        Ok(())
    }
}

/// Writes a Hugging Face dataset folder, one sample at a time: conversations as `messages` rows
/// in `data/train.jsonl` (config `default`), pre-training text as `text` rows in
/// `data/pretrain.jsonl` (config `pretrain`), so that each file has one set of columns.
pub struct HuggingFace {
    dir: PathBuf,
    chat: Lines,
    pretrain: Option<Lines>,
    summary: WriteSummary,
    pub facts: CardFacts,
}

/// A conversation row as TRL reads it: `tools` as a JSON string (nested tool objects become an
/// Arrow union across rows, every tool gaining the others' parameters as nulls).
fn hf_row(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(t) = v.get_mut("tools")
        && !t.is_string()
    {
        *t = serde_json::Value::String(t.to_string());
    }
    v
}

fn languages(c: &crate::model::Content, seen: &mut std::collections::BTreeSet<&'static str>) {
    for t in &c.turns {
        for ch in t.content.chars() {
            if ('\u{4e00}'..='\u{9fff}').contains(&ch) {
                seen.insert("zh");
            } else if ch.is_ascii_alphabetic() {
                seen.insert("en");
            }
            if seen.len() == 2 {
                return;
            }
        }
    }
}

impl HuggingFace {
    pub fn create(dir: &Path, title: &str) -> std::io::Result<Self> {
        let data = dir.join("data");
        std::fs::create_dir_all(&data)?;
        let stale = data.join("pretrain.jsonl");
        if stale.exists() {
            std::fs::remove_file(&stale)?;
        }
        Ok(HuggingFace {
            dir: dir.to_path_buf(),
            chat: Lines::create(&data.join("train.jsonl"))?,
            pretrain: None,
            summary: WriteSummary::default(),
            facts: CardFacts {
                title: title.to_string(),
                license: "other".into(),
                ..CardFacts::default()
            },
        })
    }

    pub fn write(
        &mut self,
        s: &SampleView<'_>,
        source: &crate::model::Source,
    ) -> std::io::Result<bool> {
        let row = if s.kind == SampleKind::Pretrain {
            super::pretrain::to_json(s)
        } else {
            super::openai::to_json(s).map(hf_row)
        };
        let row = match row {
            Ok(r) => r,
            Err(why) => {
                *self.summary.skipped.entry(why).or_insert(0) += 1;
                return Ok(false);
            }
        };
        if s.kind == SampleKind::Pretrain {
            let lines = match &mut self.pretrain {
                Some(l) => l,
                None => self
                    .pretrain
                    .insert(Lines::create(&self.dir.join("data/pretrain.jsonl"))?),
            };
            lines.row(&row)?;
        } else {
            self.chat.row(&row)?;
        }
        self.summary.written += 1;
        languages(s.content, &mut self.facts.languages);
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
        Ok(true)
    }

    pub fn finish(mut self) -> std::io::Result<WriteSummary> {
        self.chat.out.flush()?;
        let pretrain = match self.pretrain.take() {
            Some(mut p) => {
                p.out.flush()?;
                p.rows
            }
            None => 0,
        };
        let text = card(&self.facts, &self.summary, self.chat.rows, pretrain);
        std::fs::write(self.dir.join("README.md"), text)?;
        Ok(self.summary)
    }
}

/// Text from datasets or models goes into Markdown: keep it on one line and inert.
fn md(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() || c == '|' { ' ' } else { c })
        .collect()
}

/// A license id kept to the characters SPDX ids use, so it cannot break the YAML.
fn license_id(s: &str) -> String {
    let id: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'))
        .collect();
    if id.is_empty() {
        "other".into()
    } else {
        id.to_ascii_lowercase()
    }
}

/// The card's YAML metadata: license, language, task and size, and one config per file.
fn front_matter(f: &CardFacts, chat: u64, pretrain: u64) -> String {
    let mut s = String::from("---\n");
    s.push_str(&format!("license: {}\n", license_id(&f.license)));
    if !f.languages.is_empty() {
        s.push_str("language:\n");
        for l in &f.languages {
            s.push_str(&format!("- {l}\n"));
        }
    }
    s.push_str("task_categories:\n- text-generation\n");
    let n = chat + pretrain;
    let size = match n {
        0..1_000 => "n<1K",
        1_000..10_000 => "1K<n<10K",
        10_000..100_000 => "10K<n<100K",
        100_000..1_000_000 => "100K<n<1M",
        _ => "1M<n<10M",
    };
    s.push_str(&format!("size_categories:\n- {size}\n"));
    s.push_str(&format!(
        "pretty_name: {}\n",
        serde_json::Value::String(md(&f.title))
    ));
    s.push_str("configs:\n");
    if chat > 0 || pretrain == 0 {
        s.push_str(
            "- config_name: default\n  data_files:\n  - split: train\n    path: data/train.jsonl\n",
        );
    }
    if pretrain > 0 {
        s.push_str("- config_name: pretrain\n  data_files:\n  - split: train\n    path: data/pretrain.jsonl\n");
    }
    s.push_str("---\n\n");
    s
}

fn card(f: &CardFacts, total: &WriteSummary, chat: u64, pretrain: u64) -> String {
    let mut s = front_matter(f, chat, pretrain);
    s.push_str(&format!("# {}\n\n", md(&f.title)));
    s.push_str(&format!(
        "{} samples exported by assay ({}).\n\n",
        total.written,
        md(&f.filter)
    ));
    s.push_str(
        "`data/train.jsonl` (config `default`) holds conversations as `messages` rows (OpenAI \
chat layout, tool messages linked by `tool_call_id`, `tools` as a JSON string: decode it with \
`json.loads` before `apply_chat_template`; chain-of-thought \
as a `<think>...</think>` prefix of the assistant's answer); `data/pretrain.jsonl` (config \
`pretrain`), where present, holds pre-training text as `text` rows.\n\n",
    );
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
