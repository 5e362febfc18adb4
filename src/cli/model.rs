//! `assay model`: the offline local model.

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum Command {}

pub fn run(_global: &GlobalArgs, command: Command) -> anyhow::Result<()> {
    match command {}
}
