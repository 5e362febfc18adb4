//! `assay import`: read data files into datasets, streaming (the pipeline is
//! [`crate::ingest::import`]); one summary line per file.
//!
//! Exit codes:
//! - `0`: every record read was imported or was already there (duplicates);
//! - `3`: some records were rejected (written to `<input>.rejects.jsonl`); the rest are stored;
//! - `4`: a file held no record at all (empty): nothing was imported from it, and no dataset
//!   was created for it;
//! - `1`: a fatal error (file missing or unreadable, not UTF-8 JSON/JSONL, format not
//!   recognised, database error); what was committed before it stays, and a dataset the failed
//!   file would have created is not left behind empty.

use super::GlobalArgs;
use crate::formats::{Format, ReadOptions, Tags};
use crate::ingest::import::{dataset_name, import_file_with_rejects};
use crate::store::Store;
use anyhow::Context;
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
    /// Write the rejects files (`<file name>.rejects.jsonl`) into this folder instead of beside
    /// the inputs (for inputs in read-only places).
    #[arg(long, value_name = "DIR")]
    pub rejects: Option<PathBuf>,
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
    // A missing input is said before the database is opened (or created).
    for file in &args.files {
        std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    if let Some(dir) = &args.rejects {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the rejects folder {}", dir.display()))?;
    }
    let mut store = Store::open(&global.db)?;
    let opts = ReadOptions::from(&args);
    let mut any_rejected = false;
    let mut any_empty = false;
    for file in &args.files {
        let dataset = dataset_name(file, args.dataset.as_deref())?;
        let (counts, format, rejects) = import_file_with_rejects(
            &mut store,
            file,
            &dataset,
            opts.clone(),
            args.rejects.as_deref(),
        )?;
        any_rejected |= counts.rejected > 0;
        if counts.imported + counts.duplicates + counts.rejected == 0 {
            any_empty = true;
            super::output::line(format!(
                "{}: no records in it; nothing imported",
                file.display()
            ))?;
            continue;
        }
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
        super::output::line(&line)?;
    }
    Ok(if any_rejected {
        ExitCode::from(3)
    } else if any_empty {
        ExitCode::from(4)
    } else {
        ExitCode::SUCCESS
    })
}
