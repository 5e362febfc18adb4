//! `assay audit`: the 100-sample audit.

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum Command {}

pub fn run(_global: &GlobalArgs, command: Command) -> anyhow::Result<()> {
    match command {}
}
