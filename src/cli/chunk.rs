//! `assay chunk`: cut text and Markdown files into overlapping pre-training chunks, stored as
//! `pretrain` samples with their file, line and byte offset. Re-chunking a file is a no-op.

use super::GlobalArgs;
use crate::model::{Content, NewSample, SampleKind, SampleMeta, Source, Turn};
use crate::store::{ImportRecord, InsertOutcome, Store};
use crate::text::chunk::{self, Splitter};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// Extensions picked up when walking a directory (files named on the command line are always
/// taken).
const TEXT_EXTENSIONS: &[&str] = &["txt", "text", "md", "markdown"];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Text or Markdown files, or directories to walk for *.txt and *.md files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Chunk size in characters.
    #[arg(long, default_value_t = chunk::DEFAULT_SIZE)]
    pub size: usize,
    /// Characters shared by consecutive chunks.
    #[arg(long, default_value_t = chunk::DEFAULT_OVERLAP)]
    pub overlap: usize,
    /// Dataset to store the chunks in (default: the name of the first path).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Separator levels as JSON, tried in order; a level is a string or a list of equal
    /// alternatives, e.g. '["\n\n", "\n", ["。", "！", "？"], " "]'. Single characters are
    /// always the last resort.
    #[arg(long)]
    pub separators: Option<String>,
    /// Decode invalid UTF-8 as U+FFFD instead of stopping (offsets then count decoded bytes).
    #[arg(long)]
    pub lossy: bool,
}

/// Parses `--separators`.
pub fn parse_separators(json: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let levels: Vec<serde_json::Value> = serde_json::from_str(json)
        .with_context(|| format!("--separators must be a JSON array, got {json:?}"))?;
    levels
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            serde_json::Value::String(s) => Ok(vec![s]),
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(|x| match x {
                    serde_json::Value::String(s) => Ok(s),
                    other => bail!("--separators level {i}: {other} is not a string"),
                })
                .collect(),
            other => bail!("--separators level {i}: {other} is neither a string nor a list"),
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {dir:?}"))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot read directory {dir:?}"))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| TEXT_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The files named or found under the paths, in order.
pub fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut files)?;
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            bail!("{p:?} is neither a file nor a directory; check the path");
        }
    }
    if files.is_empty() {
        bail!("no .txt or .md files found under {paths:?}");
    }
    Ok(files)
}

/// The file's text, or an error with the byte offset and line of the first invalid byte.
pub fn decode(path: &Path, bytes: &[u8], lossy: bool) -> anyhow::Result<String> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(_) if lossy => Ok(String::from_utf8_lossy(bytes).into_owned()),
        Err(e) => {
            let at = e.valid_up_to();
            let line = memchr::memchr_iter(b'\n', &bytes[..at]).count() + 1;
            bail!(
                "{path:?}: invalid UTF-8 at byte offset {at} (line {line}); convert the file \
                 (e.g. `iconv -f GBK -t UTF-8`) or pass --lossy to replace bad bytes"
            )
        }
    }
}

/// Counts for one file: chunks inserted, already stored, and blank ones skipped.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    inserted: u64,
    duplicates: u64,
    blank: u64,
}

fn chunk_file(
    store: &mut Store,
    dataset_id: i64,
    splitter: &Splitter,
    path: &Path,
    lossy: bool,
) -> anyhow::Result<Counts> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {path:?}"))?;
    // A byte-order mark is not text; offsets still count from the start of the file.
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let text = decode(path, &bytes[bom..], lossy)?;
    let shown = path.to_string_lossy().into_owned();
    let mut counts = Counts::default();
    let mut batch = store.import_batch(dataset_id, "chunk")?;
    let (mut line, mut line_at) = (1u64, 0usize);
    for c in splitter.split(&text) {
        line += memchr::memchr_iter(b'\n', &text.as_bytes()[line_at..c.offset]).count() as u64;
        line_at = c.offset;
        if c.text.trim().is_empty() {
            counts.blank += 1;
            continue;
        }
        let mut meta = SampleMeta::default();
        meta.extra.insert("offset".into(), (c.offset + bom).into());
        meta.extra.insert("chars".into(), c.chars.into());
        if lossy {
            meta.extra.insert("lossy".into(), true.into());
        }
        let sample = NewSample {
            kind: SampleKind::Pretrain,
            content: Content {
                turns: vec![Turn::assistant(c.text)],
                ..Content::default()
            },
            source: Source::File {
                path: shown.clone(),
                line,
            },
            meta,
        };
        match batch.insert(&ImportRecord::new(sample)?)? {
            InsertOutcome::Inserted(_) => counts.inserted += 1,
            InsertOutcome::Duplicate => counts.duplicates += 1,
        }
    }
    batch.record_import(
        &shown,
        "chunk",
        (counts.inserted, counts.duplicates, counts.blank),
    )?;
    batch.commit()?;
    Ok(counts)
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let levels = match &args.separators {
        Some(json) => parse_separators(json)?,
        None => chunk::default_separators(),
    };
    let splitter = Splitter::with_separators(args.size, args.overlap, &levels)?;
    let files = collect_files(&args.paths)?;
    let dataset = match &args.dataset {
        Some(d) => d.clone(),
        None => args.paths[0]
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "pretrain".to_string()),
    };
    let mut store = Store::open(&global.db)?;
    let dataset_id = store.ensure_dataset(&dataset)?;
    let mut total = Counts::default();
    for path in &files {
        let c = chunk_file(&mut store, dataset_id, &splitter, path, args.lossy)?;
        eprintln!(
            "{path:?}: {} new chunks, {} already stored{}",
            c.inserted,
            c.duplicates,
            if c.blank > 0 {
                format!(", {} blank skipped", c.blank)
            } else {
                String::new()
            }
        );
        total.inserted += c.inserted;
        total.duplicates += c.duplicates;
        total.blank += c.blank;
    }
    println!(
        "{} files -> dataset {dataset:?}: {} new chunks, {} already stored, {} blank skipped",
        files.len(),
        total.inserted,
        total.duplicates,
        total.blank
    );
    Ok(())
}
