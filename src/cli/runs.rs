//! `assay runs`: training runs.

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum Command {}

pub fn run(_global: &GlobalArgs, command: Command) -> anyhow::Result<()> {
    match command {}
}
