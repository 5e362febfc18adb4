//! `assay stats`: counts by dataset, kind, review status and verdict, plus each dataset's
//! diversity report, as JSON on stdout.

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
    let mut datasets = Vec::with_capacity(stats.len());
    for s in stats {
        let mut value = serde_json::to_value(&s)?;
        if let (Some(ds), Some(obj)) = (store.dataset_id(&s.dataset)?, value.as_object_mut()) {
            let diversity = crate::curate::diversity::for_dataset(&store, ds)?;
            obj.insert("diversity".into(), serde_json::to_value(diversity)?);
        }
        datasets.push(value);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "datasets": datasets }))?
    );
    Ok(())
}
