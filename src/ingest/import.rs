//! Importing a data file into a dataset, streaming.
//!
//! One thread parses (and serialises each sample), the other inserts, joined by a bounded
//! channel so memory stays flat whatever the file size. Commits every 50,000 records, so a
//! killed import keeps what it committed, and rerunning skips what is there (content hash).
//! Rejected records go to `<input>.rejects.jsonl`, each naming its line, byte offset, field and
//! reason; the first few are also shown on stderr, with a progress bar when it is a terminal.

use crate::formats::rejects::RejectsFile;
use crate::formats::{Format, Item, ReadOptions, Reader};
use crate::store::{ImportRecord, InsertOutcome, Store};
use crate::text::sanitize::sanitize_line;
use anyhow::Context;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// Records per commit: a killed import loses at most this many.
const COMMIT_EVERY: u64 = 50_000;
/// Records per message between the threads.
const CHUNK: usize = 1024;
/// Rejections also printed to stderr (all of them are in the rejects file).
const SHOW_REJECTS: u64 = 10;

/// What one file's import did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub imported: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

/// The dataset a file goes into: `explicit` when given, else the file's name without its
/// extension.
pub fn dataset_name(file: &Path, explicit: Option<&str>) -> anyhow::Result<String> {
    match explicit {
        Some(d) => Ok(d.to_string()),
        None => file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .with_context(|| {
                format!(
                    "{}: cannot name a dataset after it; pass --dataset",
                    file.display()
                )
            }),
    }
}

enum Msg {
    Records(Vec<ImportRecord>),
    Done(Option<Format>),
    Failed(anyhow::Error),
}

/// Imports one file into `dataset`; returns the counts, the format and the rejects file
/// (beside the input).
pub fn import_file(
    store: &mut Store,
    path: &Path,
    dataset: &str,
    opts: ReadOptions,
) -> anyhow::Result<(Counts, Option<Format>, Option<PathBuf>)> {
    import_file_with_rejects(store, path, dataset, opts, None)
}

/// As [`import_file`], with the rejects file in `rejects_dir` when given (for inputs in
/// read-only places) instead of beside the input.
pub fn import_file_with_rejects(
    store: &mut Store,
    path: &Path,
    dataset: &str,
    opts: ReadOptions,
    rejects_dir: Option<&Path>,
) -> anyhow::Result<(Counts, Option<Format>, Option<PathBuf>)> {
    let reader = Reader::open(path, opts)?;
    let rejects = match rejects_dir {
        Some(dir) => RejectsFile::in_dir(dir, path)
            .with_context(|| format!("cannot write the rejects file in {}", dir.display()))?,
        None => RejectsFile::for_input(path).with_context(|| {
            format!(
                "cannot write the rejects file next to {} (pass --rejects DIR for a folder you \
                 can write to)",
                path.display()
            )
        })?,
    };
    let created = store.dataset_id(dataset)?.is_none();
    let dataset_id = store.ensure_dataset(dataset)?;
    let result = import_into(store, path, dataset_id, reader, rejects);
    let stored = matches!(&result, Ok((c, ..)) if c.imported + c.duplicates > 0);
    if created && !stored {
        // Nothing of this file is stored (empty, all rejected, or failed before the first
        // commit): the dataset it named is not left behind empty. A failure keeps its own
        // message; the cleanup is only tried.
        let removed = store.remove_dataset_if_unused(dataset_id);
        if result.is_ok() {
            removed?;
        }
    }
    result
}

/// The import proper, into a dataset that exists.
fn import_into(
    store: &mut Store,
    path: &Path,
    dataset_id: i64,
    mut reader: Reader<std::fs::File>,
    mut rejects: RejectsFile,
) -> anyhow::Result<(Counts, Option<Format>, Option<PathBuf>)> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = progress(size);
    let (tx, rx) = mpsc::sync_channel::<Msg>(8);
    let parser_bar = bar.clone();
    let label = path.display().to_string();
    let parser = std::thread::spawn(move || -> anyhow::Result<RejectsFile> {
        let mut chunk = Vec::with_capacity(CHUNK);
        let send = |m: Msg| tx.send(m).is_ok();
        loop {
            let item = match reader.next_item() {
                Ok(Some(i)) => i,
                Ok(None) => break,
                Err(e) => {
                    let e = anyhow::Error::new(e);
                    send(Msg::Records(std::mem::take(&mut chunk)));
                    send(Msg::Failed(e));
                    return Ok(rejects);
                }
            };
            match item {
                Item::Samples(samples) => {
                    for s in samples {
                        chunk.push(ImportRecord::new(s).context("serialising a sample")?);
                    }
                }
                Item::Rejected(r) => {
                    rejects.write(&r).context("writing the rejects file")?;
                    if rejects.count <= SHOW_REJECTS {
                        eprintln!("{}", describe_rejection(&label, &r));
                    }
                }
            }
            if chunk.len() >= CHUNK {
                if let Some(b) = &parser_bar {
                    b.set_position(reader.position());
                }
                if !send(Msg::Records(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(CHUNK),
                ))) {
                    return Ok(rejects);
                }
            }
        }
        send(Msg::Records(chunk));
        send(Msg::Done(reader.format()));
        Ok(rejects)
    });

    // The copy from the WAL into the database runs beside the inserts rather than after them.
    let checkpoints = store.background_checkpoints()?;
    let stored = store_records(store, dataset_id, rx, &checkpoints);
    checkpoints.finish();
    store.foreground_checkpoints()?;
    let (mut counts, format, failure) = stored?;
    let rejects = parser
        .join()
        .map_err(|_| anyhow::anyhow!("the parser thread panicked"))??;
    counts.rejected = rejects.count;
    let rejects_path = rejects.finish().context("writing the rejects file")?;
    if let Some(p) = &rejects_path {
        let more = counts.rejected.saturating_sub(SHOW_REJECTS);
        eprintln!(
            "{}: {} record(s) rejected{}; every one is listed in {}",
            sanitize_line(&path.display().to_string()),
            counts.rejected,
            if more > 0 {
                format!(" ({more} not shown above)")
            } else {
                String::new()
            },
            sanitize_line(&p.display().to_string())
        );
    }
    if let Some(e) = failure {
        if let Some(b) = bar {
            b.abandon();
        }
        return Err(e.context(format!(
            "import of {} stopped after {} records (those are stored)",
            path.display(),
            counts.imported
        )));
    }
    if counts.imported + counts.duplicates > 0 {
        let label = format.map_or("unknown", |f| f.as_str());
        let batch = store.import_batch(dataset_id, "import")?;
        batch.record_import(
            &path.display().to_string(),
            label,
            (counts.imported, counts.duplicates, counts.rejected),
        )?;
        batch.commit()?;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok((counts, format, rejects_path))
}

/// Inserts what the parser sends, committing every [`COMMIT_EVERY`] records and at the end
/// (also when the parser failed: what was read before the failure stays, and rerunning skips
/// it). Returns the counts, the format and the parser's failure.
fn store_records(
    store: &mut Store,
    dataset_id: i64,
    rx: mpsc::Receiver<Msg>,
    checkpoints: &crate::store::Checkpointer,
) -> anyhow::Result<(Counts, Option<Format>, Option<anyhow::Error>)> {
    let mut counts = Counts::default();
    let mut format = None;
    let mut failure = None;
    let mut since_commit = 0u64;
    let mut outcomes = Vec::with_capacity(CHUNK);
    let mut batch = store.import_batch(dataset_id, "import")?;
    for msg in rx {
        match msg {
            Msg::Records(recs) => {
                outcomes.clear();
                batch.insert_many(&recs, &mut outcomes)?;
                for outcome in &outcomes {
                    match outcome {
                        InsertOutcome::Inserted(_) => counts.imported += 1,
                        InsertOutcome::Duplicate => counts.duplicates += 1,
                    }
                }
                since_commit += recs.len() as u64;
                if since_commit >= COMMIT_EVERY {
                    batch.commit()?;
                    checkpoints.committed();
                    batch = store.import_batch(dataset_id, "import")?;
                    since_commit = 0;
                }
            }
            Msg::Done(f) => format = f,
            Msg::Failed(e) => failure = Some(e),
        }
    }
    batch.commit()?;
    checkpoints.committed();
    Ok((counts, format, failure))
}

/// One rejection as a terminal line: where (file, line, byte offset, field) and why. The field
/// and reason can quote the data, so they are made terminal-safe.
fn describe_rejection(path: &str, r: &crate::formats::Rejection) -> String {
    let field = r
        .field
        .as_deref()
        .map(|f| format!(", field {f}"))
        .unwrap_or_default();
    sanitize_line(&format!(
        "{path}:{}: byte offset {}{field}: rejected: {}",
        r.line, r.offset, r.reason
    ))
    .into_owned()
}

fn progress(size: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}
