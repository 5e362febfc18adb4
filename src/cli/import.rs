//! `assay import`: read data files into datasets, streaming (the pipeline is
//! [`crate::ingest::import`]); one summary line per file.
//!
//! Exit codes:
//! - `0`: every record read was imported or was already there (duplicates);
//! - `3`: some records were rejected (written to `<input>.rejects.jsonl`); the rest are stored;
//! - `1`: a fatal error (file missing or unreadable, format not recognised, database error);
//!   what was committed before it stays.

use super::GlobalArgs;
use crate::formats::{Format, ReadOptions, Tags};
use crate::ingest::import::{dataset_name, import_file};
use crate::store::Store;
use crate::text::sanitize::sanitize_line;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON (array or single object) or JSONL files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The dataset to import into (default: each file's name without extension).
    #[arg(long)]
    pub dataset: Option<String>,
    /// The format (default: detected from the first record).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Records longer than this are rejected without being held in memory.
    #[arg(long, default_value_t = crate::formats::DEFAULT_MAX_RECORD_BYTES)]
    pub max_record_bytes: usize,
    #[command(flatten)]
    pub tags: TagArgs,
}

/// ShareGPT key and role names, as in LLaMA-Factory's `columns` / `tags`.
#[derive(Debug, Clone, clap::Args)]
pub struct TagArgs {
    /// ShareGPT: the key of the message list.
    #[arg(long, default_value = "conversations")]
    pub messages_tag: String,
    #[arg(long, default_value = "from")]
    pub role_tag: String,
    #[arg(long, default_value = "value")]
    pub content_tag: String,
    #[arg(long, default_value = "human")]
    pub user_tag: String,
    #[arg(long, default_value = "gpt")]
    pub assistant_tag: String,
    #[arg(long, default_value = "system")]
    pub system_tag: String,
    #[arg(long, default_value = "function_call")]
    pub function_tag: String,
    #[arg(long, default_value = "observation")]
    pub observation_tag: String,
}

impl From<TagArgs> for Tags {
    fn from(a: TagArgs) -> Self {
        Tags {
            messages: a.messages_tag,
            role: a.role_tag,
            content: a.content_tag,
            user: a.user_tag,
            assistant: a.assistant_tag,
            system: a.system_tag,
            function_call: a.function_tag,
            observation: a.observation_tag,
        }
    }
}

impl From<&Args> for ReadOptions {
    fn from(a: &Args) -> Self {
        ReadOptions {
            format: a.format,
            max_record_bytes: a.max_record_bytes,
            tags: a.tags.clone().into(),
        }
    }
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let mut store = Store::open(&global.db)?;
    let opts = ReadOptions::from(&args);
    let mut any_rejected = false;
    for file in &args.files {
        let dataset = dataset_name(file, args.dataset.as_deref())?;
        let (counts, format, rejects) = import_file(&mut store, file, &dataset, opts.clone())?;
        any_rejected |= counts.rejected > 0;
        // File and dataset names are untrusted text: escaped before they reach the terminal.
        let line = format!(
            "{}: {} imported, {} duplicates, {} rejected into dataset {:?} (format {}){}",
            file.display(),
            counts.imported,
            counts.duplicates,
            counts.rejected,
            dataset,
            format.map_or("unknown", |f| f.as_str()),
            match rejects {
                Some(p) => format!("; rejects in {}", p.display()),
                None => String::new(),
            }
        );
        println!("{}", sanitize_line(&line));
    }
    Ok(if any_rejected {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
