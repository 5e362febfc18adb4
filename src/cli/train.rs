//! `assay train`: train a LoRA adapter.

use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_global: &GlobalArgs, _args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`assay train` is not built yet (issue 7)")
}
