//! `assay demo`: load the bundled sample data and open it.

use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_global: &GlobalArgs, _args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`assay demo` is not built yet (issue 2)")
}
