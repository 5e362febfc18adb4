//! `assay backup OUT`: a consistent copy of the database in one file, taken while reviewers
//! and generators keep working (SQLite's online backup API; the `-wal` file's commits
//! included, which a plain `cp assay.db` misses).

use super::{GlobalArgs, output};
use crate::store::Store;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The new file to write (never overwritten).
    pub out: PathBuf,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let store = Store::open_existing(&global.db)?;
    let samples = store.backup_to(&args.out)?;
    let size = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    output::line(format!(
        "{} backed up to {} ({samples} samples, {:.1} MB, checked); it holds every decision \
         committed before the copy began",
        global.db.display(),
        args.out.display(),
        size as f64 / 1e6
    ))
}
