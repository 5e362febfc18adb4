//! `assay views`: named search queries, shared by everyone on the database, recalled as
//! `view:NAME` in the TUI's search and in `assay review --filter`.

use super::{GlobalArgs, output};
use crate::store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The saved views (`--json` for scripts).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Save QUERY (the search language: `status:unreviewed verdict:fail aspect:A 税率`) as NAME.
    Save { name: String, query: String },
    /// Remove a saved view.
    Rm { name: String },
}

pub fn run(global: &GlobalArgs, command: Command) -> anyhow::Result<()> {
    let mut store = Store::open_existing(&global.db)?;
    match command {
        Command::List { json } => {
            let views = store.views()?;
            output::json_or(json, &views, || {
                Ok(if views.is_empty() {
                    "no saved views: `assay views save NAME QUERY` saves one".to_string()
                } else {
                    views
                        .iter()
                        .map(|v| {
                            format!(
                                "view:{}  {}  ({}, {})",
                                v.name, v.query, v.saved_by, v.saved_at
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            })
        }
        Command::Save { name, query } => {
            // Checked now, not when it is used: a view that cannot be read is refused.
            let datasets = store.dataset_names()?;
            crate::search::query::parse_query(&query, &datasets, None)
                .map_err(anyhow::Error::msg)?;
            if query.split_whitespace().any(|t| t.starts_with("view:")) {
                anyhow::bail!("a view cannot name another view; spell its query out");
            }
            store.save_view(&name, &query, &global.reviewer)?;
            output::line(format!("saved view:{name} = {query}"))
        }
        Command::Rm { name } => {
            if store.remove_view(&name)? {
                output::line(format!("removed view:{name}"))
            } else {
                anyhow::bail!("no view named {name:?}: `assay views list` shows them")
            }
        }
    }
}
