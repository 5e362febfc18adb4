//! `assay verify`: golden-answer match, LLM judge or trajectory checks over samples; verdicts
//! go to the store, counts to stdout as JSON.

use super::GlobalArgs;
use super::generate::{LlmArgs, context, run_job};
use crate::prompting::judge::DEFAULT_RUBRIC;
use crate::store::{Filter, Store};
use crate::verify::Which;
use crate::verify::run;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this dataset (required for the judge).
    #[arg(long)]
    pub dataset: Option<String>,
    #[arg(long, value_enum, default_value = "golden")]
    pub verifier: Which,
    /// What the judge checks.
    #[arg(long, default_value = DEFAULT_RUBRIC)]
    pub rubric: String,
    #[command(flatten)]
    pub llm: LlmArgs,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let mut store = Store::open_existing(&global.db)?;
    let dataset_id = match &args.dataset {
        Some(name) => Some(store.require_dataset(name)?),
        None => None,
    };
    match args.verifier {
        Which::Golden | Which::Trajectory => {
            let filter = Filter {
                dataset_id,
                ..Filter::default()
            };
            let counts = run::run_direct(&mut store, &filter, args.verifier)?;
            super::output::json(&counts)?;
        }
        Which::Judge => {
            let Some(id) = dataset_id else {
                anyhow::bail!("the judge needs --dataset NAME (it calls a model for every sample)");
            };
            let ctx = context(global, &args.llm)?;
            let s = run_job(&ctx, "judge", async |prog| {
                run::run_judge(&mut store, &ctx, id, &args.rubric, prog).await
            })?;
            for (key, reason) in &s.failures {
                eprintln!("item {key} failed: {reason}");
            }
            super::output::json(&s)?;
        }
    }
    Ok(())
}
