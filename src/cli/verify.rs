//! `assay verify`: run verifiers over samples.

use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_global: &GlobalArgs, _args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`assay verify` is not built yet (issue 4)")
}
