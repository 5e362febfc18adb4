//! `assay stats`: counts by dataset, kind, review status and verdict, as JSON on stdout.

use super::GlobalArgs;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this dataset.
    #[arg(long)]
    pub dataset: Option<String>,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let store = Store::open(&global.db)?;
    let id = match &args.dataset {
        Some(name) => Some(store.require_dataset(name)?),
        None => None,
    };
    let stats = store.stats(id)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "datasets": stats }))?
    );
    Ok(())
}
