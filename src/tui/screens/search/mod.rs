//! The search screen: a query line (filters + fuzzy text) over the whole database, the best
//! matches as they come in, and opening one on the review screen. Its state, `Search`, is the
//! TUI's handle on the search engine and lives with it in `tui::search`.

mod update;
pub mod view;

pub use crate::tui::search::Search;
