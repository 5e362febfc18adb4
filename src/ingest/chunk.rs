//! Cutting text and Markdown files into overlapping pre-training chunks, stored as `pretrain`
//! samples with their file, line and byte offset. Re-chunking a file is a no-op.
//!
//! [`Plan::new`] checks everything that can be checked without the database (the splitter's
//! settings, the files to read, the dataset's name) before [`Plan::run`] writes anything.

use crate::model::{Content, NewSample, SampleKind, SampleMeta, Source, Turn};
use crate::store::{ImportRecord, InsertOutcome, Store};
use crate::text::chunk::Splitter;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// Extensions picked up when walking a directory (files named in the paths are always
/// taken).
const TEXT_EXTENSIONS: &[&str] = &["txt", "text", "md", "markdown"];

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

/// Counts for one file (or all of them): chunks inserted, already stored, and blank ones
/// skipped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub inserted: u64,
    pub duplicates: u64,
    pub blank: u64,
}

impl Counts {
    fn add(&mut self, c: Counts) {
        self.inserted += c.inserted;
        self.duplicates += c.duplicates;
        self.blank += c.blank;
    }
}

/// What to chunk and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Files, or directories to walk for *.txt and *.md files.
    pub paths: Vec<PathBuf>,
    /// Chunk size in characters.
    pub size: usize,
    /// Characters shared by consecutive chunks.
    pub overlap: usize,
    /// The dataset the chunks go into (default: the name of the first path).
    pub dataset: Option<String>,
    /// Separator levels, tried in order (see [`crate::text::chunk::default_separators`]).
    pub separators: Vec<Vec<String>>,
    /// Decode invalid UTF-8 as U+FFFD instead of stopping.
    pub lossy: bool,
}

/// A checked chunking: the splitter, the files in order and the dataset's name.
pub struct Plan {
    splitter: Splitter,
    pub files: Vec<PathBuf>,
    pub dataset: String,
    lossy: bool,
}

impl Plan {
    pub fn new(opts: &Options) -> anyhow::Result<Plan> {
        let splitter = Splitter::with_separators(opts.size, opts.overlap, &opts.separators)?;
        let files = collect_files(&opts.paths)?;
        let dataset = match &opts.dataset {
            Some(d) => d.clone(),
            None => opts
                .paths
                .first()
                .and_then(|p| p.file_stem())
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "pretrain".to_string()),
        };
        Ok(Plan {
            splitter,
            files,
            dataset,
            lossy: opts.lossy,
        })
    }

    /// Chunks every file into the dataset; `on_file` hears each file's counts as it is done.
    /// Returns the totals.
    pub fn run(
        &self,
        store: &mut Store,
        on_file: &mut dyn FnMut(&Path, Counts),
    ) -> anyhow::Result<Counts> {
        let dataset_id = store.ensure_dataset(&self.dataset)?;
        let mut total = Counts::default();
        for path in &self.files {
            let c = chunk_file(store, dataset_id, &self.splitter, path, self.lossy)?;
            on_file(path, c);
            total.add(c);
        }
        Ok(total)
    }
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
