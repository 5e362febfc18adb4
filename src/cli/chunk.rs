//! `assay chunk`: cut text files into pre-training chunks.

use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_global: &GlobalArgs, _args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`assay chunk` is not built yet (issue 5)")
}
