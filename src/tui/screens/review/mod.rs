//! The review screen's state: the sample under the list's cursor as the worker loaded it, how
//! far it is scrolled, whether the history is shown, where Back goes, and the decisions that
//! undo can take back. The list and review screens share their keys (`App::sample_action`).

mod cot_tree;
mod regenerate;
mod update;
pub mod view;

use crate::tui::app::screen::Screen;
use crate::tui::worker::Detail;
use std::collections::VecDeque;

/// Decisions that `undo` can take back.
pub const UNDO_DEPTH: usize = 20;

pub struct ReviewScreen {
    pub detail: Option<Detail>,
    pub scroll: u16,
    pub show_history: bool,
    /// Where Back goes from the review screen.
    pub from: Screen,
    /// Samples decided in this session, latest last (at most `UNDO_DEPTH`).
    pub undo: VecDeque<i64>,
    pub regenerating: Option<i64>,
    /// Said after the next revision is saved (e.g. the judge failed on a regeneration).
    pub save_note: Option<String>,
    /// Edit was asked for before the sample had loaded: open the editor when it arrives.
    pub pending_edit: Option<i64>,
}

impl Default for ReviewScreen {
    fn default() -> ReviewScreen {
        ReviewScreen {
            detail: None,
            scroll: 0,
            show_history: false,
            from: Screen::List,
            undo: VecDeque::new(),
            regenerating: None,
            save_note: None,
            pending_edit: None,
        }
    }
}
