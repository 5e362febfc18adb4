//! The command line (clap): one file per subcommand, each with its `Args` and `run`.

pub mod audit;
pub mod backup;
pub mod chunk;
pub mod dedup;
pub mod demo;
pub mod eval;
pub mod export;
pub mod generate;
pub mod import;
pub mod merge;
pub mod model;
pub mod output;
pub mod review;
pub mod runs;
pub mod stats;
pub mod train;
pub mod verify;
pub mod views;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "assay",
    version,
    about = "A terminal workbench for LLM fine-tuning data"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// The SQLite database file.
    #[arg(long, global = true, env = "ASSAY_DB", default_value = crate::store::DEFAULT_DB)]
    pub db: PathBuf,
    /// Your name on every review decision.
    #[arg(long, global = true, env = "USER", default_value = "reviewer")]
    pub reviewer: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import samples from a data file (format detected, or --format).
    Import(import::Args),
    /// Export samples to a format or a LLaMA-Factory / Hugging Face folder.
    Export(export::Args),
    /// Counts by dataset, kind, review status and verdict, and diversity (--json for all).
    Stats(stats::Args),
    /// Load the bundled sample data into a fresh database and open it.
    Demo(demo::Args),
    /// The 100-sample audit: draw, status.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Cut text files into overlapping chunks as pre-training samples.
    Chunk(chunk::Args),
    /// Mark exact and near-duplicate samples.
    Dedup(dedup::Args),
    /// Generate samples through an LLM.
    #[command(subcommand)]
    Gen(generate::Command),
    /// Run verifiers over samples.
    Verify(verify::Args),
    /// The offline local model.
    #[command(subcommand)]
    Model(model::Command),
    /// Train a LoRA adapter on an audited dataset.
    Train(train::Args),
    /// Training runs: list, show, stop, plot.
    #[command(subcommand)]
    Runs(runs::Command),
    /// Score a base model, alone or with a LoRA adapter, on held-out items.
    Eval(eval::Args),
    /// Fold a LoRA adapter into its base: a Hugging Face model folder transformers loads.
    Merge(merge::Args),
    /// A consistent copy of the database in one new file (safe while others work).
    Backup(backup::Args),
    /// Saved views: named search queries (`view:NAME` in the search and --filter).
    #[command(subcommand)]
    Views(views::Command),
    /// Review decisions from the command line: accept, reject, flag, edit.
    #[command(subcommand)]
    Review(review::Command),
}
