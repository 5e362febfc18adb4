//! `assay chunk`: cut text and Markdown files into overlapping pre-training chunks (the
//! capability is [`crate::ingest::chunk`]); one line per file on stderr, the totals on stdout.

use super::GlobalArgs;
use crate::ingest::chunk::{Counts, Options, Plan};
use crate::store::Store;
use crate::text::chunk;
use anyhow::{Context, bail};
use std::path::PathBuf;

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

impl TryFrom<&Args> for Options {
    type Error = anyhow::Error;
    fn try_from(a: &Args) -> anyhow::Result<Options> {
        Ok(Options {
            paths: a.paths.clone(),
            size: a.size,
            overlap: a.overlap,
            dataset: a.dataset.clone(),
            separators: match &a.separators {
                Some(json) => parse_separators(json)?,
                None => chunk::default_separators(),
            },
            lossy: a.lossy,
        })
    }
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let plan = Plan::new(&Options::try_from(&args)?)?;
    let mut store = Store::open(&global.db)?;
    chunk_and_report(&mut store, &plan)
}

/// Runs `plan`, printing what `assay chunk` prints (the demo's load prints the same).
pub fn chunk_and_report(store: &mut Store, plan: &Plan) -> anyhow::Result<()> {
    let total = plan.run(store, &mut |path, c: Counts| {
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
    })?;
    super::output::line(format!(
        "{} files -> dataset {:?}: {} new chunks, {} already stored, {} blank skipped",
        plan.files.len(),
        plan.dataset,
        total.inserted,
        total.duplicates,
        total.blank
    ))?;
    Ok(())
}
