//! `assay import`: import samples from a data file.

use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// Exit codes: 0 all stored, see README for the others.
pub fn run(_global: &GlobalArgs, _args: Args) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("`assay import` is not built yet (issue 2)")
}
