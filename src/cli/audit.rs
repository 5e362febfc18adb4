//! `assay audit`: the 100-sample audit (draw, status as JSON).

use super::GlobalArgs;
use crate::audit;
use crate::store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the audit status of every dataset (or one) as JSON.
    Status {
        #[arg(long)]
        dataset: Option<String>,
    },
    /// Draw the audit of a dataset, or a top-up for samples added since.
    Draw {
        #[arg(long)]
        dataset: String,
        /// Samples to draw (at least 100; all when the dataset is smaller).
        #[arg(long)]
        size: Option<u64>,
        /// Random seed, so that the draw can be reproduced.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

pub fn run(global: &GlobalArgs, command: Command) -> anyhow::Result<()> {
    let mut store = Store::open(&global.db)?;
    match command {
        Command::Status { dataset } => {
            let ids = match dataset {
                Some(name) => vec![store.require_dataset(&name)?],
                None => store.datasets()?.into_iter().map(|d| d.id).collect(),
            };
            let mut out = Vec::new();
            for id in ids {
                out.push(serde_json::to_value(audit::gate(&store, id)?)?);
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "audits": out }))?
            );
        }
        Command::Draw {
            dataset,
            size,
            seed,
        } => {
            let id = store.require_dataset(&dataset)?;
            let outcome = audit::draw(&mut store, id, size, seed)?;
            let status = audit::status(&store, id)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "draw": outcome, "status": status
                }))?
            );
        }
    }
    Ok(())
}
