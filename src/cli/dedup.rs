//! `assay dedup`: mark exact and near-duplicate samples.

use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_global: &GlobalArgs, _args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`assay dedup` is not built yet (issue 5)")
}
